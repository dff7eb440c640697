// A local fake of the parts of Stripe's API that Edgecart's Stripe adapter
// uses: PaymentIntents (create confirmed, retrieve, search, capture, cancel),
// Refunds, Charges and Disputes (retrieve), in Stripe's wire format
// (form-encoded requests with nested `a[b]=c` keys, JSON responses,
// Stripe-shaped errors), with Stripe's idempotency-key semantics, and
// Events sent to a webhook endpoint signed as Stripe signs them. It listens
// on 127.0.0.1 only and keeps everything in memory, so tests can count the
// charges a scenario made.
//
//   import { startFakeStripe } from '../fakes/stripe.mjs';
//   const stripe = await startFakeStripe();          // { url, stop, charges, ... }
//   // options: port (0), secretKey ('sk_test_fake', or an array of keys),
//   //          webhook: {url, secret} (none)
//
//   node tests/fakes/stripe.mjs --port 12111 [--secret-key sk_test_x]
//        [--webhook-url http://127.0.0.1:8787/webhooks/stripe --webhook-secret whsec_x]
//   -> prints `READY http://127.0.0.1:12111`, stops on SIGTERM/SIGINT.
//
// Outcomes follow Stripe's test PaymentMethod ids: pm_card_visa and
// pm_card_mastercard succeed; these are declined (402 card_error, code
// card_declined, the decline_code in brackets): pm_card_chargeDeclined
// (generic_decline), pm_card_chargeDeclinedInsufficientFunds
// (insufficient_funds), pm_card_chargeDeclinedLostCard (lost_card),
// pm_card_chargeDeclinedStolenCard (stolen_card; both also as Stripe's
// pm_card_visa_chargeDeclined… spelling), pm_card_chargeDeclinedFraudulent
// (fraudulent); pm_card_chargeDeclinedIncorrectCvc is 402 with code and
// decline_code incorrect_cvc. pm_card_threeDSecure2Required answers 200 with
// the intent in `requires_action` (next_action use_stripe_sdk, a 3D Secure 2
// challenge) and pm_card_processing (not a Stripe id) 200 in `processing`;
// both wait for the control API (authenticate, settle) or a cancel. With
// capture_method=manual a card that authorizes leaves the intent in
// `requires_capture`. Anything else is `No such PaymentMethod` (400
// resource_missing).
//
// Each create makes the intent's `latest_charge`, a Charge (GET
// /v1/charges/{id}) with the intent's amount, currency and a copy of its
// metadata: `pending` while the intent waits, `failed` when declined,
// `succeeded` (paid) once authorized; amount_captured, amount_refunded,
// refunded (fully) and disputed follow captures, refunds and disputes.
// Canceling an intent held for capture releases its charge (refunded, as
// Stripe shows it); a partial capture does not refund the rest here.
//
// GET /v1/payment_intents/search?query=metadata['KEY']:'VALUE' (double
// quotes too, `\` escapes quotes) answers Stripe's search_result, newest
// first, `limit` (default 10, at most 100) per page with `page` = the
// previous next_page; unlike Stripe's, results are up to date at once. Any
// other query is 400 invalid_request_error (param query): this fake speaks
// exactly that one clause of Stripe's query language.
//
// Modes (setMode, sampled when a request arrives): 'normal'; 'down' answers
// every Stripe request 503 api_error; 'slow' does the work at once but holds
// the answer back 10 s (the idempotency key stays "in use" meanwhile, so a
// concurrent retry with it gets 409 idempotency_key_in_use); 'lagging' holds
// it back 1.5 s (a payment in flight that still answers in time);
// 'mismatch' answers PaymentIntent creates and retrieves (idempotent replays
// included) with `amount` + 1 and a non-zero `amount_received` + 1 in the
// JSON body only: the intent stays as it was, and so does the body saved
// for replays, which a later request out of 'mismatch' gets unaltered.
//
// charges() lists the PaymentIntents that reached `succeeded`, in that
// order, as they are now; refunds() the Refunds, in order; intent(id) one
// live PaymentIntent. requests() lists every Stripe request (never the
// control API's) with its method, path, idempotency key, headers
// (lower-cased names → values, the Authorization header included as sent:
// the keys are fake), parsed form, answer status and whether it was an
// idempotent replay.
//
// Events: every state change records an Event (evt_…, api_version
// 2024-06-20, livemode false, pending_webhooks 1, request {id,
// idempotency_key} of the Stripe request that made it, both null for the
// control API's, data.object a snapshot of the object then), as Stripe
// names them: payment_intent.created, .requires_action, .processing,
// .amount_capturable_updated (authorized, capture_method=manual),
// .succeeded, .payment_failed (declines too), .canceled; charge.pending,
// .succeeded, .failed, .captured, .refunded (the Charge after the refund),
// charge.dispute.created (the Dispute). A create records them in Stripe's
// order: payment_intent.created, then charge.*, then payment_intent.*.
//
// Webhooks: with an endpoint set (startFakeStripe({webhook: {url, secret}}),
// setWebhook, POST /__fake/webhook or --webhook-url/--webhook-secret; http://
// only), each event is POSTed to it as its JSON (Content-Type
// application/json; charset=utf-8, User-Agent Stripe/1.0
// (+https://stripe.com/docs/webhooks)) with `Stripe-Signature:
// t=<unix s>,v1=<hex HMAC-SHA256 keyed by the secret of "<t>.<body>">`
// (exported as stripeSignature(body, secret, t)). Delivery never holds an
// answer back and is not ordered; a network error, a timeout (5 s) or a
// non-2xx answer is retried after 0.5, 1, 2 and 4 s (5 attempts in all)
// while the fake runs and the endpoint is not set again (setting it drops
// deliveries still waiting). stop() cancels it all.
// events() lists {id, type, object_id, created, deliveries: [{at (ISO
// time), status (HTTP status, null on a network error), signature_ok,
// resend}]}. resend({ids (all), order: 'as_is' | 'reverse' | 'shuffle',
// times: 1–5 rounds, tamper: false}) sends those events again now, one
// after another, each once (no retries), same ids and bodies with a fresh
// signature (made with a wrong secret when `tamper`, and recorded
// signature_ok false), and resolves to [{id, status}] in the order sent.
// waitForDeliveries() resolves when no delivery is under way or waiting for
// a retry, and rejects after 10 s.
//
// Not Stripe: a control API under /__fake/ (no auth, never recorded, not
// affected by modes) for tests running in another process than the one that
// started the fake. Bodies are JSON (or a form, `mode=down`); a refusal is
// 4xx {"error": {"type", "code"?, "message"}}.
//   GET  /__fake/charges, /__fake/refunds, /__fake/requests   charges(), refunds(), requests()
//   GET  /__fake/mode; POST /__fake/mode {"mode":"down"}      setMode
//   GET  /__fake/intents/{id}                                 intent(id): the live PaymentIntent
//   POST /__fake/intents/{id}/authenticate {"result":"succeed"|"fail"}
//        authenticate(id, result): the 3D Secure challenge of an intent in
//        requires_action; succeed authorizes it (succeeded, or
//        requires_capture when capture_method=manual), fail leaves it in
//        requires_payment_method with last_payment_error card_error
//        payment_intent_authentication_failure and payment_method null
//   POST /__fake/intents/{id}/settle {"result":"succeed"|"fail"}
//        settle(id, result): an intent in processing; succeed authorizes it,
//        fail declines it (card_declined / generic_decline)
//   POST /__fake/intents/{id}/dispute {"reason":"fraudulent"}
//        dispute(id, reason = 'fraudulent'): a Dispute (needs_response) on
//        the charge of a succeeded intent, then GET /v1/disputes/{id}; the
//        charge is `disputed` and refunding it is 400 charge_disputed
//   GET  /__fake/webhook; POST /__fake/webhook {"url","secret"} setWebhook({url, secret})
//   GET  /__fake/events                                       events()
//   POST /__fake/events/resend {"ids"?,"order"?,"times"?,"tamper"?}  resend(opts)
//   GET  /__fake/events/wait  (200, or 504 after 10 s)        waitForDeliveries()
// An intent in another status is 400 payment_intent_unexpected_state, an
// unknown one 404. `fakeStripeControl(url)` wraps it all with the same
// methods as startFakeStripe (async; a refusal rejects with `status`).
import { createHmac, randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const SLOW_DELAY_MS = 10_000;
const LAG_MS = 1_500;
const API_VERSION = '2024-06-20';
/** Waits before the 2nd…5th attempt of a webhook delivery: 5 attempts in all. */
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000];
const DELIVERY_TIMEOUT_MS = 5_000;
const WAIT_FOR_DELIVERIES_MS = 10_000;
const MAX_RESEND_TIMES = 5;
const RESEND_ORDERS = ['as_is', 'reverse', 'shuffle'];
const NO_REQUEST = Object.freeze({ id: null, idempotency_key: null });
const MODES = ['normal', 'down', 'slow', 'lagging', 'mismatch'];
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Stripe's largest amount for most currencies: eight digits in minor units. */
const MAX_AMOUNT = 99_999_999;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * Stripe's test PaymentMethods this fake knows, and what confirming one does:
 * `decline` answers 402 card_error (`code` card_declined unless given),
 * `outcome` leaves the PaymentIntent waiting (requires_action, processing).
 */
const PAYMENT_METHODS = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    decline: { decline_code: 'generic_decline', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    decline: { decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  },
  pm_card_chargeDeclinedLostCard: {
    brand: 'visa',
    last4: '9987',
    decline: { decline_code: 'lost_card', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: 'visa',
    last4: '9979',
    decline: { decline_code: 'stolen_card', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedFraudulent: {
    brand: 'visa',
    last4: '0019',
    decline: { decline_code: 'fraudulent', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: 'visa',
    last4: '0127',
    decline: { code: 'incorrect_cvc', decline_code: 'incorrect_cvc', param: 'cvc', message: "Your card's security code is incorrect." },
  },
  pm_card_threeDSecure2Required: { brand: 'visa', last4: '3220', outcome: 'requires_action' },
  // Not a Stripe id: a card payment that stays `processing` until settled.
  pm_card_processing: { brand: 'visa', last4: '0077', outcome: 'processing' },
};
// Stripe's documented ids for these two carry `_visa_`; both spellings work.
PAYMENT_METHODS.pm_card_visa_chargeDeclinedLostCard = PAYMENT_METHODS.pm_card_chargeDeclinedLostCard;
PAYMENT_METHODS.pm_card_visa_chargeDeclinedStolenCard = PAYMENT_METHODS.pm_card_chargeDeclinedStolenCard;

/** The PaymentMethod object Stripe nests in errors and `last_payment_error`. */
function paymentMethodObject(id) {
  const pm = PAYMENT_METHODS[id];
  return { id, object: 'payment_method', card: { brand: pm.brand, last4: pm.last4 }, type: 'card' };
}

/** Parameters Stripe accepts on each endpoint; anything else is `parameter_unknown`. */
const PARAMS = {
  createIntent: new Set([
    'amount', 'currency', 'payment_method', 'confirm', 'capture_method', 'metadata', 'description',
    'automatic_payment_methods', 'payment_method_types', 'payment_method_options', 'customer',
    'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix', 'return_url',
    'off_session', 'setup_future_usage', 'shipping', 'error_on_requires_action',
    'confirmation_method', 'use_stripe_sdk', 'mandate_data', 'transfer_group', 'on_behalf_of',
    'application_fee_amount', 'transfer_data', 'radar_options', 'payment_method_configuration',
    'expand',
  ]),
  capture: new Set(['amount_to_capture', 'metadata', 'application_fee_amount', 'statement_descriptor',
    'statement_descriptor_suffix', 'final_capture', 'expand']),
  cancel: new Set(['cancellation_reason', 'expand']),
  createRefund: new Set(['payment_intent', 'charge', 'amount', 'metadata', 'reason', 'expand',
    'instructions_email', 'refund_application_fee', 'reverse_transfer', 'origin']),
  retrieve: new Set(['expand', 'client_secret']),
  search: new Set(['query', 'limit', 'page', 'expand']),
};

const CAPTURE_METHODS = ['automatic', 'automatic_async', 'manual'];
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];
const DISPUTE_REASONS = ['bank_cannot_process', 'check_returned', 'credit_not_processed', 'customer_initiated',
  'debit_not_authorized', 'duplicate', 'fraudulent', 'general', 'incorrect_account_details', 'insufficient_funds',
  'product_not_received', 'product_unacceptable', 'subscription_canceled', 'unrecognized'];
const AUTHENTICATION_FAILURE = 'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';
const CANCELABLE = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];

/** `prefix_` followed by `n` random alphanumerics. */
function newId(prefix, n = 24) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[randomInt(ALNUM.length)];
  return `${prefix}_${s}`;
}

const now = () => Math.floor(Date.now() / 1000);
const clone = (v) => structuredClone(v);

/** A refusal of the control API (not Stripe): HTTP status, message, optional code. */
class ControlError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A thrown Stripe error: HTTP status plus the `error` object of the body. */
class StripeError extends Error {
  constructor(status, error, { save = true } = {}) {
    super(error.message);
    this.status = status;
    this.error = error;
    // Stripe saves an idempotent result only once the endpoint started
    // executing: not for auth failures, failed parameter validation or
    // conflicts with a concurrent request.
    this.save = save;
  }
}

function withDocUrl(error) {
  return error.code ? { ...error, doc_url: `https://stripe.com/docs/error-codes/${error.code.replace(/_/g, '-')}` } : error;
}

const invalid = (error, opts) =>
  new StripeError(400, withDocUrl({ type: 'invalid_request_error', ...error }), opts);
/** A parameter validation failure: 400, never saved for idempotency. */
const paramError = (error) => invalid(error, { save: false });
const missing = (param) =>
  paramError({ code: 'parameter_missing', param, message: `Missing required param: ${param}.` });

// ---------------------------------------------------------------- form body

/**
 * Parses an application/x-www-form-urlencoded body the way Stripe does:
 * `metadata[order_id]=1` → {metadata: {order_id: '1'}}, `expand[]=a&expand[]=b`
 * and `items[0][price]=x` → arrays. Values stay strings.
 */
export function parseStripeForm(text) {
  const root = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const segs = m ? [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])] : [rawKey];
    let cur = root;
    for (let i = 0; i < segs.length; i++) {
      const last = i === segs.length - 1;
      let seg = segs[i];
      if (Array.isArray(cur)) {
        if (seg === '') seg = cur.length;
        else if (/^\d+$/.test(seg)) seg = Number(seg);
        else throw paramError({ param: rawKey, message: `Invalid array: ${rawKey}` });
      } else if (seg === '') {
        throw paramError({ param: rawKey, message: `Invalid hash: ${rawKey}` });
      }
      if (last) {
        if (cur[seg] !== undefined && typeof cur[seg] === 'object') {
          throw paramError({ param: rawKey, message: `Invalid value for ${rawKey}: conflicting nested and scalar values.` });
        }
        cur[seg] = value;
      } else {
        const nextIsArray = segs[i + 1] === '' || /^\d+$/.test(segs[i + 1]);
        if (cur[seg] === undefined) cur[seg] = nextIsArray ? [] : {};
        else if (typeof cur[seg] !== 'object' || Array.isArray(cur[seg]) !== nextIsArray) {
          throw paramError({ param: rawKey, message: `Invalid value for ${rawKey}: conflicting nested and scalar values.` });
        }
        cur = cur[seg];
      }
    }
  }
  return root;
}

/** Canonical JSON (object keys sorted) to compare parameters of two requests. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

// ---------------------------------------------------------------- webhooks

/** Stripe's `Stripe-Signature` header for `body` sent at unix time `t`. */
export function stripeSignature(body, secret, t = Math.floor(Date.now() / 1000)) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')}`;
}

/** A shuffled copy (Fisher–Yates). */
function shuffled(list) {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The endpoint `{url, secret}` to send events to, checked; null turns webhooks off. */
function webhookEndpoint(config) {
  if (config == null || config.url == null) return null;
  let url;
  try {
    url = new URL(config.url);
  } catch {
    throw new ControlError(400, `Invalid webhook url: ${config.url}`, 'parameter_invalid');
  }
  if (url.protocol !== 'http:') throw new ControlError(400, `The webhook url must be http:// (this fake does not speak TLS): ${config.url}`, 'parameter_invalid');
  if (typeof config.secret !== 'string' || config.secret === '') {
    throw new ControlError(400, 'A webhook needs a signing secret (whsec_…).', 'parameter_missing');
  }
  return Object.freeze({ url: url.href, secret: config.secret });
}

// ---------------------------------------------------------------- validation

function rejectUnknown(form, allowed) {
  for (const k of Object.keys(form)) {
    if (!allowed.has(k)) throw paramError({ code: 'parameter_unknown', param: k, message: `Received unknown parameter: ${k}` });
  }
}

function integerParam(form, param, { required = false, min = 1 } = {}) {
  const v = form[param];
  if (v === undefined || v === '') {
    if (required) throw missing(param);
    return undefined;
  }
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) {
    throw paramError({ code: 'parameter_invalid_integer', param, message: `Invalid integer: ${typeof v === 'string' ? v : JSON.stringify(v)}` });
  }
  const n = Number(v);
  if (n < min) {
    throw paramError({ code: 'parameter_invalid_integer', param, message: `This value must be greater than or equal to ${min}.` });
  }
  if (n > MAX_AMOUNT) {
    throw paramError({ code: 'amount_too_large', param, message: `Amount must be no more than ${MAX_AMOUNT}.` });
  }
  return n;
}

function stringParam(form, param, { required = false, oneOf } = {}) {
  const v = form[param];
  if (v === undefined || v === '') {
    if (required) throw missing(param);
    return undefined;
  }
  if (typeof v !== 'string') throw paramError({ param, message: `Invalid string: ${JSON.stringify(v)}` });
  if (oneOf && !oneOf.includes(v)) {
    throw paramError({ param, message: `Invalid ${param}: must be one of ${oneOf.join(', ')}` });
  }
  return v;
}

function booleanParam(form, param) {
  const v = form[param];
  if (v === undefined || v === '') return undefined;
  if (v !== 'true' && v !== 'false') throw paramError({ param, message: `Invalid boolean: ${typeof v === 'string' ? v : JSON.stringify(v)}` });
  return v === 'true';
}

function metadataParam(form) {
  const v = form.metadata;
  if (v === undefined || v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw paramError({ param: 'metadata', message: 'Invalid object' });
  }
  const keys = Object.keys(v);
  if (keys.length > 50) throw paramError({ param: 'metadata', message: 'You can specify up to 50 metadata keys.' });
  for (const k of keys) {
    if (typeof v[k] !== 'string') throw paramError({ param: `metadata[${k}]`, message: 'Invalid string' });
    if (k.length > 40) throw paramError({ param: `metadata[${k}]`, message: 'Metadata keys can be at most 40 characters long.' });
    if (v[k].length > 500) throw paramError({ param: `metadata[${k}]`, message: 'Metadata values can be at most 500 characters long.' });
  }
  // Stripe drops keys set to the empty string.
  return Object.fromEntries(keys.filter((k) => v[k] !== '').map((k) => [k, v[k]]));
}

// ---------------------------------------------------------------- search

const QUOTED = String.raw`(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")`;
const METADATA_QUERY = new RegExp(String.raw`^\s*metadata\[${QUOTED}\]:${QUOTED}\s*$`);
const SEARCH_FIELDS = ['amount', 'created', 'currency', 'customer', 'metadata', 'status'];

/**
 * Stripe's search query language, as far as this fake speaks it: exactly
 * `metadata['KEY']:'VALUE'` (either quote, `\` escapes) → {key, value}.
 */
function parseSearchQuery(query) {
  const m = METADATA_QUERY.exec(query);
  const unescape = (s) => s.replace(/\\(.)/g, '$1');
  if (m) return { key: unescape(m[1] ?? m[2]), value: unescape(m[3] ?? m[4]) };
  const field = /^\s*([A-Za-z_][\w.]*)/.exec(query)?.[1];
  if (field && !SEARCH_FIELDS.includes(field.split('.')[0])) {
    throw paramError({ param: 'query', message: `Field \`${field}\` is an unsupported search field for resource \`payment_intents\`. See https://stripe.com/docs/search#query-fields-for-payment-intents for a list of supported fields.` });
  }
  throw paramError({ param: 'query', message: `Invalid search query: ${query}. This fake supports exactly metadata['KEY']:'VALUE' (one clause, either quote).` });
}

// ---------------------------------------------------------------- the server

/**
 * Starts the fake on 127.0.0.1. `secretKey` may also be an array of keys
 * (separate "accounts": idempotency keys are scoped per API key).
 */
export async function startFakeStripe({ port = 0, secretKey = 'sk_test_fake', webhook: webhookConfig = null } = {}) {
  const secretKeys = new Set(Array.isArray(secretKey) ? secretKey : [secretKey]);
  let mode = 'normal';
  let webhook = webhookEndpoint(webhookConfig); // {url, secret} or null
  const intents = new Map(); // id → PaymentIntent (live object)
  const refundsById = new Map(); // id → Refund
  const chargesById = new Map(); // id → Charge (live object), one per attempted PaymentIntent
  const disputesById = new Map(); // id → Dispute
  const succeeded = []; // PaymentIntent ids, in the order they succeeded
  const refundLog = []; // Refund ids, in creation order
  const requestLog = [];
  /** `${apiKey}\n${idempotencyKey}` → {method, path, params, state, status?, body?, requestId?} */
  const idempotency = new Map();
  const sockets = new Set();
  const pendingDelays = new Set();
  let stopped = false;

  const delay = (ms) =>
    new Promise((resolve) => {
      const entry = { resolve };
      entry.timer = setTimeout(() => {
        pendingDelays.delete(entry);
        resolve();
      }, ms);
      pendingDelays.add(entry);
    });

  // ------------------------------------------------------------ events and webhooks

  const eventLog = []; // {event, body, deliveries}, in creation order
  const eventsById = new Map();
  const deliveryTimers = new Set(); // first attempts and retries not yet started
  const inflight = new Set(); // http.ClientRequest of attempts under way
  const idleWaiters = new Set(); // waitForDeliveries() callers
  /** The Stripe request whose handler runs now (handlers are synchronous). */
  let requestContext = NO_REQUEST;

  function runHandler(handler, form, context) {
    requestContext = context;
    try {
      return handler(form);
    } finally {
      requestContext = NO_REQUEST;
    }
  }

  /** Records an Event with a snapshot of `object` and sends it to the webhook, if any. */
  function emit(type, object) {
    const event = {
      id: newId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: now(),
      data: { object: clone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { ...requestContext },
      type,
    };
    const record = { event, body: JSON.stringify(event, null, 2), deliveries: [] };
    eventLog.push(record);
    eventsById.set(event.id, record);
    if (webhook && !stopped) scheduleAttempt(record, webhook, 1, 0);
  }

  const isIdle = () => deliveryTimers.size === 0 && inflight.size === 0;

  function settleWaiters() {
    if (!isIdle()) return;
    for (const w of idleWaiters) {
      clearTimeout(w.timer);
      w.resolve();
    }
    idleWaiters.clear();
  }

  /** POSTs an event once, signed (with a wrong key when `tamper`); its HTTP status, or null. */
  function deliver(record, endpoint, { tamper = false, resend = false } = {}) {
    const signature = stripeSignature(record.body, tamper ? `${endpoint.secret}_not_it` : endpoint.secret);
    const delivery = { at: new Date().toISOString(), status: null, signature_ok: !tamper, resend };
    record.deliveries.push(delivery);
    return new Promise((resolve) => {
      const req = http.request(endpoint.url, {
        method: 'POST',
        agent: false,
        timeout: DELIVERY_TIMEOUT_MS,
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': Buffer.byteLength(record.body),
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'Cache-Control': 'no-cache',
          Accept: '*/*; q=0.5, application/xml',
          'Stripe-Signature': signature,
        },
      });
      inflight.add(req);
      req.on('response', (res) => {
        delivery.status = res.statusCode;
        res.on('error', () => {});
        res.resume();
      });
      req.on('timeout', () => req.destroy(new Error('webhook delivery timed out')));
      req.on('error', () => {}); // a network error: the status stays null
      // 'close' ends every attempt: answered, failed, timed out or cut by stop().
      req.on('close', () => {
        inflight.delete(req);
        resolve(delivery.status);
      });
      req.end(record.body);
    });
  }

  /** Attempt `attempt` (1–5) of an event's automatic delivery, `ms` from now. */
  function scheduleAttempt(record, endpoint, attempt, ms) {
    const timer = setTimeout(async () => {
      deliveryTimers.delete(timer);
      const status = await deliver(record, endpoint);
      const failed = status === null || status < 200 || status > 299;
      // Retries stop with the fake, and when the endpoint is replaced.
      if (failed && attempt <= RETRY_DELAYS_MS.length && !stopped && webhook === endpoint) {
        scheduleAttempt(record, endpoint, attempt + 1, RETRY_DELAYS_MS[attempt - 1]);
      }
      settleWaiters();
    }, ms);
    deliveryTimers.add(timer);
  }

  function cancelDeliveries({ inFlight }) {
    for (const t of deliveryTimers) clearTimeout(t);
    deliveryTimers.clear();
    if (inFlight) {
      for (const req of inflight) req.destroy();
      inflight.clear();
    }
    settleWaiters();
  }

  function setWebhook(config) {
    const next = webhookEndpoint(config);
    // The old endpoint's deliveries not yet attempted, or waiting for a retry, are dropped.
    cancelDeliveries({ inFlight: false });
    webhook = next;
    return { url: webhook?.url ?? null, secret: webhook?.secret ?? null };
  }

  /** Sends events again now, one after the other, each attempted once. */
  async function resendEvents({ ids, order = 'as_is', times = 1, tamper = false } = {}) {
    const endpoint = webhook;
    if (!endpoint) throw new ControlError(400, 'No webhook endpoint is set (setWebhook, POST /__fake/webhook).', 'webhook_missing');
    if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) {
      throw new ControlError(400, 'ids must be an array of event ids.', 'parameter_invalid');
    }
    const unknown = (ids ?? []).find((id) => !eventsById.has(id));
    if (unknown) throw new ControlError(404, `No such event: '${unknown}'`, 'resource_missing');
    if (!RESEND_ORDERS.includes(order)) throw new ControlError(400, `order must be one of ${RESEND_ORDERS.join(', ')}`, 'parameter_invalid');
    if (!Number.isInteger(times) || times < 1 || times > MAX_RESEND_TIMES) {
      throw new ControlError(400, `times must be an integer from 1 to ${MAX_RESEND_TIMES}`, 'parameter_invalid');
    }
    if (typeof tamper !== 'boolean') throw new ControlError(400, 'tamper must be a boolean', 'parameter_invalid');
    const chosen = ids ? ids.map((id) => eventsById.get(id)) : [...eventLog];
    const results = [];
    for (let round = 0; round < times; round++) {
      const list = order === 'reverse' ? [...chosen].reverse() : order === 'shuffle' ? shuffled(chosen) : chosen;
      for (const record of list) {
        if (stopped) return results;
        results.push({ id: record.event.id, status: await deliver(record, endpoint, { tamper, resend: true }) });
      }
    }
    settleWaiters();
    return results;
  }

  function waitForDeliveries() {
    if (isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { resolve };
      waiter.timer = setTimeout(() => {
        idleWaiters.delete(waiter);
        reject(new Error(`fake Stripe: webhook deliveries still pending after ${WAIT_FOR_DELIVERIES_MS / 1000} s`));
      }, WAIT_FOR_DELIVERIES_MS);
      idleWaiters.add(waiter);
    });
  }

  const eventSummary = ({ event, deliveries }) => ({
    id: event.id,
    type: event.type,
    object_id: event.data.object.id,
    created: event.created,
    deliveries: clone(deliveries),
  });

  // ------------------------------------------------------------ endpoints

  function intentOrThrow(id) {
    const pi = intents.get(id);
    if (!pi) {
      throw new StripeError(404, withDocUrl({
        type: 'invalid_request_error', code: 'resource_missing', param: 'intent',
        message: `No such payment_intent: '${id}'`,
      }));
    }
    return pi;
  }

  const chargeOf = (pi) => chargesById.get(pi.latest_charge);

  /** The Charge of a confirmation attempt, pending until it succeeds or fails. */
  function newCharge(pi) {
    const pm = PAYMENT_METHODS[pi.payment_method];
    const charge = {
      id: pi.latest_charge,
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      created: pi.created,
      currency: pi.currency,
      description: pi.description,
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: clone(pi.metadata),
      paid: false,
      payment_intent: pi.id,
      payment_method: pi.payment_method,
      payment_method_details: { card: { brand: pm.brand, last4: pm.last4 }, type: 'card' },
      refunded: false,
      status: 'pending',
    };
    chargesById.set(charge.id, charge);
    return charge;
  }

  /** Captures `amountReceived`: the intent and its charge succeed. */
  function succeed(pi, amountReceived) {
    pi.status = 'succeeded';
    pi.amount_received = amountReceived;
    pi.amount_capturable = 0;
    pi.next_action = null;
    Object.assign(chargeOf(pi), { status: 'succeeded', paid: true, captured: true, amount_captured: amountReceived });
    succeeded.push(pi.id);
  }

  /** The card was authorized: captured at once, or held for a manual capture. */
  function authorize(pi) {
    if (pi.capture_method === 'manual') {
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      pi.next_action = null;
      emit('charge.succeeded', Object.assign(chargeOf(pi), { status: 'succeeded', paid: true }));
      emit('payment_intent.amount_capturable_updated', pi);
    } else {
      succeed(pi, pi.amount);
      emit('charge.succeeded', chargeOf(pi));
      emit('payment_intent.succeeded', pi);
    }
  }

  /**
   * The attempt failed with `error` (a card_error without payment_method):
   * the intent wants a new PaymentMethod, its charge failed.
   */
  function fail(pi, error) {
    pi.last_payment_error = { ...error, payment_method: paymentMethodObject(pi.payment_method) };
    pi.payment_method = null; // Stripe detaches the failed method from the intent
    pi.status = 'requires_payment_method';
    pi.next_action = null;
    Object.assign(chargeOf(pi), { status: 'failed', paid: false, failure_code: error.code, failure_message: error.message });
    emit('charge.failed', chargeOf(pi));
    emit('payment_intent.payment_failed', pi);
  }

  /** What Stripe answers for a 3D Secure 2 card: the SDK drives the challenge. */
  function threeDSecureAction(pi) {
    const source = newId('src');
    return {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_fake&payment_intent=${pi.id}&source=${source}`,
        source,
      },
    };
  }

  function createIntent(form) {
    rejectUnknown(form, PARAMS.createIntent);
    const amount = integerParam(form, 'amount', { required: true });
    const currencyRaw = stringParam(form, 'currency', { required: true });
    if (!/^[a-z]{3}$/.test(currencyRaw)) {
      throw paramError({ param: 'currency', message: `Invalid currency: ${currencyRaw}. Currencies are three-letter ISO codes, in lowercase.` });
    }
    const paymentMethod = stringParam(form, 'payment_method', { required: true });
    const confirm = booleanParam(form, 'confirm');
    if (confirm === undefined) throw missing('confirm');
    if (!confirm) {
      throw paramError({ param: 'confirm', message: 'This fake only supports creating PaymentIntents with confirm=true.' });
    }
    const captureMethod = stringParam(form, 'capture_method', { oneOf: CAPTURE_METHODS }) ?? 'automatic';
    const description = stringParam(form, 'description') ?? null;
    const metadata = metadataParam(form);
    booleanParam(form, 'off_session');

    const pm = PAYMENT_METHODS[paymentMethod];
    if (!pm) {
      throw invalid({ code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${paymentMethod}'` });
    }
    const id = newId('pi');
    const pi = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      amount_refunded: 0,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${newId('x', 25).slice(2)}`,
      confirmation_method: 'automatic',
      created: now(),
      currency: currencyRaw,
      description,
      last_payment_error: null,
      latest_charge: newId('ch'),
      livemode: false,
      metadata,
      next_action: null,
      payment_method: paymentMethod,
      payment_method_types: ['card'],
      status: 'requires_payment_method',
    };
    intents.set(id, pi);
    newCharge(pi);
    emit('payment_intent.created', pi);
    if (pm.decline) {
      const { code = 'card_declined', ...rest } = pm.decline;
      const error = withDocUrl({ type: 'card_error', code, ...rest, charge: pi.latest_charge });
      fail(pi, error);
      throw new StripeError(402, { ...error, payment_intent: clone(pi), payment_method: paymentMethodObject(paymentMethod) });
    }
    if (pm.outcome === 'requires_action') {
      pi.status = 'requires_action';
      pi.next_action = threeDSecureAction(pi);
      emit('payment_intent.requires_action', pi);
    } else if (pm.outcome === 'processing') {
      pi.status = 'processing';
      emit('charge.pending', chargeOf(pi));
      emit('payment_intent.processing', pi);
    } else {
      authorize(pi);
    }
    return [200, pi];
  }

  function captureIntent(id, form) {
    rejectUnknown(form, PARAMS.capture);
    const pi = intentOrThrow(id);
    const toCapture = integerParam(form, 'amount_to_capture') ?? pi.amount_capturable;
    const metadata = form.metadata === undefined ? null : metadataParam(form);
    if (pi.status !== 'requires_capture') {
      throw invalid({
        code: 'payment_intent_unexpected_state',
        message: `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      });
    }
    if (toCapture > pi.amount_capturable) {
      throw invalid({ code: 'amount_too_large', param: 'amount_to_capture', message: `The amount to capture (${toCapture}) is greater than the capturable amount (${pi.amount_capturable}).` });
    }
    if (metadata) Object.assign(pi.metadata, metadata);
    succeed(pi, toCapture);
    emit('charge.captured', chargeOf(pi));
    emit('payment_intent.succeeded', pi);
    return [200, pi];
  }

  /**
   * A canceled intent's charge: an authorization held for capture is
   * released (Stripe shows it refunded), an attempt still pending fails.
   */
  function releaseCharge(pi) {
    const charge = chargeOf(pi);
    if (pi.status === 'requires_capture') Object.assign(charge, { amount_refunded: charge.amount, refunded: true });
    else if (charge.status === 'pending') Object.assign(charge, { status: 'failed', paid: false });
  }

  function cancelIntent(id, form) {
    rejectUnknown(form, PARAMS.cancel);
    const reason = stringParam(form, 'cancellation_reason', { oneOf: CANCELLATION_REASONS }) ?? null;
    const pi = intentOrThrow(id);
    if (!CANCELABLE.includes(pi.status)) {
      throw invalid({
        code: 'payment_intent_unexpected_state',
        message: `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
      });
    }
    releaseCharge(pi);
    pi.status = 'canceled';
    pi.canceled_at = now();
    pi.cancellation_reason = reason;
    pi.amount_capturable = 0;
    pi.next_action = null;
    emit('payment_intent.canceled', pi);
    return [200, pi];
  }

  function createRefund(form) {
    rejectUnknown(form, PARAMS.createRefund);
    const piId = stringParam(form, 'payment_intent');
    const chargeId = stringParam(form, 'charge');
    if (!piId && !chargeId) throw missing('payment_intent');
    const amountParam = integerParam(form, 'amount');
    const reason = stringParam(form, 'reason', { oneOf: REFUND_REASONS }) ?? null;
    const metadata = metadataParam(form);
    let pi;
    if (piId) {
      pi = intents.get(piId);
      if (!pi) throw invalid({ code: 'resource_missing', param: 'payment_intent', message: `No such payment_intent: '${piId}'` });
      if (chargeId && chargeId !== pi.latest_charge) {
        throw paramError({ param: 'charge', message: `Charge ${chargeId} does not belong to PaymentIntent ${piId}.` });
      }
    } else {
      pi = [...intents.values()].find((p) => p.latest_charge === chargeId && p.status === 'succeeded');
      if (!pi) throw invalid({ code: 'resource_missing', param: 'charge', message: `No such charge: '${chargeId}'` });
    }
    if (pi.status !== 'succeeded') {
      throw invalid({
        code: 'payment_intent_unexpected_state',
        message: `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
      });
    }
    if (chargeOf(pi).disputed) {
      throw invalid({ code: 'charge_disputed', message: `Charge ${pi.latest_charge} has been charged back; cannot issue a refund.` });
    }
    const remaining = pi.amount_received - pi.amount_refunded;
    if (remaining <= 0) {
      throw invalid({ code: 'charge_already_refunded', message: `Charge ${pi.latest_charge} has already been refunded.` });
    }
    const amount = amountParam ?? remaining;
    if (amount > remaining) {
      throw invalid({
        code: 'amount_too_large',
        param: 'amount',
        message: `Refund amount (${amount} ${pi.currency}) is greater than unrefunded amount on charge (${remaining} ${pi.currency})`,
      });
    }
    pi.amount_refunded += amount;
    const charge = chargeOf(pi);
    charge.amount_refunded = pi.amount_refunded;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    const refund = {
      id: newId('re'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: pi.latest_charge,
      created: now(),
      currency: pi.currency,
      metadata,
      payment_intent: pi.id,
      reason,
      status: 'succeeded',
    };
    refundsById.set(refund.id, refund);
    refundLog.push(refund.id);
    emit('charge.refunded', charge);
    return [200, refund];
  }

  /** GET /v1/payment_intents/search: newest first, `limit` (10) per page. */
  function searchIntents(form) {
    rejectUnknown(form, PARAMS.search);
    const { key, value } = parseSearchQuery(stringParam(form, 'query', { required: true }));
    const limit = integerParam(form, 'limit') ?? 10;
    if (limit > 100) throw paramError({ code: 'parameter_invalid_integer', param: 'limit', message: 'This value must be less than or equal to 100.' });
    const page = stringParam(form, 'page');
    const offset = page === undefined ? 0 : Number(Buffer.from(page, 'base64url').toString('utf8').replace(/^offset:/, ''));
    if (!Number.isInteger(offset) || offset < 0) throw paramError({ param: 'page', message: `Invalid page: ${page}` });
    const matches = [...intents.values()].reverse().filter((pi) => Object.hasOwn(pi.metadata, key) && pi.metadata[key] === value);
    const hasMore = matches.length > offset + limit;
    return [200, {
      object: 'search_result',
      data: matches.slice(offset, offset + limit),
      has_more: hasMore,
      next_page: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64url') : null,
      url: '/v1/payment_intents/search',
    }];
  }

  function retrieve(map, kind, id, form) {
    rejectUnknown(form, PARAMS.retrieve);
    const obj = map.get(id);
    if (!obj) {
      throw new StripeError(404, withDocUrl({ type: 'invalid_request_error', code: 'resource_missing', param: 'id', message: `No such ${kind}: '${id}'` }));
    }
    return [200, obj];
  }

  // ------------------------------------------------------------ control actions (not Stripe)

  function controlIntent(id) {
    const pi = intents.get(id);
    if (!pi) throw new ControlError(404, `No such payment_intent: '${id}'`, 'resource_missing');
    return pi;
  }

  function expectStatus(pi, status, action) {
    if (pi.status !== status) {
      throw new ControlError(400, `This PaymentIntent (${pi.id}) has a status of ${pi.status}; only a PaymentIntent in ${status} can be ${action}.`, 'payment_intent_unexpected_state');
    }
  }

  function resultOf(result) {
    if (result !== 'succeed' && result !== 'fail') {
      throw new ControlError(400, `result must be "succeed" or "fail", not ${JSON.stringify(result)}`, 'parameter_invalid');
    }
    return result;
  }

  /** The shopper completes (or fails) the 3D Secure challenge of an intent in requires_action. */
  function authenticateIntent(id, result) {
    const pi = controlIntent(id);
    resultOf(result);
    expectStatus(pi, 'requires_action', 'authenticated');
    if (result === 'succeed') authorize(pi);
    else fail(pi, withDocUrl({ type: 'card_error', code: 'payment_intent_authentication_failure', message: AUTHENTICATION_FAILURE }));
    return pi;
  }

  /** The network settles (or declines) an intent in processing. */
  function settleIntent(id, result) {
    const pi = controlIntent(id);
    resultOf(result);
    expectStatus(pi, 'processing', 'settled');
    if (result === 'succeed') authorize(pi);
    else fail(pi, withDocUrl({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', charge: pi.latest_charge }));
    return pi;
  }

  /** The cardholder disputes the charge of a succeeded intent. */
  function disputeIntent(id, reason = 'fraudulent') {
    const pi = controlIntent(id);
    if (!DISPUTE_REASONS.includes(reason)) {
      throw new ControlError(400, `reason must be one of ${DISPUTE_REASONS.join(', ')}`, 'parameter_invalid');
    }
    expectStatus(pi, 'succeeded', 'disputed');
    const charge = chargeOf(pi);
    if (charge.disputed) throw new ControlError(400, `Charge ${charge.id} is already disputed.`, 'charge_disputed');
    const dispute = {
      id: newId('dp'),
      object: 'dispute',
      amount: charge.amount_captured,
      charge: charge.id,
      created: now(),
      currency: charge.currency,
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: pi.id,
      reason,
      status: 'needs_response',
    };
    disputesById.set(dispute.id, dispute);
    charge.disputed = true;
    emit('charge.dispute.created', dispute);
    return dispute;
  }

  /** The endpoint for a request, or null for an unrecognized URL. */
  function route(method, path) {
    let m;
    if (path === '/v1/payment_intents' && method === 'POST') return (f) => createIntent(f);
    // Before the retrieve route, which would take `search` for an id.
    if (path === '/v1/payment_intents/search' && method === 'GET') return (f) => searchIntents(f);
    if ((m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path)) && method === 'GET') return (f) => retrieve(intents, 'payment_intent', m[1], f);
    if ((m = /^\/v1\/payment_intents\/([^/]+)\/capture$/.exec(path)) && method === 'POST') return (f) => captureIntent(m[1], f);
    if ((m = /^\/v1\/payment_intents\/([^/]+)\/cancel$/.exec(path)) && method === 'POST') return (f) => cancelIntent(m[1], f);
    if (path === '/v1/refunds' && method === 'POST') return (f) => createRefund(f);
    if ((m = /^\/v1\/refunds\/([^/]+)$/.exec(path)) && method === 'GET') return (f) => retrieve(refundsById, 'refund', m[1], f);
    if ((m = /^\/v1\/charges\/([^/]+)$/.exec(path)) && method === 'GET') return (f) => retrieve(chargesById, 'charge', m[1], f);
    if ((m = /^\/v1\/disputes\/([^/]+)$/.exec(path)) && method === 'GET') return (f) => retrieve(disputesById, 'dispute', m[1], f);
    return null;
  }

  // ------------------------------------------------------------ HTTP

  function apiKeyOf(req) {
    const h = req.headers.authorization ?? '';
    let m;
    if ((m = /^Bearer\s+(\S+)\s*$/i.exec(h))) return secretKeys.has(m[1]) ? m[1] : null;
    if ((m = /^Basic\s+(\S+)\s*$/i.exec(h))) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      return secretKeys.has(user) && password === '' ? user : null;
    }
    return null;
  }

  const errorBody = (err) => JSON.stringify({ error: err.error }, null, 2);

  /** Whether a request creates or retrieves a PaymentIntent (what 'mismatch' alters). */
  const isIntentAnswer = (method, path) =>
    (method === 'POST' && path === '/v1/payment_intents') ||
    (method === 'GET' && path !== '/v1/payment_intents/search' && /^\/v1\/payment_intents\/[^/]+$/.test(path));

  /** A PaymentIntent answer as 'mismatch' sends it: amount + 1, amount_received + 1 unless 0. */
  function mismatched(body) {
    const obj = JSON.parse(body);
    if (obj.object !== 'payment_intent') return body;
    obj.amount += 1;
    if (obj.amount_received) obj.amount_received += 1;
    return JSON.stringify(obj, null, 2);
  }

  /**
   * Computes the answer to a Stripe request: {status, body, extra, replay?}.
   * 'mismatch' alters the answer's bytes only, never the intent or the body
   * saved for idempotent replays.
   */
  async function handleStripe(req, record, bodyText, reqMode) {
    const answer = await answerStripe(req, record, bodyText, reqMode);
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (reqMode === 'mismatch' && answer.status === 200 && isIntentAnswer(req.method, path)) {
      return { ...answer, body: mismatched(answer.body) };
    }
    return answer;
  }

  async function answerStripe(req, record, bodyText, reqMode) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method;
    const idemKey = req.headers['idempotency-key'];
    const context = { id: record.requestId, idempotency_key: idemKey ?? null };
    const extra = {};
    if (reqMode === 'down') {
      return { status: 503, body: errorBody({ error: { type: 'api_error', message: 'Stripe is temporarily unavailable (fake Stripe is in "down" mode). Please try again later.' } }), extra };
    }
    const slow = { slow: () => delay(SLOW_DELAY_MS), lagging: () => delay(LAG_MS) }[reqMode] ?? (async () => {});
    try {
      const apiKey = apiKeyOf(req);
      if (!apiKey) {
        extra['WWW-Authenticate'] = 'Basic realm="Stripe"';
        throw new StripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided' });
      }
      const handler = route(method, path);
      if (!handler) throw new StripeError(404, { type: 'invalid_request_error', message: 'Unrecognized request URL' });
      const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (bodyText && contentType && contentType !== 'application/x-www-form-urlencoded') {
        throw paramError({ message: 'Invalid request (check that your POST content type is application/x-www-form-urlencoded). If you have any questions, we can help at https://support.stripe.com/.' });
      }
      const form = record.form;
      if (form instanceof StripeError) throw form;

      // Idempotency applies to POSTs only (GET and DELETE are idempotent anyway).
      if (method !== 'POST' || idemKey === undefined) {
        const [status, obj] = runHandler(handler, form, context);
        await slow();
        return { status, body: JSON.stringify(obj, null, 2), extra };
      }
      extra['Idempotency-Key'] = idemKey;
      if (idemKey === '' || idemKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
        throw paramError({ message: `Idempotency keys must be between 1 and ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.` });
      }
      const scope = `${apiKey}\n${idemKey}`;
      const params = canonical(form);
      const prior = idempotency.get(scope);
      if (prior) {
        if (prior.method !== method || prior.path !== path) {
          throw new StripeError(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${prior.method} ${prior.path}' vs '${method} ${path}'). Try using a key other than '${idemKey}' if you meant to execute a different request.` }, { save: false });
        }
        if (prior.params !== params) {
          throw new StripeError(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.` }, { save: false });
        }
        if (prior.state === 'in_progress') {
          throw new StripeError(409, { type: 'idempotency_error', code: 'idempotency_key_in_use', message: `There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): ${idemKey}. Please try again later.` }, { save: false });
        }
        await slow();
        return { status: prior.status, body: prior.body, extra: { ...extra, 'Idempotent-Replayed': 'true', 'Original-Request': prior.requestId }, replay: true };
      }
      const entry = { method, path, params, state: 'in_progress' };
      idempotency.set(scope, entry);
      let status;
      let body;
      try {
        const [s, obj] = runHandler(handler, form, context);
        status = s;
        body = JSON.stringify(obj, null, 2);
      } catch (err) {
        if (!(err instanceof StripeError) || !err.save) {
          idempotency.delete(scope);
          throw err;
        }
        status = err.status;
        body = errorBody(err);
      }
      // In 'slow' mode the work is done; the key stays in use until answered.
      await slow();
      Object.assign(entry, { state: 'done', status, body, requestId: record.requestId });
      return { status, body, extra };
    } catch (err) {
      if (!(err instanceof StripeError)) throw err;
      await slow();
      return { status: err.status, body: errorBody(err), extra };
    }
  }

  /** A control request's body: JSON, or a form as `mode=down`. */
  function controlBody(text) {
    if (!text.trim()) return {};
    if (!text.trim().startsWith('{')) return Object.fromEntries(new URLSearchParams(text));
    try {
      const v = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch {
      // answered below
    }
    throw new ControlError(400, 'The body must be a JSON object.');
  }

  /** The control API's answer to a request: [status, body]. */
  async function controlAnswer(method, path, bodyText) {
    let m;
    if (method === 'GET' && path === '/__fake/charges') return [200, api.charges()];
    if (method === 'GET' && path === '/__fake/refunds') return [200, api.refunds()];
    if (method === 'GET' && path === '/__fake/requests') return [200, api.requests()];
    if (method === 'GET' && path === '/__fake/mode') return [200, { mode }];
    if (method === 'POST' && path === '/__fake/mode') {
      try {
        api.setMode(controlBody(bodyText).mode);
      } catch (e) {
        throw new ControlError(400, e.message);
      }
      return [200, { mode }];
    }
    if ((m = /^\/__fake\/intents\/([^/]+)$/.exec(path)) && method === 'GET') return [200, api.intent(m[1])];
    if ((m = /^\/__fake\/intents\/([^/]+)\/(authenticate|settle|dispute)$/.exec(path)) && method === 'POST') {
      const body = controlBody(bodyText);
      if (m[2] === 'dispute') return [200, api.dispute(m[1], body.reason)];
      return [200, api[m[2]](m[1], body.result)];
    }
    if (method === 'GET' && path === '/__fake/webhook') return [200, { url: webhook?.url ?? null, secret: webhook?.secret ?? null }];
    if (method === 'POST' && path === '/__fake/webhook') return [200, api.setWebhook(controlBody(bodyText))];
    if (method === 'GET' && path === '/__fake/events') return [200, api.events()];
    if (method === 'POST' && path === '/__fake/events/resend') return [200, await api.resend(controlBody(bodyText))];
    if (method === 'GET' && path === '/__fake/events/wait') {
      try {
        await api.waitForDeliveries();
      } catch (e) {
        throw new ControlError(504, e.message, 'deliveries_pending');
      }
      return [200, { pending: false }];
    }
    throw new ControlError(404, 'Unrecognized request URL');
  }

  async function control(req, res, path, bodyText) {
    let status;
    let body;
    try {
      [status, body] = await controlAnswer(req.method, path, bodyText);
    } catch (e) {
      const known = e instanceof ControlError;
      status = known ? e.status : 500;
      body = { error: { type: known ? 'invalid_request_error' : 'api_error', ...(e.code ? { code: e.code } : {}), message: e.message } };
    }
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', async () => {
      const bodyText = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname.startsWith('/__fake/')) return control(req, res, url.pathname, bodyText);

      const reqMode = mode;
      const requestId = newId('req', 14);
      let form;
      try {
        form = parseStripeForm(req.method === 'GET' || req.method === 'DELETE' ? url.search.slice(1) : bodyText);
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        form = err;
      }
      const idemKey = req.headers['idempotency-key'];
      const record = {
        method: req.method,
        path: url.pathname,
        idempotencyKey: idemKey === undefined ? null : String(idemKey),
        headers: { ...req.headers },
        form: form instanceof StripeError ? {} : form,
        status: null,
        replayed: false,
      };
      requestLog.push(record);
      let answer;
      try {
        answer = await handleStripe(req, { form, requestId }, bodyText, reqMode);
      } catch (err) {
        answer = { status: 500, body: errorBody({ error: { type: 'api_error', message: `Fake Stripe internal error: ${err?.message ?? err}` } }), extra: {} };
      }
      record.status = answer.status;
      record.replayed = Boolean(answer.replay);
      if (stopped || res.destroyed) return;
      res.writeHead(answer.status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(answer.body),
        'Request-Id': requestId,
        'Stripe-Version': req.headers['stripe-version'] ?? API_VERSION,
        'Cache-Control': 'no-cache, no-store',
        ...answer.extra,
      });
      res.end(answer.body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (err, socket) => socket.destroy());
  // Idle keep-alive connections stay open as long as Stripe's do: Node's
  // default (5 s) closes one just as the Worker reuses it after a pause
  // ("Network connection lost"), a race a real Stripe does not have.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${server.address().port}`;

  const api = {
    url,
    /**
     * Closes the server, drops open connections and pending slow answers,
     * and cancels webhook deliveries under way or waiting for a retry.
     */
    stop() {
      if (stopped) return Promise.resolve();
      stopped = true;
      for (const d of pendingDelays) {
        clearTimeout(d.timer);
        d.resolve();
      }
      pendingDelays.clear();
      cancelDeliveries({ inFlight: true });
      const closed = new Promise((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
    /** PaymentIntents that reached `succeeded`, in that order, as they are now. */
    charges: () => succeeded.map((id) => clone(intents.get(id))),
    /** Refunds created, in order. */
    refunds: () => refundLog.map((id) => clone(refundsById.get(id))),
    /**
     * Every Stripe request seen: {method, path, idempotencyKey, headers, form,
     * status, replayed}; `headers` maps lower-cased names to values as sent.
     */
    requests: () => clone(requestLog),
    /** The live PaymentIntent `id` as it is now (throws for an unknown id). */
    intent: (id) => clone(controlIntent(id)),
    /**
     * Completes the 3D Secure challenge of an intent in requires_action:
     * 'succeed' authorizes it, 'fail' leaves it in requires_payment_method.
     */
    authenticate: (id, result) => clone(authenticateIntent(id, result)),
    /** Settles an intent in processing: 'succeed' authorizes it, 'fail' declines it. */
    settle: (id, result) => clone(settleIntent(id, result)),
    /** Disputes the charge of a succeeded intent; the Dispute. */
    dispute: (id, reason) => clone(disputeIntent(id, reason ?? 'fraudulent')),
    /**
     * Sends every event from now on to `url` signed with `secret`;
     * `{url: null}` turns webhooks off. Setting it drops the deliveries
     * not yet attempted or waiting for a retry (attempts under way finish,
     * unretried). The endpoint as set: {url, secret}.
     */
    setWebhook: (config) => setWebhook(config),
    /** Every event, in creation order: {id, type, object_id, created, deliveries: [{at, status, signature_ok, resend}]}. */
    events: () => eventLog.map(eventSummary),
    /**
     * Sends events again now to the webhook, one after another, each once
     * (no retries): `ids` (default all) in `order` ('as_is' | 'reverse' |
     * 'shuffle'), `times` rounds (1–5), signed with a wrong secret when
     * `tamper`. Resolves to [{id, status}] in the order sent.
     */
    resend: async (opts = {}) => resendEvents(opts ?? {}),
    /** Resolves once no delivery is under way or waiting for a retry; rejects after 10 s. */
    waitForDeliveries,
    /** 'normal' | 'down' | 'slow' | 'lagging' | 'mismatch'; applies to requests arriving from now on. */
    setMode(m) {
      if (!MODES.includes(m)) throw new Error(`unknown fake Stripe mode: ${m} (expected ${MODES.join(', ')})`);
      mode = m;
    },
  };
  return api;
}

/**
 * The same inspection and control methods for a fake running in another
 * process (async); a refusal rejects with the control API's message and
 * `status`.
 */
export function fakeStripeControl(url) {
  const request = async (method, what, body) => {
    const r = await fetch(`${url}/__fake/${what}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const json = await r.json();
    if (!r.ok) throw Object.assign(new Error(json.error?.message ?? `fake Stripe answered ${r.status}`), { status: r.status, code: json.error?.code });
    return json;
  };
  const get = (what) => request('GET', what);
  const intentPath = (id, action = '') => `intents/${encodeURIComponent(id)}${action && `/${action}`}`;
  return {
    url,
    charges: () => get('charges'),
    refunds: () => get('refunds'),
    requests: () => get('requests'),
    async setMode(mode) {
      const r = await fetch(`${url}/__fake/mode`, { method: 'POST', body: new URLSearchParams({ mode }) });
      if (!r.ok) throw new Error((await r.json()).error.message);
    },
    intent: (id) => get(intentPath(id)),
    authenticate: (id, result) => request('POST', intentPath(id, 'authenticate'), { result }),
    settle: (id, result) => request('POST', intentPath(id, 'settle'), { result }),
    dispute: (id, reason) => request('POST', intentPath(id, 'dispute'), reason === undefined ? {} : { reason }),
    setWebhook: (config) => request('POST', 'webhook', config),
    events: () => get('events'),
    resend: (opts = {}) => request('POST', 'events/resend', opts),
    waitForDeliveries: async () => {
      await get('events/wait');
    },
  };
}

// ---------------------------------------------------------------- as a script

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
  };
  const port = Number(opt('port') ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port: ${opt('port')}\n`);
    process.exit(2);
  }
  const webhookUrl = opt('webhook-url');
  const webhookSecret = opt('webhook-secret');
  if (webhookUrl && !webhookSecret) {
    process.stderr.write('--webhook-url needs --webhook-secret\n');
    process.exit(2);
  }
  let fake;
  try {
    fake = await startFakeStripe({
      port,
      secretKey: opt('secret-key') ?? 'sk_test_fake',
      webhook: webhookUrl ? { url: webhookUrl, secret: webhookSecret } : null,
    });
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  process.stdout.write(`READY ${fake.url}\n`);
  const shutdown = async () => {
    await fake.stop();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
