//! Shared pieces of the OpenAPI document: the API description, tags,
//! security schemes, header and path parameters, response headers and
//! shared responses. Written once (from the hand-written document) and
//! maintained here; `super::document` assembles them.

use super::*;

pub const TITLE: &str = "Edgecart API";
pub const VERSION: &str = "1.0.0";
pub const DESCRIPTION: &str = "Edgecart is a storefront API served at the CDN edge by one Rust Cloudflare Worker. This document describes the public, read-only catalog and inventory API, the cart API (`/v1/carts`), in which shoppers hold stock as they fill a cart, enter coupon codes, see discounts, tax and shipping, and check out, placing and paying an order they read back from `/v1/orders`, members' loyalty points (`/v1/points`, read with a member token the store's operator signs), and the authenticated admin API (`/admin/v1/*`) through which merchants change the catalog, read the audit trails, read, count, adjust and trace each SKU's stock, configure tax, shipping, the payment provider and promotions, manage orders, and grant and adjust members' points.\n\n## Money\n\nEvery amount is a `Money` object: `amount` is an integer number of minor units of the currency and `currency` an ISO 4217 alphabetic code. There are no floats: `{\"amount\": 1999, \"currency\": \"USD\"}` is $19.99, and JPY, which has no minor unit, counts whole yen. Price filters (`min_price`, `max_price`) and price-band bounds use the same minor units of the response currency.\n\n## Errors\n\nEvery error is an RFC 9457 problem document, `application/problem+json`, with a stable machine-readable `code` to branch on (`title` and `detail` are for humans), the `status`, the request's path and query string as `instance`, its `request_id`, and, for a refused query parameter, `param`. Admin and cart problems may also carry `field`, the request-body field at fault (on 400, when known), and `errors`, every field-level problem found (on 422 `validation_failed`); a cart's 409 `out_of_stock` carries `sku` and `available`. Checkout's problems may carry more members (`quote`, `lines`, `promotion`, `reason`, `decline_code`, `sku`), and those it stores under an `Idempotency-Key` are replayed byte for byte, without `instance` and `request_id` (see `CheckoutProblem`). `type` is `https://edgecart.dev/problems/{code}`. Error responses carry `Cache-Control: no-store`. Any path not listed here answers 404 `route_not_found` (paths are exact, without trailing slashes).\n\n## Query parameters\n\nAn empty query parameter value counts as absent (`?q=&sort=` is `?`), as HTML forms send them. Unknown query parameters are refused with 400 `unknown_parameter`, and a parameter given more than once with 400 `duplicate_parameter`; routes that document no query parameters accept none.\n\n## Consistency and caching\n\nCatalog reads (`/v1/products`, `/v1/products/{id_or_slug}`, `/v1/categories`) come from Workers KV, which is eventually consistent: after a new catalog version is published, edges other than the one that wrote it may keep serving the previous version for up to about 60 seconds. Each response is rendered from one immutable catalog version. If KV cannot be read, an edge keeps serving the version it already holds; only an edge with no catalog at all answers 503 `catalog_unavailable` with `Retry-After`.\n\nEvery catalog response carries a strong `ETag` and `Cache-Control: public, no-cache`: caches may store responses but must revalidate them, so clients should revalidate with `If-None-Match` and get a cheap `304 Not Modified` while the response is unchanged. The `ETag` of `/v1/categories` is `\"{catalog version}.{default currency}\"`, one per catalog version; that of `/v1/products` is `\"{catalog version}.{stock snapshot version}.{default currency}\"`, so it changes when the catalog or the stock snapshot changes; that of a product's detail is a hash of its body, which carries stock. `/openapi.json` is cached the same way.\n\nListings (`GET /v1/products`) also read a **stock snapshot**, for their `in_stock` filter and each item's `in_stock` flag. The per-SKU stock Durable Objects feed it: when a SKU's availability flips between none and some, its object reports it to one publisher object, which gathers reports for about 2 seconds, re-reads the exact level of each reported SKU, and publishes the set of in-stock SKUs to Workers KV; each edge re-reads the snapshot's pointer at most every second. The snapshot may therefore lag the exact stock ledgers by a few seconds at the location where it is written, and by KV's propagation window (about 60 seconds) elsewhere. A SKU whose stock was never set counts as out of stock. If the snapshot cannot be read, an edge keeps serving the one it holds (an edge that holds none counts every product as out of stock) rather than failing. For availability at most a second old, read `GET /v1/inventory/{sku}` or the product detail.\n\nStock reads (`/v1/inventory/{sku}`, each variant's availability on a product's detail, each cart line's `available`) are at most a second old: each SKU's stock lives in its own Durable Object, which applies every change atomically, one at a time, and an edge keeps the levels it read from it for at most 1 second, so a read reflects every change acknowledged more than a second before it, at every edge (and, at the edge that made it, a cart's own line change or an admin stock write at once). Holds are never decided from that copy: a line change asks the SKU's object, exactly. Stock reads are never cached by HTTP caches (`Cache-Control: no-store`, no `ETag`); the admin API's stock levels and movements are exact. Whether a SKU exists, however, is decided by the live catalog version the edge holds (Workers KV, as above): a SKU just added to or removed from the catalog may be answered differently by other edges for up to about 60 seconds.\n\nCarts (`/v1/carts/*`) are strongly consistent the same way: each cart lives in its own Durable Object, and its holds in the SKUs' stock objects. Cart responses, successes and errors alike, are never cached (`Cache-Control: no-store`, no `ETag`). Their prices, product names and limits come from the live catalog version the edge holds, with the same propagation window; their discounts, tax and shipping from the store's published configuration and promotions (see *Store configuration, promotions and cart pricing*). Checkout prices from the store object itself instead. Orders (`/v1/orders/{id}`) live each in its own Durable Object: strongly consistent, never cached.\n\n## Methods, CORS and tracing\n\nEvery public catalog and inventory path accepts GET, HEAD (like GET, without a body) and OPTIONS; cart and admin paths accept the methods their operations list plus OPTIONS (and HEAD where GET is listed). Any other method answers 405 `method_not_allowed` with an `Allow` header listing the path's methods. CORS is open to any origin: every response carries `Access-Control-Allow-Origin: *` and `Access-Control-Expose-Headers: ETag, X-Request-Id, Server-Timing, Retry-After, Idempotent-Replayed`. An OPTIONS preflight on any path listed here answers 204 with `Allow` and `Access-Control-Allow-Methods` listing the path's methods (`GET, HEAD, OPTIONS` on catalog and inventory paths), `Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key, If-None-Match, Member-Token, X-Request-Id` and `Access-Control-Max-Age: 86400`.\n\nEvery response carries `X-Request-Id` (the client's own, if sane, else a fresh one; also in problem bodies and server logs) and `Server-Timing`.\n\n## Rate limits and abuse controls\n\nRequest rates are limited per client (the address Cloudflare's edge saw, an IPv6 one by its /64 network), per cart and per store, by the platform's rate-limiting counters (per Cloudflare location, approximate, over fixed windows of 10 or 60 seconds). By default, per client and store: 600 reads that reach a Durable Object (a product's detail, inventory, cart, order and points reads) per 10 seconds, 20 new carts, 120 cart changes (line changes, coupon removals, shopper cancellations; also per cart), 10 coupon attempts (also per cart) and 60 checkouts (also per cart; a shopper waiting out `payment_processing` sends the same checkout every 2 seconds) per minute, and per store 100,000 writes per 10 seconds from all its clients; catalog listings (`/v1/products`, `/v1/categories`) and this document, served from the edge's caches, are not counted; and 10 refused admin tokens per client per minute. Over a limit the answer is 429 `rate_limited` with `Retry-After` (whole seconds) and nothing is done. The operator sets the limits in the deployment (`[[ratelimits]]` in wrangler.toml). Card testing: a client, a cart or a card (the payment `token`) with 5 declined payments within an hour (`DECLINE_LIMIT`, `DECLINE_WINDOW_MS`) is refused further checkouts with 429 `too_many_declines` until the oldest leaves the hour. Coupon codes cannot be probed: every code that cannot be applied, known or not, gets one and the same answer.\n\n## Carts\n\n`POST /v1/carts` creates a cart and answers its id and a secret token; every other cart operation (tag `Carts`) needs `Authorization: Bearer <cart token>` (security scheme `cartToken`, distinct from the admin tokens). A missing or wrong token, like an unknown or malformed cart id, answers 404 `cart_not_found`, never 401 or 403, so carts cannot be enumerated. A cart is priced in one currency, chosen at creation (by default the store's default currency, as for the `currency` query parameter).\n\n**Lifetime.** A cart without activity for the deployment's idle period, `CART_IDLE_MS` (30 days by default, configurable by the operator), is deleted by its Durable Object's alarm, with no traffic: the units it still holds are given back and all its storage is deleted, so every operation on it answers 404 `cart_not_found` from then on, as for an unknown cart. Activity is the cart's creation, a line or coupon change, a read (`GET` or `HEAD`) or a checkout, and each restarts the period; a read or a checkout is recorded at most once per thirtieth of the period (a day, by default), so a cart that is only read lives at least 29/30 of the period after its last read. A cart is never deleted while one of its checkouts is open (running, waiting for 3-D Secure or for a `processing` payment, being verified or refunded, or listed as stuck), and a checked-out cart is not deleted before its checkout's answer has been kept 25 hours, so a retry with the same `Idempotency-Key` within 24 hours replays the same order; a retry after the cart was deleted answers 404 `cart_not_found`. Orders outlive their carts: read them with the order token (`GET /v1/orders/{id}`).\n\nEach line change holds stock at once: the line's units are reserved in the SKU's stock Durable Object before the change is recorded, so a cart never takes units that are not there (409 `out_of_stock`, with `available`, the most this cart could hold, and the cart unchanged). Each line's units are held in its SKU's stock object until that line's own expiry. Adding or changing a line holds that line for the full hold TTL, `CART_HOLD_TTL_MS` (15 minutes by default, configurable by the operator); the same request also refreshes every other line whose hold has less than half the TTL left, so cart activity always leaves every line held for at least half the TTL, and a burst of changes does not rewrite every hold every time. Holds that expire are released by themselves, and their units become available to other carts; the lines stay in the cart. A line whose hold lapsed is taken again by the next line change if its units are still there; otherwise it stays in the cart, showing what is available, and is tried again on the next change (checkout re-reserves too). The cart's `holds_expire_at` is the earliest of its lines' hold expiries. Against hoarding, the store's hold policy (`holds` in its configuration) bounds this: a cart keeps its units held at most `holds.lifetime_minutes` (60 by default) from when it began holding, however active it is (a cart whose holds all ended begins anew), and one client's carts together hold at most `holds.per_client` units of one SKU (99 by default; past it, 409 `hold_limit` with `available`). A cart holds at most 50 different SKUs and at most 99 units of one SKU, or fewer when the product sets `max_per_order`.\n\nPrices, line totals and the subtotal are always computed from the live catalog's price lists in the cart's currency, never taken from the client: a line or coupon body that carries a price or total (`price`, `prices`, `unit_price`, `amount`, `total`, `line_total`, `subtotal`, `grand_total`, `discount`, `discount_total`, `tax`, `tax_total`, `shipping`, `status`) is refused with 422 `client_price_refused`. A line whose SKU has no price in the cart's currency any more, or has left the catalog, shows null prices and `all_priced: false`.\n\nWhile a checkout of a cart is running, its line and coupon changes answer 409 `checkout_in_progress` (the cart can still be read); a placed order empties the cart.\n\nLine changes accept an optional `Idempotency-Key` header: the same key retried on the same cart and SKU does not hold stock a second time. Bodies are read strictly (400 `unknown_field`), at most 64 KiB (413). Cart paths accept no query parameters (400 `unknown_parameter`), except `GET /v1/carts/{id}`, which takes `country`, `region` and `shipping_method` to show tax and shipping for a destination.\n\nA cart carries up to 5 coupon codes (`POST /v1/carts/{id}/coupons`, `DELETE /v1/carts/{id}/coupons`, `DELETE /v1/carts/{id}/coupons/{code}`). Every cart response shows each code's `status` (`applied`, `not_applicable` with its `reason`, or `unknown`), the promotions applied (`discounts`) and the totals; only `GET /v1/carts/{id}` with a destination adds tax and shipping.\n\n## Store configuration, promotions and cart pricing\n\nThe store's configuration (`GET` and `PUT /admin/v1/store`) holds its tax settings, shipping methods and payment provider; its promotions (`/admin/v1/promotions`) take money off carts. Both are kept by one Durable Object, the store object, which applies writes one at a time and, before answering each, publishes a display copy of the configuration and promotions (without redemption counts) to Workers KV. Checkout reads the configuration and the redemption counts from the store object itself, so a change applies to the next checkout at once. Carts read the published copy, which each edge re-reads at most every second: a change shows in cart responses within about a second at the location that wrote it, and elsewhere within KV's propagation window (about 60 seconds). An edge that cannot read the copy keeps the one it holds; before the first write, or at an edge that holds none, carts use a new store's default configuration (no tax, `standard` and `express` shipping to every country, the `test` payment provider) and no promotions. Payment secrets are never part of the configuration: Stripe's key is the Worker secret `STRIPE_SECRET_KEY`, and its webhook signing secret `STRIPE_WEBHOOK_SECRET`; nor is Stripe's host (a store's `base_url` is refused).\n\nA promotion without a `code` is **automatic**: it applies to every cart it is eligible for. A promotion with a `code` is a **coupon**: it applies only to carts that carry the code (`POST /v1/carts/{id}/coupons`, at most 5 codes per cart). Codes are 3 to 32 letters, digits or hyphens, stored uppercase and matched ignoring case and surrounding spaces; no two promotions share one. A promotion applies in a currency only if it can say what it is worth there: an amount-off promotion only in the currencies of its `amounts`, and one with a non-empty `min_subtotal` only in the currencies listed there (list a currency with 0 for no minimum).\n\nEvery cart response prices the cart afresh, in integer minor units of its currency (lines without a price in it count for nothing):\n\n1. **Lines.** A line's `line_total` is unit price × quantity; `subtotal` is their sum, before discounts.\n2. **Order.** The automatic promotions and the promotions of the cart's coupons are applied one after another: automatic ones before coupons, then by promotion id (byte order). Each applies to what the earlier ones left of each line, so a line is never discounted below zero.\n3. **Eligibility.** Each promotion is checked against the subtotal *before* any discount (so a minimum subtotal ignores other promotions), in this order: active, started (`starts_at` is inclusive), not ended (`ends_at` is exclusive), currency, minimum subtotal, then usage limits (these are enforced when an order redeems the promotion; cart responses are priced without redemption counts). A coupon that does not apply stays on the cart with `status: not_applicable` and its `reason`; an automatic promotion that does not apply is silently left out. A promotion that finds nothing left to discount is refused with `no_eligible_items`.\n4. **Targets.** A `cart` promotion targets every line, a `sku` promotion the line of that SKU, a `category` promotion the lines whose product is in that category.\n5. **Percentages** are taken per targeted line: round_half_even(what is left of the line × basis points / 10000).\n6. **Fixed amounts** are one amount for all the targeted lines together (not per unit or per line), capped at what is left of them and allocated across them in proportion to what is left of each, exactly: each line gets the floor of its share, and the cents still missing go one each to the lines with the largest remainders (ties: the earlier line), so the line discounts add up to the amount.\n7. **Shipping** (only with `shipping_method` and `country`) is the method's rate in the cart's currency, or 0 when the subtotal after discounts reaches the method's `free_above` in that currency. Shipping is not taxed. With a `country`, `shipping_options` lists every method that ships there and has a rate in the cart's currency, each priced by this same rule, so the option a shopper picks costs exactly what `shipping` and checkout will charge for it.\n8. **Tax** (only with a destination `country`) is computed per line on the line's amount after discounts, at the destination's rate (the region's rate when the store has one, else the country's, else 0), rounding half to even on minor units. When prices exclude tax it is added on top; when they include it (`prices_include_tax`), it is the part the amount already contains and adds nothing to the total. Without a destination there is no tax.\n9. **Totals.** `grand_total` = `subtotal` − `discount_total` + `shipping`, + `tax_total` when tax is added on top; it is never negative.\n\n## Checkout and orders\n\n`POST /v1/carts/{id}/checkout` (tag `Checkout`) turns a cart into a paid order. The shopper's frontend sends the email, the shipping address, the shipping method, the payment provider's card token and `expected_total`, the grand total the shopper confirmed (as `GET /v1/carts/{id}` showed it for the same destination and method). The server prices the cart afresh, from the live catalog and from the store object itself (tax for the address, the shipping method, the promotions with their current redemption counts), and charges exactly that total or nothing: another total answers 409 `total_changed` with the new breakdown. The cart's Durable Object then holds every line (all or none, else 409 `out_of_stock`), redeems the promotions within their usage limits (else 409 `coupon_unavailable`), and charges the store's payment provider (402 `payment_declined`; 503 `payment_unavailable` when the provider does not answer, and then nothing stays charged). It then sells the units, records the order and empties the cart, and answers 201 with the order and its secret `order_token`. When the card's issuer asks for 3-D Secure the answer is 402 `payment_action_required` with the PaymentIntent's `client_secret`: after Stripe.js handled it, send the same checkout again with the same key (the items stay held until `expires_at`); a payment Stripe is still processing answers 409 `payment_processing`. Stripe's webhook, `POST /webhooks/stripe` (tag `Webhooks`), completes both without the shopper, and records refunds and disputes made at Stripe on the order. The built-in `test` provider pays only on a deployment that enables it (`TEST_PAYMENTS=on`); Stripe is always reached at its own host.\n\nCheckout is idempotent, as Stripe's API is. The `Idempotency-Key` header is required. The first answer decided under a key, success or error, is stored for at least 24 hours and replayed byte for byte, with `Idempotent-Replayed: true`, to a retry with the same key and body. The same key with another body is refused (422, `idempotency_mismatch`); a concurrent duplicate answers 409 `idempotency_in_progress`. Each step is saved as a recovery point and is itself idempotent, so a retry with the same key (or the cart's alarm, about a minute later) finishes or compensates a checkout interrupted by a crash. A payment is never taken twice, nor left without an order or a refund.\n\nEach order lives in its own Durable Object. `GET /v1/orders/{id}` reads it with `Authorization: Bearer <order_token>` (security scheme `orderToken`), and `POST /v1/orders/{id}/cancel` lets the shopper cancel a paid order that is not yet fulfilled; a missing or wrong token answers 404 `order_not_found`, like an unknown id. Merchants list, read, fulfil, refund and cancel orders through the admin API. Each status change follows `OrderStatus`'s rules (else 409 `illegal_transition`); a cancellation or refund of a paid order puts its units back on sale and refunds the payment, and whatever could not be done at once is retried by the order's object every 30 seconds. Checkout and order responses are never cached (`Cache-Control: no-store`).\n\n## Points\n\nA store may run a points programme (`points` in its configuration, `PUT /admin/v1/store`): what its points are called (`unit`), what members earn and what points are worth. Without one, every points route of the store answers 404 `no_points_programme`. A signed-in member's checkout may pay with points (`payment.method` `points` or `points_and_card`, see *Checkout*), and the part paid by card earns points; besides, a member's points change by an admin's grant or adjustment, by a cancellation or refund (spent points back into their lots, earned points taken back), and by expiry.\n\n**Members and tokens.** Members are the operator's customers, and Edgecart never signs them in: the operator's site signs a JWT for a member, the **member token** (security scheme `memberToken`: HS256 with the store's secret from the Worker secret `MEMBER_TOKEN_SECRETS`, or ES256 with the public key the programme names as `member_key`), and the member's client sends it as the `Member-Token` header of `GET /v1/points` (401 `member_token_required` without one, 401 `invalid_member_token` for one the store does not admit). A member id is 1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`. For local development, `POST /v1/points/dev-token` signs a token for any member id with the store's HS256 secret; it answers 404 `dev_sign_in_off` unless the deployment sets `DEV_MEMBER_SIGN_IN` to `on`.\n\n**The ledger.** Each member's points are kept by one Durable Object per (store, member), the member's ledger, which applies every change one at a time, atomically with the rows it adds to the member's append-only history: reads are exact and strongly consistent, and never cached (`Cache-Control: no-store`). A member with no points yet has an empty history and a zero balance. Points come in **lots**: each grant or upward adjustment (and, by the ledger's rules, each order's earning) is a lot of its own, with its own expiry: a grant's `expires_at`, else the programme's `expiry_days` from when the lot becomes spendable, else never. A downward adjustment takes from the spendable lots that expire soonest first, and never below zero (409 `insufficient_points`). What is left of a lot expires by itself at its expiry (an `expire` row), with no traffic. The balance shows `available`, what can be spent now; `pending`, earned points still in their return window; `held`, points set aside for checkouts in progress; and `debt`, points taken back after they were spent, paid first from the next points received. It always holds that `available` = the spendable lots' points − what holds set aside of them − `debt`, so `available` is negative only through debt.\n\n**Reading.** `GET /v1/points` (the member) and `GET /admin/v1/members/{member}/points` (the store's admins and viewers; each row also shows its `actor` and `key`) answer the balance and one page of the history, newest first: at most `limit` rows (1 to 200, default 50); pass `next_cursor` back as `cursor` for older rows, until it is null. Both read the programme from the store's published copy (see *Store configuration, promotions and cart pricing*).\n\n**Grants and adjustments.** `POST /admin/v1/members/{member}/points/grants` gives a member points, spendable at once; `POST /admin/v1/members/{member}/points/adjustments` corrects their points up or down. Both read the programme from the store's Durable Object itself, so a programme change applies to them at once. Each needs an `Idempotency-Key` header and is applied once per key and member: the first application answers 201 with the balance after it; a repeat of the same request answers 200 with `replayed: true` and the balance now, and changes nothing; the same key with any other change of that member's points is 409 `idempotency_key_reused`. A refused request is not remembered. Each application is recorded in the store's audit trail (action `points.grant` or `points.adjust`, target `member:{member}`, the available balance before and after), committed with the change by the ledger and then delivered to the trail, before the answer unless that delivery fails (it is then retried every 5 seconds, and recorded once however often it is delivered).\n\n## Admin API\n\nThe admin operations (tag `Admin`) change the catalog, read the audit trails (the shared catalog's and each store's), read, set, adjust and trace each SKU's stock, configure the store (tax, shipping methods, payment provider) and its promotions, and list, read, fulfil, refund and cancel orders and list the checkouts that cannot settle with the payment provider (`GET /admin/v1/checkouts?state=stuck`); those that read, grant and adjust members' points have the tag `Points` (see *Points*). Each needs `Authorization: Bearer <token>` (security scheme `bearerAuth`). Tokens are configured in the Worker secret `ADMIN_TOKENS`: comma-separated `label:role:secret` entries, role `admin` (every admin operation) or `viewer` (may only read the audit trail, stock levels and movement histories, the store configuration, promotions, orders and members' points; writes answer 403 `forbidden`). The presented token is compared in constant time with every configured secret. A missing, malformed or unknown token answers 401 `unauthorized` with `WWW-Authenticate`, and nothing is changed. The token's label is recorded as the `actor` of each change it makes to the catalog, to a store's configuration, promotions or profile, or to an order's status (see *Audit trails* below), and begins the `op_id` of each stock movement it records. With `ADMIN_TOKENS` unset every admin request answers 401; with it malformed, 503 `misconfigured`.\n\nAll catalog writes (products, prices, categories, imports) are serialized through one Durable Object, the catalog writer, so concurrent writes apply one after another to the latest state and never lose each other. Each change is committed together with its audit-trail entry, atomically, and the writer publishes the new catalog version to Workers KV before answering; the answer's `catalog_version` names the live version. The edge that handled the write sees the change on its next read; other edges within KV's propagation window (about 60 seconds). A write that changes nothing answers `unchanged` and records no audit entry, so repeating a PUT, or re-importing the same file, is safe. Single-item writes are all-or-nothing: a refused write changes nothing. An import applies each valid line and reports the rejected ones.\n\nStock writes (`PUT /admin/v1/inventory/{sku}`, `POST /admin/v1/inventory/{sku}/adjustments`, and `POST /admin/v1/inventory`, which sets the counts of up to 200 SKUs at once, each as its own write) go instead to the SKU's own stock Durable Object, which applies each one atomically with its entries in the SKU's movement history, one after another, before answering; they publish no catalog version and record no audit-trail entry (the movement history is their record), and their effect is visible at once, at every edge. Every stock change keeps `available = on_hand − reserved − sold ≥ 0`, where `reserved` counts only holds that have not expired; a change that would break it is refused and changes nothing. Stock writes are made safe to retry by an `Idempotency-Key` header: a retry with the same key by the same token on the same SKU within 24 hours answers the first outcome again (`applied: false`) and changes nothing. Without the header each request is a new operation. A batch count is not all-or-nothing: each item succeeds or fails on its own and the answer reports every item; retrying the whole batch with the same key is safe.\n\nStore writes (`PUT /admin/v1/store`, `PUT` and `DELETE /admin/v1/promotions/{id}`) go to the store's Durable Object, which applies them one at a time and publishes the display copy carts read before answering (see *Store configuration, promotions and cart pricing*); they publish no catalog version, and each one that changes something is recorded in the store's audit trail in the same commit. Each is all-or-nothing: a refused write changes nothing.\n\n### Store prices\n\nA store may sell the shared catalog at prices of its own: each replaces a SKU's base price in one currency, for that store only (`POST /admin/v1/store/prices` sets or removes up to 1,000 at once, all or nothing; `GET /admin/v1/store/prices` lists them; at most 20,000 per store). The currency need not be one the base catalog is priced in, so a store can sell in a currency of its own. They belong to the catalog: the catalog writer applies them with the other catalog writes, records each change in the shared audit trail with the store, and publishes them with a new catalog version, so one version fixes every store's prices and the store's listings (prices, price sort, price filters and bands), product pages, carts and checkout all charge the same ones. When a SKU leaves the catalog, every store's prices of it go too.\n\n### Audit trails\n\nEvery admin write that changes something is recorded in an audit trail, with the label of the token that made it (`actor`), the store it concerns (`store`: null for the shared catalog), when it was committed, what it did (`action`, `target`, `fields`) and snapshots before and after. `GET /admin/v1/audit` reads the shared trail: the catalog's changes (products, prices, categories, imports). `GET /admin/v1/store/audit` reads the store's own trail, kept by the store's Durable Object: its configuration and promotions (written with their change, atomically), the fulfilments, refunds and cancellations of its orders (the shopper's own cancellation with the actor `shopper`), its profile, written by an operator (`PUT /admin/v1/stores/{store_id}`), and the grants and adjustments of its members' points (delivered by each member's ledger, see *Points*). An order's status change and a profile change are committed with their change by the order's Durable Object or the store directory, then delivered to the store's trail, before the answer unless that delivery fails (it is then retried every 30 seconds, and recorded once however often it is delivered). A store's token reads its own store's trail only. Stock writes are recorded in each SKU's movement history instead.\n\nSingle writes take an `application/json` body of at most 64 KiB (65536 bytes), a points grant or adjustment one of at most 4 KiB (4096 bytes), a batch count one of at most 256 KiB (262144 bytes); an import takes NDJSON, one product per line, each line at most 64 KiB, at most 100,000 lines. Bodies are read strictly: an unknown field is 400 `unknown_field`, never ignored. Admin paths accept no query parameters except `limit` and `cursor` on `GET /admin/v1/audit`, `GET /admin/v1/store/audit`, `GET /admin/v1/inventory/{sku}/movements` and `GET /admin/v1/members/{member}/points`, `status`, `created_after`, `created_before`, `limit` and `cursor` on `GET /admin/v1/orders`, and `state` and `limit` on `GET /admin/v1/checkouts`. The token is checked before the query parameters. Every admin response, success or error, carries `Cache-Control: no-store`.";

pub const TAGS: &[(&str, &str)] = &[
    ("Catalog", "Products and categories of the live catalog version, served from Workers KV."),
    ("Inventory", "Stock availability per SKU, read from the SKU's stock Durable Object, at most a second old (see *Consistency and caching*), never cached by HTTP caches."),
    ("Carts", "Shopping carts with live stock holds. Each cart lives in its own Durable Object and is opened by its secret token; every line change holds the units in the SKU's stock Durable Object at once, and prices always come from the live catalog. Each cart carries up to 5 coupon codes; every response applies the store's promotions and, for a cart read with a destination, tax and shipping, from the store's published configuration. While a checkout of a cart runs, its line and coupon changes answer 409 `checkout_in_progress`."),
    ("Checkout", "Checkout turns a cart into a paid order: re-priced by the server and compared with the total the shopper confirmed, then carried out by the cart's Durable Object from recovery points (hold the stock, redeem the promotions, charge the store's payment provider, sell the units, record the order), idempotent by a required `Idempotency-Key`. Orders are read, and may be cancelled by the shopper, with their own secret token."),
    ("Points", "A store's loyalty points, if it runs a points programme: a member's balance and history, read by the member with the member token the store's operator signs (`GET /v1/points`, security scheme `memberToken`) or by the store's admins and viewers, and the admins' grants and adjustments. Each member's points are kept by one Durable Object per (store, member), which applies every change one at a time, atomically with its history rows; grants and adjustments are applied once per `Idempotency-Key` and recorded in the store's audit trail. A development sign-in signs member tokens where the deployment turns it on. Never cached."),
    ("Webhooks", "Events both ways. Out: every state change other systems care about (orders created, paid, fulfilled, cancelled and refunded; stock low and out; a catalog version published; a member's points changed) is written in the same storage transaction as the change, carried by a Cloudflare Queue to the store's webhook object and POSTed to the merchant's endpoints (`/admin/v1/webhooks`), signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff and jitter for about 3 days, every attempt logged 30 days, replayable. In: Stripe's events, at `POST /webhooks/stripe`, each verified by its signature before it is read, and applied once however often and in whatever order it arrives."),
    ("Meta", "Liveness and API description."),
    ("Admin", "Authenticated catalog writes, bulk import, the audit trail, stock levels, counts, adjustments and movement histories, and orders (list, read, fulfil, refund, cancel). All catalog writes go through one Durable Object that serializes them, records each change in the audit trail and publishes a new catalog version before answering; stock writes go to the SKU's own stock Durable Object, which applies them one at a time and records each in the SKU's movement history. The store's configuration (tax, shipping methods, payment provider) and its promotions are kept by the store's Durable Object, which applies writes one at a time and publishes the copy carts read before answering."),
];

/// Security schemes: (name, description); all are HTTP bearer but
/// `memberToken`, an API key in the `Member-Token` header.
pub const SECURITY_SCHEMES: &[(&str, &str)] = &[
    ("bearerAuth", "An admin token: `Authorization: Bearer <secret>`. Tokens are the Worker secret `ADMIN_TOKENS`, comma-separated `label:role:secret` entries (label: 1 to 32 lowercase letters, digits, `-` or `_`, recorded as the audit `actor`; role: `admin` or `viewer`; secret: at least 16 characters). The presented token is compared in constant time with every configured secret. Role `admin` may use every admin operation; role `viewer` may only read the audit trail, stock levels and movement histories, the store configuration, promotions, orders and members' points (writes answer 403 `forbidden`). A missing, malformed or unknown token answers 401 `unauthorized` and nothing is changed. Unset `ADMIN_TOKENS` disables the admin API (every request 401); malformed `ADMIN_TOKENS` answers 503 `misconfigured`."),
    ("cartToken", "A cart's secret token: `Authorization: Bearer <token>`, with the `token` that `POST /v1/carts` answered (48 lowercase hex digits). It opens only its own cart and is compared in constant time by the cart's Durable Object. A missing, malformed or wrong token answers 404 `cart_not_found`, exactly like an unknown cart id (never 401 or 403), so whether a cart exists cannot be probed. Whoever holds the token can read and change the cart: keep it secret. It is unrelated to the admin tokens (`bearerAuth`), which do not open carts."),
    ("orderToken", "An order's secret token: `Authorization: Bearer <order_token>`, with the `order_token` that checkout answered (48 lowercase hex digits). It reads its own order, and may cancel it (`POST /v1/orders/{id}/cancel`); it opens nothing else and is compared in constant time by the order's Durable Object. A missing, malformed or wrong token answers 404 `order_not_found`, exactly like an unknown order id (never 401 or 403), so whether an order exists cannot be probed. It is unrelated to the cart's token (`cartToken`) and to the admin tokens (`bearerAuth`), which do not open orders."),
    ("memberToken", "A member's token: `Member-Token: <JWT>`, signed by the store operator's site, never by Edgecart (Edgecart does not authenticate members). It is verified for the store the request resolves to: its signature (`HS256` with the store's secret from the Worker secret `MEMBER_TOKEN_SECRETS`, or `ES256` with the public key the store's points programme names as `member_key`; every other algorithm, `none` included, is refused), `exp` (required) and `nbf`, each with 60 seconds of clock skew allowed, `aud` (the store's id, or an array holding it) and `sub` (the member id: 1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`). A missing token answers 401 `member_token_required`; one that fails any check 401 `invalid_member_token` (`detail` says which). It opens only its member's points at its store (`GET /v1/points`), and at checkout (optional there, beside the cart's token in `Authorization`) lets the member pay with points and earn them; it is unrelated to the cart, order and admin tokens, which travel in `Authorization`."),
];

/// Reusable parameters (header and path), by component name.
pub const PARAMETERS: &[(&str, Param)] = &[
    ("StoreSelector", Param {
        name: "store",
        place: Place::Query,
        required: false,
        description: "The store this request is for, by id: the explicit selector for local development (every store on `127.0.0.1`) and headless clients. Without it, the store is the one answering on the request's host. An unknown or disabled store is 404 `store_not_found`, never the default store. An empty value counts as absent.",
        schema: r#"{"anyOf": [{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
        examples: &[
            Example { name: "default", summary: None, value: r#""default""# },
        ],
    }),
    ("IfNoneMatch", Param {
        name: "If-None-Match",
        place: Place::Header,
        required: false,
        description: "ETags of copies the client holds (comma-separated; `W/` prefixes are accepted, as RFC 9110's weak comparison prescribes), or `*`. When one matches the current ETag the answer is `304 Not Modified` with no body.",
        schema: r#"{"type": "string"}"#,
        examples: &[
            Example { name: "one", summary: None, value: r#""\"3b9f0c6a1d2e4f58.USD\"""# },
        ],
    }),
    ("XRequestId", Param {
        name: "X-Request-Id",
        place: Place::Header,
        required: false,
        description: "Optional client-chosen id for tracing this request. Used as the response's `X-Request-Id` and the problem `request_id` when it is 1 to 64 characters of ASCII letters, digits, `-`, `_` or `.`; any other value is ignored (not refused) and a fresh id is generated.",
        schema: r#"{"type": "string"}"#,
        examples: &[],
    }),
    ("Currency", Param {
        name: "currency",
        place: Place::Query,
        required: false,
        description: "Currency of the prices in the response, as a three-letter ISO 4217 code, case-insensitive (`eur` is `EUR`). It must be a currency the shop knows (AUD, CAD, CHF, EUR, GBP, JPY, USD), one the store sells, and one the store's catalog is priced in (the base price lists or the store's own prices), else 400 `unknown_currency`. Default: the store's default currency if its catalog is priced in it, else the first currency the store sells that it is priced in.",
        schema: r#"{"anyOf": [{"type": "string", "pattern": "^[A-Za-z]{3}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
        examples: &[
            Example { name: "euro", summary: None, value: r#""EUR""# },
        ],
    }),
    ("AdminProductId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The product's id, `prd_` followed by 1 to 40 lowercase letters or digits (exact match).",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""prd_kettle1""# },
        ],
    }),
    ("AdminSku", Param {
        name: "sku",
        place: Place::Path,
        required: true,
        description: "The variant's SKU (exact, case-sensitive match). No variant with it is 404 `sku_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "sku", summary: None, value: r#""KTL-1-STEEL""# },
        ],
    }),
    ("AdminCurrency", Param {
        name: "currency",
        place: Place::Path,
        required: true,
        description: "ISO 4217 code of the price, case-insensitive (`usd` is `USD`); one of the currencies the shop knows (AUD, CAD, CHF, EUR, GBP, JPY, USD).",
        schema: r#"{"type": "string", "pattern": "^[A-Za-z]{3}$"}"#,
        examples: &[
            Example { name: "usd", summary: None, value: r#""USD""# },
        ],
    }),
    ("AdminCategorySlug", Param {
        name: "slug",
        place: Place::Path,
        required: true,
        description: "The category's slug: lowercase words of ASCII letters and digits joined by single hyphens, at most 120 characters (else 422 `validation_failed` with `invalid_slug`).",
        schema: r#"{"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 120}"#,
        examples: &[
            Example { name: "slug", summary: None, value: r#""kitchen""# },
        ],
    }),
    ("InventorySku", Param {
        name: "sku",
        place: Place::Path,
        required: true,
        description: "The variant's SKU (exact, case-sensitive match). A SKU that no variant of the live catalog version has answers 404 `sku_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "sku", summary: None, value: r#""KTL-1-STEEL""# },
        ],
    }),
    ("IdempotencyKey", Param {
        name: "Idempotency-Key",
        place: Place::Header,
        required: false,
        description: "Makes this stock write safe to retry. A key of 1 to 128 visible ASCII characters (`!` to `~`) names the operation together with the token's label: its movements' `op_id` is `{label}:{key}`. A retry with the same key by the same token on the same SKU within 24 hours changes nothing, even if its body differs, and answers the first outcome again: 200 with `applied: false` and the current levels if it was applied, or the same refusal if the stock ledger refused it (409 `below_committed`, 422 `invalid_quantity`). Refusals found before the stock object is asked (400, 404, 413, 415, 422 `invalid_length`) are not remembered. Any other value is ignored (not refused) and, as without the header, a fresh random key is used, so every request is a new operation. Use a new key for each intended change. A header that is present but not 1 to 128 visible ASCII characters is refused with 400 `invalid_idempotency_key` (`param: Idempotency-Key`), never ignored.",
        schema: r#"{"type": "string", "pattern": "^[!-~]{1,128}$"}"#,
        examples: &[
            Example { name: "key", summary: None, value: r#""delivery-42""# },
        ],
    }),
    ("InventoryBatchIdempotencyKey", Param {
        name: "Idempotency-Key",
        place: Place::Header,
        required: false,
        description: "Makes this batch safe to retry. A key of 1 to 128 visible ASCII characters (`!` to `~`) names each item's operation together with the token's label and the item's SKU: its movement's `op_id` is `{label}:{key}:{sku}`. Retrying the batch with the same key by the same token within 24 hours applies no item twice: an item applied before answers `status: ok` with `applied: false` and the SKU's current levels, one the stock ledger refused answers the same refusal, and an item the earlier attempt did not reach (or that failed with `storage_unavailable` before being applied) is applied now. Items may be added to or dropped from the retried batch; a SKU's count under the key is its first outcome even if the retry sends another count. Any other value is ignored (not refused) and a fresh random key is used, so every request is a new batch. Use a new key for each intended set of counts. A header that is present but not 1 to 128 visible ASCII characters is refused with 400 `invalid_idempotency_key` (`param: Idempotency-Key`), never ignored.",
        schema: r#"{"type": "string", "pattern": "^[!-~]{1,128}$"}"#,
        examples: &[
            Example { name: "key", summary: None, value: r#""stocktake-2026-11-21""# },
        ],
    }),
    ("CartId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The cart's id, as `POST /v1/carts` answered it: `crt_` followed by 24 lowercase hex digits. An unknown or malformed id answers 404 `cart_not_found`, like a wrong token.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""crt_5f0c3a9b1e2d4c6a8b7f9e01""# },
        ],
    }),
    ("CartLineSku", Param {
        name: "sku",
        place: Place::Path,
        required: true,
        description: "The SKU of one of the cart's lines (exact, case-sensitive match). A SKU the cart has no line for answers 404 `line_not_found`. The SKU may have left the catalog since it was added: its line can still be lowered or removed.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "sku", summary: None, value: r#""KTL-1-STEEL""# },
        ],
    }),
    ("CartIdempotencyKey", Param {
        name: "Idempotency-Key",
        place: Place::Header,
        required: false,
        description: "Names this line change so that retrying it does not hold stock twice. A key of 1 to 128 visible ASCII characters (`!` to `~`) names the hold operation on the SKU's stock Durable Object together with the cart's id; that object remembers each operation's outcome for 24 hours. A request with a key already used on this cart for this SKU holds nothing more: if the first hold succeeded, the stock stays as that hold left it; if it was refused, the request is refused the same way (409 `out_of_stock` with the first `available`). Refusals found before the stock object is asked (400, 404, 413, 415, 422) are not remembered. Any other value is ignored (not refused) and, as without the header, a fresh random key is used, so every request is a new operation. Use a new key for each intended change, and repeat a key only to retry a request whose answer was lost. A header that is present but not 1 to 128 visible ASCII characters is refused with 400 `invalid_idempotency_key` (`param: Idempotency-Key`), never ignored.",
        schema: r#"{"type": "string", "pattern": "^[!-~]{1,128}$"}"#,
        examples: &[
            Example { name: "key", summary: None, value: r#""add-kettle-7f3a""# },
        ],
    }),
    ("StoreId", Param {
        name: "store_id",
        place: Place::Path,
        required: true,
        description: "The store's id: 1 to 32 lowercase ASCII letters, digits and `-`, not starting with `-`. On GET, an id no store has answers 404 `store_not_found`; on PUT, a malformed id is 422 `invalid_store_id` (field `id`).",
        schema: r#"{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""bank""# },
        ],
    }),
    ("PromotionId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The promotion's id (exact match): 1 to 64 lowercase ASCII letters, digits, `-` or `_`. On GET and DELETE, an id no promotion has answers 404 `promotion_not_found`; on PUT, a malformed id is 422 `invalid_id` (field `id`).",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""save10""# },
        ],
    }),
    ("CouponCode", Param {
        name: "code",
        place: Place::Path,
        required: true,
        description: "A coupon code the cart carries, case-insensitive (`save10` is `SAVE10`; surrounding spaces are trimmed). A code the cart does not carry answers 404 `coupon_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "code", summary: None, value: r#""SAVE10""# },
        ],
    }),
    ("CartCountry", Param {
        name: "country",
        place: Place::Query,
        required: false,
        description: "The destination country, which sets the tax rate and where shipping goes: an ISO 3166-1 alpha-2 code, case-insensitive (`us` is `US`); anything but two ASCII letters is 400 `invalid_country`. Echoed uppercase in `destination`. Without it the cart shows no tax, no shipping and an empty `shipping_options`.",
        schema: r#"{"anyOf": [{"type": "string", "pattern": "^[A-Za-z]{2}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
        examples: &[
            Example { name: "us", summary: None, value: r#""US""# },
        ],
    }),
    ("CartRegion", Param {
        name: "region",
        place: Place::Query,
        required: false,
        description: "A region of the destination country (a state or province: `CA`, `QC`, `BY`), case-insensitive: up to 10 ASCII letters, digits or hyphens, else 400 `invalid_region`. Needs `country` (else 400 `missing_destination`, `param: country`). The region's tax rate applies when the store has one, else the country's. Echoed uppercase in `destination`.",
        schema: r#"{"anyOf": [{"type": "string", "pattern": "^[A-Za-z0-9-]{1,10}$"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
        examples: &[
            Example { name: "california", summary: None, value: r#""CA""# },
        ],
    }),
    ("CartShippingMethod", Param {
        name: "shipping_method",
        place: Place::Query,
        required: false,
        description: "The id of one of the store's shipping methods (exact match; see `GET /admin/v1/store`), whose cost the cart then shows in `shipping`; an id the store has no method for is 400 `unknown_shipping_method`. Needs `country` (else 400 `missing_destination`, `param: country`). A method that does not ship to that country, or has no rate in the cart's currency, is 422 `validation_failed` with error code `shipping_not_available` (field `shipping_method`). Echoed in `shipping_method`. Without it `shipping` is 0.",
        schema: r#"{"anyOf": [{"type": "string"}, {"type": "string", "maxLength": 0, "description": "An empty value counts as absent."}]}"#,
        examples: &[
            Example { name: "standard", summary: None, value: r#""standard""# },
        ],
    }),
    ("StripeSignature", Param {
        name: "Stripe-Signature",
        place: Place::Header,
        required: true,
        description: "Stripe's signature of the event: `t=<unix seconds>` and one or more `v1=<hex HMAC-SHA256 of \"{t}.{raw body}\" keyed by the endpoint's signing secret>`, as Stripe sends it. Verified against the Worker secret `STRIPE_WEBHOOK_SECRET` (comma-separated secrets all verify, for a rotation), in constant time, with `t` at most 300 seconds from now; otherwise 400 `invalid_signature` and nothing changes.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "signature", summary: None, value: r#""t=1795262400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd""# },
        ],
    }),
    ("CheckoutMemberToken", Param {
        name: "Member-Token",
        place: Place::Header,
        required: false,
        description: "The member's token (a JWT the store operator's site signed; see the security scheme `memberToken` for how it is verified). Optional: with it, in a store with a points programme, the member may pay with points (`payment.method` `points` or `points_and_card`, which need it: 401 `member_token_required` without) and the part paid by card earns points. A token the store does not admit answers 401 `invalid_member_token` before anything else happens (nothing is stored under the `Idempotency-Key`). In a store without a points programme it is ignored.",
        schema: r#"{"type": "string"}"#,
        examples: &[],
    }),
    ("CheckoutIdempotencyKey", Param {
        name: "Idempotency-Key",
        place: Place::Header,
        required: true,
        description: "Required: names this checkout so that retrying it never places a second order or charges twice. 1 to 128 visible ASCII characters (`!` to `~`); without the header, or with any other value, checkout answers 400 `idempotency_key_required`. Generate a new random key (e.g. a UUID) for each checkout the shopper confirms, and repeat it only to retry that same request with the same body, byte for byte. Keys belong to the cart: its Durable Object records each key with a fingerprint of the request (method, cart id and exact body bytes) and, once decided, its answer, and answers from that record for 25 hours after its last write (so for at least 24 hours after the answer). A retry with the same key and body gets the stored answer again, byte for byte, with `Idempotent-Replayed: true`; the same key with a different body is 422 `validation_failed` with error code `idempotency_mismatch`; a retry while the first attempt is still running is 409 `idempotency_in_progress`.",
        schema: r#"{"type": "string", "pattern": "^[!-~]{1,128}$"}"#,
        examples: &[
            Example { name: "key", summary: None, value: r#""checkout-7c2e9a41-5d3b-4f6e-8a90-1b2c3d4e5f60""# },
        ],
    }),
    ("OrderId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The order's id, as checkout answered it (`order.id`): `ord_` followed by 24 lowercase hex digits. An unknown or malformed id answers 404 `order_not_found`, like a wrong token.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""ord_3b9d2f4a6c8e0a1b2c3d4e5f""# },
        ],
    }),
    ("WebhookId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The endpoint's id: `we_` followed by 24 lowercase hex digits. An unknown or malformed id answers 404 `webhook_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""we_3b9d2f4a6c8e0a1b2c3d4e5f""# },
        ],
    }),
    ("AdminOrderId", Param {
        name: "id",
        place: Place::Path,
        required: true,
        description: "The order's id: `ord_` followed by 24 lowercase hex digits. An unknown or malformed id answers 404 `order_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""ord_3b9d2f4a6c8e0a1b2c3d4e5f""# },
        ],
    }),
    ("ProductIdOrSlug", Param {
        name: "id_or_slug",
        place: Place::Path,
        required: true,
        description: "The product's id (`prd_` followed by 1 to 40 lowercase letters or digits) or its slug (lowercase words of letters and digits joined by single hyphens). Anything that names no product answers 404 `product_not_found`.",
        schema: r#"{"type": "string", "minLength": 1}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""prd_00042""# },
            Example { name: "slug", summary: None, value: r#""classic-ethiopian-coffee-beans""# },
        ],
    }),
    ("AdminMemberId", Param {
        name: "member",
        place: Place::Path,
        required: true,
        description: "The member's id, as the member token names it (`sub`): 1 to 64 ASCII letters, digits, `.`, `_`, `-`, `@` or `+`, exact and case-sensitive. Percent-escapes are decoded first (`a%40b.example` is `a@b.example`). Anything else, a malformed escape or an escaped `/` included, answers 404 `member_not_found`. Any well-formed id names a member: one who has no points yet has a zero balance and an empty history.",
        schema: r#"{"type": "string", "pattern": "^[A-Za-z0-9._@+-]{1,64}$"}"#,
        examples: &[
            Example { name: "id", summary: None, value: r#""m-1001""# },
        ],
    }),
    ("PointsIdempotencyKey", Param {
        name: "Idempotency-Key",
        place: Place::Header,
        required: true,
        description: "Required: names this grant or adjustment so that retrying it never applies it twice. 1 to 128 visible ASCII characters (`!` to `~`): without the header the answer is 400 `idempotency_key_required`, and a header with any other value is 400 `invalid_idempotency_key` (`param: Idempotency-Key`). Keys belong to the member's ledger (one per store and member), are shared by grants and adjustments and by every admin token, and are remembered for good with what they asked (grant or adjustment, `points`, `reason` and, for a grant, the instant `expires_at` names). A repeat of the same request answers 200 with `replayed: true` and the balance now, and changes nothing (a replayed grant is not checked again, even if its `expires_at` has passed since); the same key for any other change of this member's points is 409 `idempotency_key_reused`. A refused request (400, 404, 409 `insufficient_points`, 413, 415, 422) is not remembered: its key stays free. Generate a new key (e.g. a UUID) for each intended change, and repeat it only to retry that change.",
        schema: r#"{"type": "string", "pattern": "^[!-~]{1,128}$"}"#,
        examples: &[
            Example { name: "key", summary: None, value: r#""welcome-bonus-m-1001""# },
        ],
    }),
];

/// Response headers, by component name (`Allow` is derived from the route table).
pub const HEADERS: &[(&str, Header)] = &[
    ("X-Request-Id", Header { description: "Identifies this request in problem bodies (`request_id`) and in the server's logs. It is the client's own `X-Request-Id` request header when that is 1 to 64 characters of ASCII letters, digits, `-`, `_` or `.`; otherwise a fresh random id (24 hex digits). Sent on every response.", required: true, schema: r#"{"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$", "examples": ["4f1c9a0b2d3e4f5a6b7c8d9e"]}"# }),
    ("Server-Timing", Header { description: "Time spent serving the request, in milliseconds: `app;dur=N` for the whole request and, on catalog routes once the catalog is loaded, `catalog;dur=N` for loading it. Sent on every response.", required: true, schema: r#"{"type": "string", "examples": ["app;dur=3, catalog;dur=1"]}"# }),
    ("ETag", Header { description: "Strong validator of the representation (a quoted, opaque string). On `/v1/categories` it is `\"{catalog version}.{default currency}\"` (the store's default currency): one per catalog version, new whenever a new version is published. On `/v1/products` it is `\"{catalog version}.{stock snapshot version}.{default currency}\"`: it changes when a new catalog version or a new stock snapshot is published. On `/v1/products/{id_or_slug}` it is a hash of the body, which carries stock. On `/openapi.json` it is a hash of this document. Send it back in `If-None-Match` to revalidate.", required: true, schema: r#"{"type": "string", "examples": ["\"3b9f0c6a1d2e4f58.USD\"", "\"3b9f0c6a1d2e4f58.a1c07e9d52b4f316.USD\""]}"# }),
    ("Cache-Control", Header { description: "`public, no-cache`: any cache may store the response but must revalidate it (cheaply, by ETag) before each reuse, so a newly published catalog version (and, for listings, stock snapshot) is seen on the next request.", required: true, schema: r#"{"type": "string", "const": "public, no-cache"}"# }),
    ("Cache-Control-No-Store", Header { description: "`no-store`: error responses must not be cached.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("Retry-After", Header { description: "Seconds to wait before retrying (currently always 5).", required: true, schema: r#"{"type": "integer", "minimum": 0, "examples": [5]}"# }),
    ("Retry-After-Limit", Header { description: "Whole seconds to wait before trying again (at least 1): the limit's period for a request rate (10 or 60), or until the oldest declined payment that counts leaves its window for `too_many_declines`.", required: true, schema: r#"{"type": "integer", "minimum": 1, "examples": [60]}"# }),
    ("Access-Control-Allow-Origin", Header { description: "CORS is open to any origin. Sent on every response.", required: true, schema: r#"{"type": "string", "const": "*"}"# }),
    ("Access-Control-Expose-Headers", Header { description: "Response headers that browser scripts may read. Sent on every response.", required: true, schema: r#"{"type": "string", "const": "ETag, X-Request-Id, Server-Timing, Retry-After, Idempotent-Replayed"}"# }),
    ("Cache-Control-Admin", Header { description: "`no-store`: admin responses, successes and errors alike, are never cached.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("WWW-Authenticate", Header { description: "The authentication scheme the admin API expects.", required: true, schema: r#"{"type": "string", "const": "Bearer realm=\"edgecart-admin\""}"# }),
    ("Cache-Control-Inventory", Header { description: "`no-store`: stock levels change with every hold, sale and count, so they are never cached; each request reads them afresh.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("Cache-Control-Cart", Header { description: "`no-store`: cart responses, successes and errors alike, are never cached; they show the cart's holds at the moment of the request, and stock at most a second old.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("Idempotent-Replayed", Header { description: "`true` when this answer is the one stored under the request's `Idempotency-Key`, replayed: status and body are byte for byte those of the first answer (a replayed 201 names the same order). Absent from a first answer. It is not listed in `Access-Control-Expose-Headers`, so cross-origin browser scripts cannot read it; the replayed body is the same either way.", required: false, schema: r#"{"type": "string", "const": "true"}"# }),
    ("Cache-Control-Order", Header { description: "`no-store`: orders, and errors about them, are never cached.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("Cache-Control-Points", Header { description: "`no-store`: a member's points, and errors about them, are never cached; each request reads the member's ledger afresh.", required: true, schema: r#"{"type": "string", "const": "no-store"}"# }),
    ("WWW-Authenticate-Member", Header { description: "The authentication scheme `GET /v1/points` expects: the member token in the `Member-Token` header.", required: true, schema: r#"{"type": "string", "const": "Member-Token realm=\"edgecart-members\""}"# }),
];

/// Shared responses, by component name (405s are derived from the route table).
pub const RESPONSES: &[(&str, Resp)] = &[
    ("StoreNotFound", Resp {
        description: "`store_not_found`: no enabled store answers on this host or has the `store` id given. Nothing was read or changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "store_not_found", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/store_not_found",
  "title": "Not found",
  "status": 404,
  "detail": "No store is served at this host or under this `store` id.",
  "code": "store_not_found",
  "instance": "/v1/products?store=nope",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("RateLimited", Resp {
        description: "`rate_limited`: this client (its address, an IPv6 one by its /64), this cart or this store sent more requests of this kind than the deployment's limit allows within the limit's window (see *Rate limits and abuse controls*). Nothing was done; retry after `Retry-After` seconds.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store")), ("Retry-After", Hdr::Ref("Retry-After-Limit"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "rate_limited", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/rate_limited",
  "title": "Too many requests",
  "status": 429,
  "detail": "Too many cart changes; retry after the time in Retry-After.",
  "code": "rate_limited",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("CheckoutTooManyRequests", Resp {
        description: "Nothing was held or charged, and the answer is not stored under the `Idempotency-Key` (the same key may be sent again later). Codes:\n\n- `rate_limited`: this client or this cart sent more checkouts than the deployment's limit allows within the limit's window, or the store is over its ceiling.\n- `too_many_declines`: card testing: this client, this cart or this card (the payment `token`) had `DECLINE_LIMIT` payments declined (5 by default) within `DECLINE_WINDOW_MS` (an hour by default); its checkouts are refused until the oldest of them leaves the window (`Retry-After`).",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store")), ("Retry-After", Hdr::Ref("Retry-After-Limit"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "too_many_declines", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/too_many_declines",
  "title": "Too many requests",
  "status": 429,
  "detail": "Too many declined payments; retry after the time in Retry-After.",
  "code": "too_many_declines",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "rate_limited", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/rate_limited",
  "title": "Too many requests",
  "status": 429,
  "detail": "Too many checkout attempts; retry after the time in Retry-After.",
  "code": "rate_limited",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/checkout",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("SignInRateLimited", Resp {
        description: "`rate_limited`: this client presented too many refused admin tokens within the limit's window; until it ends, a refused token answers 429 instead of 401. A valid token is never refused for it (a lock-out by address would let anyone behind the same address lock the operator out). Nothing was done.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After-Limit"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "rate_limited", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/rate_limited",
  "title": "Too many requests",
  "status": 429,
  "detail": "Too many failed sign-ins; retry after the time in Retry-After.",
  "code": "rate_limited",
  "instance": "/admin/v1/orders",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("NotModified", Resp {
        description: "Not Modified: the copy named in `If-None-Match` is current. No body; the `ETag` and `Cache-Control` of the full response are repeated.",
        headers: &[("ETag", Hdr::Ref("ETag")), ("Cache-Control", Hdr::Ref("Cache-Control"))],
        content: &[],
    }),
    ("ServiceUnavailable", Resp {
        description: "The catalog cannot be served right now; retry after `Retry-After` seconds. Codes: `catalog_unavailable` (the catalog store could not be read or decoded and this edge holds no earlier copy) or `misconfigured` (the Worker's configuration is invalid). The internal cause is logged, never shown.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-No-Store")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "catalog_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/catalog_unavailable",
  "title": "Catalog temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "catalog_unavailable",
  "instance": "/v1/products",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminUnauthorized", Resp {
        description: "`unauthorized`: no `Authorization: Bearer <token>` header, or a token that matches no configured admin token. Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("WWW-Authenticate", Hdr::Ref("WWW-Authenticate"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "unauthorized", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unauthorized",
  "title": "Authentication required",
  "status": 401,
  "detail": "Send Authorization: Bearer <admin token> with a valid token.",
  "code": "unauthorized",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminForbidden", Resp {
        description: "`forbidden`: the token is valid but does not cover this route: a `viewer` token on a write (viewers read the audit trail, stock levels and movement histories, and their store's configuration, promotions, orders and members' points); a store's `admin` or `viewer` token on another store's routes, on writes to the shared catalog and stock, or on the stores themselves (those are the `operator`'s). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "forbidden", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/forbidden",
  "title": "Not allowed for this token",
  "status": 403,
  "detail": "This token's role does not allow this route.",
  "code": "forbidden",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminPayloadTooLarge", Resp {
        description: "`payload_too_large`: the body (or its declared `Content-Length`) is larger than 64 KiB (65536 bytes). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "payload_too_large", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payload_too_large",
  "title": "Request body too large",
  "status": 413,
  "detail": "The body may be at most 65536 bytes.",
  "code": "payload_too_large",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminUnsupportedMediaTypeJson", Resp {
        description: "`unsupported_media_type`: the `Content-Type` is not `application/json` (parameters such as `charset` are allowed). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "unsupported_media_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unsupported_media_type",
  "title": "Unsupported media type",
  "status": 415,
  "detail": "Send the body as application/json.",
  "code": "unsupported_media_type",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the catalog writer could not be reached or failed; the cause is logged, never shown. A write may nonetheless have been committed (it is then published within seconds): repeating a PUT is safe (it answers `unchanged` if it had been applied), a repeated DELETE may answer 404.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "misconfigured", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/misconfigured",
  "title": "Service misconfigured",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "misconfigured",
  "instance": "/admin/v1/products/prd_kettle1",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("ReportsServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the store's reports object (for low stock, the availability publisher) could not be reached or failed; the cause is logged, never shown.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/reports/sales",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminInventoryServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the SKU's stock Durable Object could not be reached or failed; the cause is logged, never shown. A write may nonetheless have been applied: retry it with the same `Idempotency-Key`, which answers `applied: false` if it had been (without a key, check the movement history before repeating an adjustment).\n- `catalog_unavailable`: the live catalog, which decides whether the SKU exists, could not be read; nothing was changed.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "catalog_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/catalog_unavailable",
  "title": "Catalog temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "catalog_unavailable",
  "instance": "/admin/v1/inventory/KTL-1-STEEL",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("CartPayloadTooLarge", Resp {
        description: "`payload_too_large`: the body (or, on line and coupon changes, its declared `Content-Length`) is larger than 64 KiB (65536 bytes). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "payload_too_large", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payload_too_large",
  "title": "Request body too large",
  "status": 413,
  "detail": "The body may be at most 65536 bytes.",
  "code": "payload_too_large",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("CartUnsupportedMediaTypeJson", Resp {
        description: "`unsupported_media_type`: the `Content-Type` is not `application/json` (parameters such as `charset` are allowed). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "unsupported_media_type", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/unsupported_media_type",
  "title": "Unsupported media type",
  "status": 415,
  "detail": "Send the body as application/json.",
  "code": "unsupported_media_type",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01/lines",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("CartServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the cart's Durable Object or a SKU's stock Durable Object could not be reached or failed; the cause is logged, never shown. A line change may nonetheless have been applied: read the cart (`GET /v1/carts/{id}`) before repeating an add. `PATCH` sets an absolute quantity and can be repeated; a repeated `DELETE` may answer 404 `line_not_found`. A coupon change may have been applied too: adding a code the cart already carries changes nothing, and removing every coupon can be repeated; a repeated removal of one code may answer 404 `coupon_not_found`.\n- `catalog_unavailable`: the live catalog, which prices the cart and decides which SKUs exist, could not be read or decoded and this edge holds no earlier copy.\n- `misconfigured`: the Worker's configuration is invalid (e.g. `CART_HOLD_TTL_MS` is not from 1000 to 86400000).",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Cart")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "catalog_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/catalog_unavailable",
  "title": "Catalog temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "catalog_unavailable",
  "instance": "/v1/carts/crt_5f0c3a9b1e2d4c6a8b7f9e01",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("StoreServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the store's Durable Object could not be reached or failed, or could not publish its display copy to Workers KV; the cause is logged, never shown. A write may nonetheless have been saved (a copy that could not be published is published by the next write): repeating a PUT is safe, a repeated DELETE may answer 404 `promotion_not_found`.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/store",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "misconfigured", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/misconfigured",
  "title": "Service misconfigured",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "misconfigured",
  "instance": "/admin/v1/store",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("AdminOrderServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the order's or the store's Durable Object could not be reached or failed; the cause is logged, never shown. A status change may nonetheless have been committed: read the order before repeating it (a change already applied answers 409 `illegal_transition`).\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/orders/ord_3b9d2f4a6c8e0a1b2c3d4e5f",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("MemberUnauthorized", Resp {
        description: "The member is not signed in; nothing was read. Codes:\n\n- `member_token_required`: no `Member-Token` header, or an empty one.\n- `invalid_member_token`: the token is not a JWT; is signed with an algorithm the store has no key for (HS256 needs the store's secret in `MEMBER_TOKEN_SECRETS`, ES256 the programme's `member_key`; `none` and every other algorithm are refused) or with another key; has no `exp` or has expired; is not valid yet (`nbf`); names another store in `aud`; or names no valid member id in `sub`. `detail` says which (60 seconds of clock skew are allowed either way).\n\nThe `WWW-Authenticate` header names the scheme.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points")), ("WWW-Authenticate", Hdr::Ref("WWW-Authenticate-Member"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "member_token_required", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/member_token_required",
  "title": "Member sign-in required",
  "status": 401,
  "detail": "Send the member token the store's site signed in the Member-Token header.",
  "code": "member_token_required",
  "instance": "/v1/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
            Example { name: "invalid_member_token", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/invalid_member_token",
  "title": "Member sign-in required",
  "status": 401,
  "detail": "The member token has expired.",
  "code": "invalid_member_token",
  "instance": "/v1/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("PointsPayloadTooLarge", Resp {
        description: "`payload_too_large`: the body (or its declared `Content-Length`) is larger than 4 KiB (4096 bytes). Nothing was changed.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "payload_too_large", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/payload_too_large",
  "title": "Request body too large",
  "status": 413,
  "detail": "The body may be at most 4096 bytes.",
  "code": "payload_too_large",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("PointsServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds; nothing was changed. Codes:\n\n- `storage_unavailable`: the member's ledger (a Durable Object) could not be reached or failed; the cause is logged, never shown.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret or a `DEV_MEMBER_SIGN_IN` other than `on` or `off`.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Points")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/v1/points",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
    ("PointsWriteServiceUnavailable", Resp {
        description: "Retry after `Retry-After` seconds. Codes:\n\n- `storage_unavailable`: the store's Durable Object (which holds the programme) or the member's ledger could not be reached or failed; the cause is logged, never shown. The change may nonetheless have been applied: retry with the same `Idempotency-Key` and body, which answers 200 with `replayed: true` if it was, and applies it if it was not.\n- `misconfigured`: the Worker's configuration is invalid, e.g. a malformed `ADMIN_TOKENS` secret.",
        headers: &[("Cache-Control", Hdr::Ref("Cache-Control-Admin")), ("Retry-After", Hdr::Ref("Retry-After"))],
        content: &[
        Content { media: "application/problem+json", schema: Named("Problem"), examples: &[
            Example { name: "storage_unavailable", summary: None, value: r#"{
  "type": "https://edgecart.dev/problems/storage_unavailable",
  "title": "Storage temporarily unavailable",
  "status": 503,
  "detail": "Please retry shortly.",
  "code": "storage_unavailable",
  "instance": "/admin/v1/members/m-1001/points/grants",
  "request_id": "4f1c9a0b2d3e4f5a6b7c8d9e"
}"# },
        ] },
    ],
    }),
];
