//! A member's points: `GET /v1/points` (the member, with the operator's
//! member token), the admin's lookup, grants and adjustments
//! (`/admin/v1/members/{member}/points…`), and the development sign-in
//! (`POST /v1/points/dev-token`, off unless `DEV_MEMBER_SIGN_IN = "on"`).
//!
//! Each member's points are one `PointsLedger` object per (store, member);
//! this module verifies who asks, reads the store's programme, and turns
//! the ledger's balance and history into the API's bodies. How many points
//! anything costs or earns is the domain's (`edgecart_domain::points`).

use crate::admin_api::{json_body, page_params, parse_body};
use crate::app::ApiRequest;
use crate::config::Config;
use crate::http::{rfc3339_ms, ApiError, ApiResponse, Result};
use crate::members::{keys_for, sign_hs256, verify, TokenRefusal};
use crate::objects::{ask, Refused};
use crate::routes::{Caller, Handler as H};
use edgecart_domain::member::{is_member_id, ledger_name, MemberRefusal};
use edgecart_domain::points::{Balance, Programme, Row, RowKind};
use edgecart_domain::store::StoreConfig;
use edgecart_durable_objects::protocol::points::{self, PointsView};
use serde::{Deserialize, Serialize};
use worker::Env;

/// Default and largest page of history.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;
/// The cursor prefix of the history: `r{seq}`, the rows before `seq`.
const CURSOR: &str = "r";
/// Largest body of a grant or adjustment.
const BODY_MAX: usize = 4 * 1024;
/// A `reason` that is not blank: a character `str::trim` keeps (not
/// Unicode `White_Space`), spelled out so that every regex dialect reads
/// it alike (`\S` differs between them and from `trim`).
#[cfg(feature = "openapi")]
const NOT_BLANK: &str =
    r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// How long a development sign-in's token lasts.
const DEV_TOKEN_S: i64 = 12 * 3600;

/// The soonest expiry of spendable points.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct NextExpiry {
    /// How many points expire then.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64")))]
    points: i64,
    /// When (RFC 3339).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    at: String,
}

/// A member's balance.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct PointsBalance {
    /// What can be spent now: spendable points less what checkouts in
    /// progress hold and what is owed. Negative only through debt.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    available: i64,
    /// Earned points still in their return window.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    pending: i64,
    /// Set aside for checkouts in progress.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    held: i64,
    /// Owed: earned points taken back (an order cancelled or refunded)
    /// after they were spent; the next points received pay it first.
    #[cfg_attr(feature = "openapi", schemars(range(min = 0), extend("format" = "int64")))]
    debt: i64,
    /// The soonest expiry of spendable points; null when none expire.
    next_expiry: Option<NextExpiry>,
}

impl PointsBalance {
    pub fn of(b: &Balance) -> Self {
        PointsBalance {
            available: b.available,
            pending: b.pending,
            held: b.held,
            debt: b.debt,
            next_expiry: b.next_expiry.map(|(points, at)| NextExpiry {
                points,
                at: rfc3339(at),
            }),
        }
    }
}

/// One change of a member's points, as the history shows it.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct PointsEntry {
    /// Its number in the member's history (1, 2, …).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64")))]
    seq: u64,
    /// When (RFC 3339).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    at: String,
    kind: RowKind,
    /// What the member's points changed by (negative: they went down; 0
    /// for a `repay`, which pays debt from the lot it names).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "int64")))]
    points: i64,
    /// The lot it concerns: every grant, upward adjustment or earning is
    /// a lot of its own, with its own expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(range(min = 1), extend("format" = "int64")))]
    lot: Option<u64>,
    /// The order it belongs to, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<String>,
    /// Why: an admin's `reason` for a grant or adjustment (and the repay
    /// it led to), `order` for an order's earning or spending, `order
    /// cancelled or refunded`, or `expired`.
    reason: String,
    /// For a grant, adjustment or earning, when its lot expires (RFC
    /// 3339): the lot it made, or for a downward adjustment the lot it
    /// took from. Absent when the lot never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    expires_at: Option<String>,
    /// When the lot it made becomes spendable, if not at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pending_until: Option<String>,
    /// Who made it: an admin token's label, `checkout`, `system` (expiry)
    /// or `shopper`. Admin lookups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    /// The operation's key: a grant's or adjustment's `Idempotency-Key`,
    /// else the ledger's own. Admin lookups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl PointsEntry {
    fn of(row: Row, staff: bool) -> Self {
        PointsEntry {
            seq: row.seq,
            at: rfc3339(row.at_ms),
            kind: row.kind,
            points: row.amount,
            lot: row.lot,
            order: row.order,
            reason: row.reason,
            expires_at: row.expires_at_ms.map(rfc3339),
            pending_until: row.pending_until_ms.map(rfc3339),
            actor: staff.then_some(row.actor),
            key: staff.then_some(row.key),
        }
    }
}

/// A member's points: the balance and a page of the history, newest first.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"member": "m-1001", "unit": "points", "balance": {"available": 8001, "pending": 199, "held": 0, "debt": 0, "next_expiry": {"points": 8001, "at": "2028-01-15T00:00:00.000Z"}}, "history": [{"seq": 2, "at": "2027-01-15T10:00:00.000Z", "kind": "spend", "points": -1999, "lot": 1, "order": "ord_3b9d2f4a6c8e0a1b2c3d4e5f", "reason": "order"}, {"seq": 1, "at": "2027-01-15T00:00:00.000Z", "kind": "grant", "points": 10000, "lot": 1, "reason": "welcome bonus", "expires_at": "2028-01-15T00:00:00.000Z"}], "next_cursor": null}])))]
pub struct PointsAccount {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::MemberId")
    )]
    member: String,
    /// What the store calls its points (the programme's `unit`).
    #[cfg_attr(
        feature = "openapi",
        schemars(regex(pattern = r"^[A-Za-z][A-Za-z -]{0,19}$"))
    )]
    unit: String,
    balance: PointsBalance,
    /// At most `limit` rows of the history, newest first.
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_PAGE)))]
    history: Vec<PointsEntry>,
    /// Pass it back as `cursor` for older history; null on the last page.
    #[cfg_attr(feature = "openapi", schemars(regex(pattern = r"^r[0-9]{1,19}$")))]
    next_cursor: Option<String>,
}

/// What a grant or adjustment did.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"member": "m-1001", "balance": {"available": 10000, "pending": 0, "held": 0, "debt": 0, "next_expiry": {"points": 10000, "at": "2028-01-15T00:00:00.000Z"}}, "replayed": false}])))]
pub struct PointsChanged {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::MemberId")
    )]
    member: String,
    /// The balance after it.
    balance: PointsBalance,
    /// Whether this answers a repeat of an earlier request with the same
    /// `Idempotency-Key`, which changed nothing.
    replayed: bool,
}

/// The body of a grant: points given to a member, spendable at once.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"points": 10000, "reason": "welcome bonus"}])))]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// How many points, 1 to 10^12.
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = 1_000_000_000_000_i64), extend("format" = "int64")))]
    points: i64,
    /// Why (shown to the member and kept in the audit trail): 1 to 200
    /// characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schemars(length(min = 1, max = 200), regex(pattern = NOT_BLANK))
    )]
    reason: String,
    /// When these points expire: an RFC 3339 date-time (else 400
    /// `invalid_time`) ahead of now (else 422 `invalid_expiry`). Absent or
    /// null: per the programme's `expiry_days`, else never.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    expires_at: Option<String>,
}

/// The body of an adjustment: a correction of the member's points, up
/// (a new lot, like a grant) or down (from spendable points, soonest
/// expiry first; never below zero).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"points": -500, "reason": "granted twice by mistake"}])))]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    /// Points to add (positive) or take (negative), not 0; at most 10^12
    /// either way.
    #[cfg_attr(feature = "openapi", schemars(range(min = -1_000_000_000_000_i64, max = 1_000_000_000_000_i64), extend("not" = {"const": 0}, "format" = "int64")))]
    points: i64,
    /// Why: 1 to 200 characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schemars(length(min = 1, max = 200), regex(pattern = NOT_BLANK))
    )]
    reason: String,
}

/// The body of the development sign-in.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"member": "demo-member"}])))]
#[serde(deny_unknown_fields)]
pub struct DevSignInInput {
    /// The member to sign in: any member id (the operator's members are
    /// not listed anywhere Edgecart reads), else 422 `invalid_member`.
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::MemberId")
    )]
    member: String,
}

/// A member token from the development sign-in.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"member": "demo-member", "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vLW1lbWJlciJ9.c2ln", "expires_at": "2027-01-15T12:00:00.000Z"}])))]
pub struct DevToken {
    #[cfg_attr(
        feature = "openapi",
        schemars(with = "edgecart_domain::openapi::MemberId")
    )]
    member: String,
    /// A JWT signed HS256 with the store's secret (`sub` the member, `aud`
    /// the store, `exp`): send it as the `Member-Token` header.
    #[cfg_attr(
        feature = "openapi",
        schemars(regex(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"))
    )]
    token: String,
    /// When the token expires (RFC 3339): 12 hours after it was signed.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    expires_at: String,
}

/// An instant as the API writes it.
fn rfc3339(ms: i64) -> String {
    rfc3339_ms(ms).unwrap_or_default()
}

/// 404 `no_points_programme`: the store has no points programme.
fn no_programme() -> ApiError {
    ApiError::NotFound {
        code: "no_points_programme",
        detail: "This store has no points programme.".into(),
    }
}

/// The store's programme, or 404.
pub fn programme(config: &StoreConfig) -> Result<&Programme> {
    config.points.as_ref().ok_or_else(no_programme)
}

fn invalid_member_token(detail: &str) -> ApiError {
    ApiError::MemberUnauthorized {
        code: "invalid_member_token",
        detail: detail.into(),
    }
}

/// The member `token` signs in at `store` (with `config`'s secrets and
/// the programme's public key, if any) at `now_ms`, or 401; 503 when
/// `MEMBER_TOKEN_SECRETS` is malformed.
pub fn member(
    token: &str,
    store: &str,
    config: &Config,
    programme: Option<&Programme>,
    now_ms: u64,
) -> Result<String> {
    let secrets = config
        .member_secrets
        .as_deref()
        .map_err(|e| ApiError::Misconfigured {
            cause: format!("MEMBER_TOKEN_SECRETS: {e}"),
        })?;
    let keys = keys_for(
        store,
        secrets,
        programme.and_then(|p| p.member_key.as_ref()),
    );
    verify(token, &keys, store, (now_ms / 1000) as i64).map_err(|refusal| {
        invalid_member_token(match refusal {
            TokenRefusal::Malformed => "The member token is not a JWT.",
            TokenRefusal::Algorithm => {
                "The member token is signed with an algorithm this store has no key for."
            }
            TokenRefusal::Signature => "The member token's signature does not verify.",
            TokenRefusal::Claims(MemberRefusal::Expired) => "The member token has expired.",
            TokenRefusal::Claims(MemberRefusal::NotYetValid) => {
                "The member token is not valid yet."
            }
            TokenRefusal::Claims(MemberRefusal::WrongAudience) => {
                "The member token is for another store."
            }
            TokenRefusal::Claims(MemberRefusal::BadSubject) => {
                "The member token names no valid member."
            }
        })
    })
}

/// The `{member}` path parameter (percent-escapes decoded), or 404.
fn member_param(raw: &str) -> Result<String> {
    let decoded = percent_decode(raw);
    decoded
        .filter(|m| is_member_id(m))
        .ok_or(ApiError::NotFound {
            code: "member_not_found",
            detail: "A member id is 1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`.".into(),
        })
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A page of `member`'s points at `store` (`staff`: with actors and keys).
async fn account(
    env: &Env,
    store: &str,
    member: String,
    programme: &Programme,
    query: &crate::catalog_api::Params<'_>,
    staff: bool,
) -> Result<ApiResponse> {
    let (limit, before) = page_params(query, DEFAULT_PAGE, MAX_PAGE, CURSOR)?;
    let view: PointsView = ask(
        env,
        &ledger_name(store, &member),
        points::View {
            before: (before > 0).then_some(before),
            limit,
        },
    )
    .await?;
    // The ledger answers at most `limit` rows, and whether older ones
    // follow: the cursor names the last row shown.
    let history: Vec<PointsEntry> = view
        .rows
        .into_iter()
        .map(|r: Row| PointsEntry::of(r, staff))
        .collect();
    let next_cursor = view
        .more
        .then(|| history.last().map(|e| format!("{CURSOR}{}", e.seq)))
        .flatten();
    let mut response = ApiResponse::json(&PointsAccount {
        member,
        unit: programme.unit.clone(),
        balance: PointsBalance::of(&view.balance),
        history,
        next_cursor,
    });
    response.header("Cache-Control", "no-store");
    Ok(response)
}

/// Serves the points routes for the store the request resolved to.
pub async fn handle(
    request: &mut ApiRequest<'_>,
    env: &Env,
    config: &Config,
    store_config: &StoreConfig,
    now_ms: u64,
) -> Result<ApiResponse> {
    let store = request.store()?.id.clone();
    match request.handler {
        H::GetPoints => {
            // Who asks first: whether the store runs a programme is no
            // business of a caller it does not admit.
            let Caller::Member { token } = &request.caller else {
                return Err(invalid_member_token("No member token."));
            };
            let member = member(token, &store, config, store_config.points.as_ref(), now_ms)?;
            let programme = programme(store_config)?;
            account(env, &store, member, programme, &request.query, false).await
        }
        H::AdminGetPoints => {
            let programme = programme(store_config)?;
            let member = member_param(request.path.param("member"))?;
            account(env, &store, member, programme, &request.query, true).await
        }
        H::GrantPoints | H::AdjustPoints => {
            let programme = programme(store_config)?.clone();
            let member = member_param(request.path.param("member"))?;
            let key = request.incoming.idempotency_key()?.ok_or_else(|| ApiError::InvalidBody {
                code: "idempotency_key_required".into(),
                field: None,
                detail: "A grant or adjustment needs an Idempotency-Key header (1–128 visible ASCII characters), generated once per change.".into(),
            })?;
            let body = json_body(&mut request.incoming, BODY_MAX).await?;
            let actor = request.caller.label().to_string();
            let name = ledger_name(&store, &member);
            let changed = if request.handler == H::GrantPoints {
                let input: GrantInput = parse_body(&body)?;
                let expires_at_ms = match &input.expires_at {
                    None => None,
                    Some(t) => Some(
                        chrono::DateTime::parse_from_rfc3339(t)
                            .map_err(|_| ApiError::InvalidBody {
                                code: "invalid_time".into(),
                                field: Some("expires_at".into()),
                                detail: "expires_at is an RFC 3339 date-time.".into(),
                            })?
                            .timestamp_millis(),
                    ),
                };
                let command = points::Grant {
                    store: store.clone(),
                    member: member.clone(),
                    key,
                    actor,
                    reason: input.reason,
                    amount: input.points,
                    expires_at_ms,
                    programme,
                };
                crate::objects::send(env, &name, command).await?
            } else {
                let input: AdjustInput = parse_body(&body)?;
                let command = points::Adjust {
                    store: store.clone(),
                    member: member.clone(),
                    key,
                    actor,
                    reason: input.reason,
                    delta: input.points,
                    programme,
                };
                crate::objects::send(env, &name, command).await?
            };
            let changed = changed.map_err(Refused::error)?;
            let mut response = ApiResponse::json(&PointsChanged {
                member,
                balance: PointsBalance::of(&changed.balance),
                replayed: changed.replayed,
            });
            if !changed.replayed {
                response.status = 201;
            }
            response.header("Cache-Control", "no-store");
            Ok(response)
        }
        H::DevMemberToken => {
            if !config.dev_member_sign_in {
                return Err(ApiError::NotFound {
                    code: "dev_sign_in_off",
                    detail:
                        "The development sign-in is off on this deployment (DEV_MEMBER_SIGN_IN)."
                            .into(),
                });
            }
            programme(store_config)?;
            let body = json_body(&mut request.incoming, BODY_MAX).await?;
            let input: DevSignInInput = parse_body(&body)?;
            let member = Some(input.member)
                .filter(|m| is_member_id(m))
                .ok_or_else(|| ApiError::Validation {
                    errors: vec![edgecart_durable_objects::protocol::FieldProblem {
                        field: Some("member".into()),
                        code: "invalid_member".into(),
                        message: "1 to 64 letters, digits, `.`, `_`, `-`, `@` or `+`".into(),
                    }],
                })?;
            let secret = config
                .member_secrets
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .find(|(s, _)| *s == store)
                .map(|(_, secret)| secret.clone())
                .ok_or_else(|| ApiError::Misconfigured {
                    cause: format!("MEMBER_TOKEN_SECRETS has no secret for {store}"),
                })?;
            let exp_s = (now_ms / 1000) as i64 + DEV_TOKEN_S;
            let token = sign_hs256(&secret, &member, &store, exp_s)
                .map_err(|cause| ApiError::Misconfigured { cause })?;
            let mut response = ApiResponse::json(&DevToken {
                member,
                token,
                expires_at: rfc3339(exp_s * 1000),
            });
            response.header("Cache-Control", "no-store");
            Ok(response)
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_in_paths_may_be_percent_encoded() {
        assert_eq!(member_param("m-1").unwrap(), "m-1");
        assert_eq!(member_param("a%40b.example").unwrap(), "a@b.example");
        assert_eq!(member_param("a%2Bb").unwrap(), "a+b");
        assert!(member_param("a%2").is_err());
        assert!(member_param("a%2Fb").is_err());
        assert!(member_param(&"m".repeat(65)).is_err());
    }
}
