//! A store's merchant webhook endpoints over the admin API
//! (`/admin/v1/webhooks…`): create (the signing secret is answered once),
//! list, read, change, disable, delete, rotate the secret (both signatures
//! for a day), read the delivery log, and replay one event or a time range.
//! The store's webhook object (`WebhookHub`) keeps and delivers them.

use crate::admin_api::{json_body, page_limit, parse_body};
use crate::app::ApiRequest;
use crate::events::hub_name;
use crate::http::{ApiError, ApiResponse, Result};
use crate::objects::{ask, Refused};
use crate::routes::Handler as H;
use edgecart_domain::events::EndpointInput;
use edgecart_durable_objects::protocol::webhooks::{self, EndpointView, WebhookRefusal};
use edgecart_durable_objects::protocol::FieldProblem;
use serde::{Deserialize, Serialize};
use worker::Env;

/// The largest body read: as every single admin write, 64 KiB, as the
/// document says (`AdminPayloadTooLarge`); a schema-valid endpoint, its
/// URL of 2048 characters escaped in JSON, can take some 25 KB.
const BODY_MAX: usize = edgecart_domain::admin::MAX_ITEM_BYTES;
/// Most log entries per page.
const LOG_PAGE_MAX: u32 = 200;

impl Refused for WebhookRefusal {
    fn error(self) -> ApiError {
        match self {
            WebhookRefusal::NotFound => ApiError::NotFound {
                code: "webhook_not_found",
                detail: "The store has no webhook endpoint with this id.".into(),
            },
            WebhookRefusal::NoSuchEvent => ApiError::NotFound {
                code: "event_not_found",
                detail: "No event with this id is kept (events are kept 30 days).".into(),
            },
            WebhookRefusal::TooMany => ApiError::Conflict {
                code: "too_many_webhooks".into(),
                detail: "A store has at most 20 webhook endpoints.".into(),
            },
        }
    }
}

/// The body of `POST /admin/v1/webhooks/{id}/replay`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(extend("examples" = [{"from": "2026-12-07T00:00:00Z", "to": "2026-12-07T12:00:00Z"}])))]
#[serde(deny_unknown_fields)]
pub struct ReplayInput {
    /// One event to deliver again, by id (`webhook-id`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = 200)))]
    pub event: Option<String>,
    /// Or every event that occurred from this instant (RFC 3339,
    /// inclusive)…
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub from: Option<String>,
    /// …to this one (exclusive).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub to: Option<String>,
}

/// What a replay scheduled.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ReplayResult {
    /// Deliveries scheduled to the endpoint (attempted within seconds).
    deliveries: u32,
}

/// A page of the delivery log, newest first.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "WebhookAttemptPage"))]
pub struct AttemptPage {
    items: Vec<webhooks::Attempt>,
    /// Pass as `cursor` for older attempts; null on the last page.
    next_cursor: Option<String>,
}

/// The endpoints of a store.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "WebhookEndpointList"))]
pub struct EndpointList {
    items: Vec<EndpointView>,
}

/// A deleted endpoint.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct WebhookDeleted {
    id: String,
    /// Always true.
    deleted: bool,
}

fn validation(problems: Vec<edgecart_domain::events::EndpointProblem>) -> ApiError {
    ApiError::Validation {
        errors: problems
            .into_iter()
            .map(|p| FieldProblem {
                field: Some(p.field.into()),
                code: p.code.into(),
                message: p.message.into(),
            })
            .collect(),
    }
}

/// A `whsec_…` secret of 32 random bytes.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::StorageUnavailable {
        cause: format!("no randomness for a webhook secret: {e}"),
    })?;
    Ok(edgecart_domain::events::new_secret(&bytes))
}

fn endpoint_id(raw: &str) -> Result<String> {
    let ok = raw
        .strip_prefix("we_")
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(WebhookRefusal::NotFound.error())
    }
}

fn instant(field: &str, raw: Option<&str>) -> Result<Option<i64>> {
    raw.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_millis())
            .map_err(|_| ApiError::InvalidBody {
                code: "invalid_time".into(),
                field: Some(field.into()),
                detail: format!("{field} is an RFC 3339 date-time."),
            })
    })
    .transpose()
}

fn json<T: Serialize>(value: &T, status: u16) -> ApiResponse {
    let mut r = ApiResponse::json(value);
    r.status = status;
    r.header("Cache-Control", "no-store");
    r
}

pub async fn handle(request: &mut ApiRequest<'_>, env: &Env) -> Result<ApiResponse> {
    let store = request.store()?.id.clone();
    let hub = hub_name(&store);
    match request.handler {
        H::ListWebhooks => {
            let list = ask(env, &hub, webhooks::List {}).await?;
            Ok(json(
                &EndpointList {
                    items: list.endpoints,
                },
                200,
            ))
        }
        H::CreateWebhook => {
            let body = json_body(&mut request.incoming, BODY_MAX).await?;
            let input: EndpointInput = parse_body(&body)?;
            let problems = input.problems(true);
            if !problems.is_empty() {
                return Err(validation(problems));
            }
            let mut raw = [0u8; 12];
            getrandom::fill(&mut raw).map_err(|e| ApiError::StorageUnavailable {
                cause: format!("no randomness for an id: {e}"),
            })?;
            let id = format!(
                "we_{}",
                raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
            let command = webhooks::Create {
                id,
                url: input.url.unwrap_or_default(),
                events: input.events.unwrap_or_default(),
                description: input.description.unwrap_or_default(),
                secret: new_secret()?,
            };
            let created = ask(env, &hub, command).await?;
            Ok(json(&created, 201))
        }
        H::GetWebhook => {
            let id = endpoint_id(request.path.param("id"))?;
            Ok(json(&ask(env, &hub, webhooks::Get { id }).await?, 200))
        }
        H::UpdateWebhook => {
            let id = endpoint_id(request.path.param("id"))?;
            let body = json_body(&mut request.incoming, BODY_MAX).await?;
            let input: EndpointInput = parse_body(&body)?;
            let problems = input.problems(false);
            if !problems.is_empty() {
                return Err(validation(problems));
            }
            let command = webhooks::Update {
                id,
                url: input.url,
                events: input.events,
                description: input.description,
                enabled: input.enabled,
            };
            Ok(json(&ask(env, &hub, command).await?, 200))
        }
        H::DeleteWebhook => {
            let id = endpoint_id(request.path.param("id"))?;
            ask(env, &hub, webhooks::Delete { id: id.clone() }).await?;
            Ok(json(&WebhookDeleted { id, deleted: true }, 200))
        }
        H::RotateWebhook => {
            let id = endpoint_id(request.path.param("id"))?;
            let command = webhooks::Rotate {
                id,
                secret: new_secret()?,
            };
            Ok(json(&ask(env, &hub, command).await?, 200))
        }
        H::ListWebhookDeliveries => {
            let id = endpoint_id(request.path.param("id"))?;
            let limit = page_limit(&request.query, 50, LOG_PAGE_MAX)?;
            let before = match request.query.get("cursor") {
                None => None,
                Some(raw) => Some(
                    raw.strip_prefix('s')
                        .and_then(|n| n.parse::<i64>().ok())
                        .filter(|n| *n > 0)
                        .ok_or_else(crate::admin_api::invalid_cursor)?,
                ),
            };
            let command = webhooks::Deliveries {
                id,
                before,
                limit: limit + 1,
            };
            let mut attempts = ask(env, &hub, command).await?.attempts;
            let next_cursor = if attempts.len() > limit as usize {
                attempts.truncate(limit as usize);
                attempts.last().map(|a| format!("s{}", a.seq))
            } else {
                None
            };
            Ok(json(
                &AttemptPage {
                    items: attempts,
                    next_cursor,
                },
                200,
            ))
        }
        H::ReplayWebhook => {
            let id = endpoint_id(request.path.param("id"))?;
            let body = json_body(&mut request.incoming, BODY_MAX).await?;
            let input: ReplayInput = parse_body(&body)?;
            let from_ms = instant("from", input.from.as_deref())?;
            let to_ms = instant("to", input.to.as_deref())?;
            if input.event.is_some() == (from_ms.is_some() || to_ms.is_some()) {
                return Err(ApiError::Validation {
                    errors: vec![FieldProblem {
                        field: None,
                        code: "event_or_range".into(),
                        message: "Name one event, or a time range (from, to), not both.".into(),
                    }],
                });
            }
            let command = webhooks::Replay {
                id,
                event: input.event,
                from_ms,
                to_ms,
            };
            let replayed = ask(env, &hub, command).await?;
            Ok(json(
                &ReplayResult {
                    deliveries: replayed.deliveries,
                },
                202,
            ))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}
