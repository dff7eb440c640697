//! Named string schemas of the HTTP API (ids, codes, slugs) for the
//! OpenAPI document: the shapes the parsers in this crate accept, as JSON
//! Schema. Only with the `openapi` feature (native; never in the wasm
//! build). Fields and parameters name them with `#[schemars(with = ...)]`.

use schemars::JsonSchema;

/// An ISO 4217 alphabetic currency code, upper case. The currencies the shop
/// knows are AUD, CAD, CHF, EUR, GBP, JPY, USD; a catalog is priced in some of
/// them.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["USD", "EUR"]))]
pub struct CurrencyCode(#[schemars(regex(pattern = r"^[A-Z]{3}$"))] pub String);

/// A name people read (a store's, a skin's): 1 to 80 characters, not
/// blank, without control characters.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["Harbour Bank Rewards"]))]
pub struct DisplayName(
    #[schemars(
        length(min = 1, max = 80),
        regex(
            pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
        )
    )]
    pub String,
);

/// A text a page shows (a store's headline, its footer): at most 500
/// characters, without control characters.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["Spend your points on things you love."]))]
pub struct PageText(
    #[schemars(
        length(max = 500),
        regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub String,
);

/// A product id: `prd_` followed by 1 to 40 lowercase letters or digits. Ids
/// contain an underscore and slugs never do, so one path segment can name
/// either.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["prd_00042"]))]
pub struct ProductId(
    #[schemars(regex(pattern = r"^prd_[a-z0-9]{1,40}$"), length(max = 44))] pub String,
);

/// A slug: lowercase words of ASCII letters and digits joined by single
/// hyphens, at most 120 characters.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["classic-ethiopian-coffee-beans"]))]
pub struct Slug(
    #[schemars(
        regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"),
        length(min = 1, max = 120)
    )]
    pub String,
);

/// A stock-keeping unit: 1 to 64 uppercase ASCII letters, digits or hyphens,
/// starting with a letter or digit. Unique across the catalog.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["CT-00042-1"]))]
pub struct Sku(
    #[schemars(regex(pattern = r"^[A-Z0-9][A-Z0-9-]*$"), length(min = 1, max = 64))] pub String,
);

/// A cart id: `crt_` followed by 24 random lowercase hex digits.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["crt_5f0c3a9b1e2d4c6a8b7f9e01"]))]
pub struct CartId(#[schemars(regex(pattern = r"^crt_[0-9a-f]{24}$"))] pub String);

/// A cart's secret token: 48 random lowercase hex digits. Send it as
/// `Authorization: Bearer <token>` (security scheme `cartToken`).
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["9c1e4b7a2d5f8e0b3a6c9d2e5f8a1b4c7d0e3f6a9b2c5d8e"]))]
pub struct CartToken(#[schemars(regex(pattern = r"^[0-9a-f]{48}$"))] pub String);

/// An ISO 3166-1 alpha-2 country code in uppercase: two ASCII letters (`US`,
/// `DE`). Only the shape is checked, not the ISO list.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["US", "DE"]))]
pub struct CountryCode(#[schemars(regex(pattern = r"^[A-Z]{2}$"))] pub String);

/// A promotion id: 1 to 64 lowercase ASCII letters, digits, `-` or `_`, chosen
/// by the merchant.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["save10"]))]
pub struct PromotionId(#[schemars(regex(pattern = r"^[a-z0-9_-]{1,64}$"))] pub String);

/// A coupon code as stored: 3 to 32 uppercase ASCII letters, digits or hyphens.
/// Codes are entered in any case and with surrounding spaces; they are trimmed
/// and uppercased (`" save10 "` is `SAVE10`).
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["SAVE10"]))]
pub struct CouponCode(#[schemars(regex(pattern = r"^[A-Z0-9-]{3,32}$"))] pub String);

/// An order id: `ord_` followed by 24 random lowercase hex digits, chosen by
/// checkout.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["ord_3b9d2f4a6c8e0a1b2c3d4e5f"]))]
pub struct OrderId(#[schemars(regex(pattern = r"^ord_[0-9a-f]{24}$"))] pub String);

/// An order's secret token: 48 random lowercase hex digits, answered once by
/// checkout (and by replays of that answer). Send it as `Authorization: Bearer
/// <order_token>` (security scheme `orderToken`) to read the order.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["7e2a9c4f1b8d3e6a0c5f2b9d4e7a1c3f6b8d0e2a5c7f9b1d"]))]
pub struct OrderToken(#[schemars(regex(pattern = r"^[0-9a-f]{48}$"))] pub String);

/// A [`Currency`](crate::money::Currency) is written as its code.
impl JsonSchema for crate::money::Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        CurrencyCode::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        CurrencyCode::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        CurrencyCode::json_schema(generator)
    }
}

/// A member id, as the operator's member token names it (`sub`): 1 to 64
/// ASCII letters, digits, `.`, `_`, `-`, `@` or `+`.
#[derive(JsonSchema)]
#[schemars(extend("examples" = ["m-1001"]))]
pub struct MemberId(#[schemars(regex(pattern = r"^[A-Za-z0-9._@+-]{1,64}$"))] pub String);
