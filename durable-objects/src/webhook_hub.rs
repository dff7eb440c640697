//! `WebhookHub`: one per store (named `webhooks:{store}`), the delivery
//! engine of the store's merchant webhooks. It keeps the store's
//! endpoints, the events the queue's consumer hands it (each id once, kept
//! 30 days for replays), one delivery per (event, endpoint that takes it),
//! and a log of every attempt (kept 30 days). Its alarm makes the
//! attempts that are due, signed per Standard Webhooks
//! (`edgecart_domain::events::sign`), and schedules the retries
//! (`retry_delay_ms`: about three days); an endpoint that answers 410 is
//! disabled. A delivery is stored before it is attempted, so a crash
//! loses none: the next alarm makes it.
//!
//! The alarm does not block the object's other commands while it waits for
//! endpoints (a slow endpoint must not delay taking events in): it runs
//! outside `blockConcurrencyWhile`, and the runtime runs one alarm at a
//! time.

use crate::object::{alarm_done, answer, arm_by, json, now_ms, serially, serve, Handled, Tables};
use crate::protocol::webhooks::{
    self as protocol, Attempt, EndpointView, WebhookCommand, WebhookRefusal,
};
use edgecart_domain::events::{retry_delay_ms, sign, Endpoint, Event, Verdict, LOG_RETENTION_MS};
use futures_util::future::{join_all, select, Either};
use serde::Deserialize;
use std::rc::Rc;
use std::time::Duration;
use worker::{
    durable_object, DurableObject, Env, Fetch, Headers, Method, Request, RequestInit, Response,
    State, Storage,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS endpoints (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, kind TEXT NOT NULL, at_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (at_ms);
CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT NOT NULL, endpoint_id TEXT NOT NULL, attempts INTEGER NOT NULL, next_at_ms INTEGER NOT NULL, PRIMARY KEY (event_id, endpoint_id));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at_ms);
CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, endpoint_id TEXT NOT NULL, json TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_by_endpoint ON attempts (endpoint_id, seq);
";
/// Endpoints per store.
const ENDPOINTS_MAX: usize = 20;
/// Attempts made at once.
const BATCH: i64 = 50;
/// How long one alarm run goes on making due attempts.
const RUN_MS: i64 = 15_000;
/// How long an endpoint may take to answer.
const TIMEOUT: Duration =
    Duration::from_millis(edgecart_domain::events::DELIVERY_TIMEOUT_MS as u64);

#[durable_object]
pub struct WebhookHub {
    state: State,
    inner: Rc<Hub>,
}

struct Hub {
    storage: Storage,
    /// The schedule's delays in percent (`WEBHOOK_RETRY_PERCENT`, 100 by
    /// default; tests shorten it).
    retry_percent: i64,
}

impl DurableObject for WebhookHub {
    fn new(state: State, env: Env) -> Self {
        let retry_percent = env
            .var("WEBHOOK_RETRY_PERCENT")
            .ok()
            .and_then(|v| v.to_string().parse::<i64>().ok())
            .filter(|p| (1..=100).contains(p))
            .unwrap_or(100);
        let inner = Rc::new(Hub {
            storage: state.storage(),
            retry_percent,
        });
        WebhookHub { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let hub = self.inner.clone();
        serve(req, |command: WebhookCommand| {
            serially(&self.state, async move { hub.handle(command).await })
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        alarm_done(self.inner.deliver_due().await)
    }
}

/// A delivery that is due.
#[derive(Deserialize)]
struct Due {
    event_id: String,
    endpoint_id: String,
    attempts: f64,
}

impl Hub {
    fn tables(&self) -> Result<Tables, String> {
        Tables::open(&self.storage, SCHEMA)
    }

    async fn handle(&self, command: WebhookCommand) -> crate::object::Encoded {
        match command {
            WebhookCommand::Accept(c) => answer(c, |c| self.accept(c)).await,
            WebhookCommand::Create(c) => answer(c, |c| self.create(c)).await,
            WebhookCommand::List(c) => answer(c, |_| self.list()).await,
            WebhookCommand::Get(c) => answer(c, |c| self.get(c)).await,
            WebhookCommand::Update(c) => answer(c, |c| self.update(c)).await,
            WebhookCommand::Delete(c) => answer(c, |c| self.delete(c)).await,
            WebhookCommand::Rotate(c) => answer(c, |c| self.rotate(c)).await,
            WebhookCommand::Deliveries(c) => answer(c, |c| self.deliveries(c)).await,
            WebhookCommand::Replay(c) => answer(c, |c| self.replay(c)).await,
        }
    }

    fn endpoints(&self) -> Result<Vec<Endpoint>, String> {
        self.tables()?.documents(
            "endpoints",
            "SELECT json FROM endpoints ORDER BY id",
            Vec::new(),
        )
    }

    fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, String> {
        self.tables()?.document(
            "endpoint",
            "SELECT json FROM endpoints WHERE id = ?",
            vec![id.into()],
        )
    }

    fn put_endpoint(&self, e: &Endpoint) -> Result<(), String> {
        self.tables()?.exec(
            "saving an endpoint",
            "INSERT OR REPLACE INTO endpoints (id, json) VALUES (?, ?)",
            vec![e.id.as_str().into(), json(e)?.into()],
        )
    }

    /// Drops the pending deliveries of endpoint `id` (disabled or deleted).
    fn cancel_deliveries(&self, id: &str) -> Result<(), String> {
        self.tables()?.exec(
            "cancelling deliveries",
            "DELETE FROM deliveries WHERE endpoint_id = ?",
            vec![id.into()],
        )
    }

    fn schedule(
        &self,
        tables: &Tables,
        event: &str,
        endpoint: &str,
        at: i64,
    ) -> Result<(), String> {
        tables.exec(
            "scheduling a delivery",
            "INSERT OR REPLACE INTO deliveries (event_id, endpoint_id, attempts, next_at_ms) VALUES (?, ?, 0, ?)",
            vec![event.into(), endpoint.into(), at.into()],
        )
    }

    async fn accept(
        &self,
        protocol::Accept { events }: protocol::Accept,
    ) -> Handled<protocol::Accept> {
        let now = now_ms();
        let tables = self.tables()?;
        let endpoints = self.endpoints()?;
        let mut deliveries = 0;
        #[derive(Deserialize)]
        struct Known {
            #[allow(dead_code)]
            id: String,
        }
        for event in &events {
            let known: Vec<Known> = tables.rows(
                "events",
                "SELECT id FROM events WHERE id = ?",
                vec![event.id.as_str().into()],
            )?;
            if !known.is_empty() {
                continue;
            }
            let kind = event.body.kind();
            tables.exec(
                "keeping an event",
                "INSERT INTO events (id, kind, at_ms, json) VALUES (?, ?, ?, ?)",
                vec![
                    event.id.as_str().into(),
                    kind.into(),
                    now.into(),
                    json(event)?.into(),
                ],
            )?;
            for e in endpoints.iter().filter(|e| e.takes(kind)) {
                self.schedule(&tables, &event.id, &e.id, now)?;
                deliveries += 1;
            }
        }
        if deliveries > 0 {
            arm_by(&self.storage, now, now).await?;
        }
        Ok(Ok(protocol::Accepted { deliveries }))
    }

    async fn create(&self, c: protocol::Create) -> Handled<protocol::Create> {
        if self.endpoints()?.len() >= ENDPOINTS_MAX {
            return Ok(Err(WebhookRefusal::TooMany));
        }
        let endpoint = Endpoint {
            id: c.id,
            url: c.url,
            events: c.events,
            description: c.description,
            enabled: true,
            disabled_reason: None,
            secret: c.secret,
            previous_secret: None,
            created_at_ms: now_ms(),
        };
        self.put_endpoint(&endpoint)?;
        Ok(Ok(view(&endpoint, true)))
    }

    async fn list(&self) -> Handled<protocol::List> {
        let endpoints = self.endpoints()?.iter().map(|e| view(e, false)).collect();
        Ok(Ok(protocol::EndpointList { endpoints }))
    }

    async fn get(&self, protocol::Get { id }: protocol::Get) -> Handled<protocol::Get> {
        Ok(self
            .endpoint(&id)?
            .map(|e| view(&e, false))
            .ok_or(WebhookRefusal::NotFound))
    }

    async fn update(&self, c: protocol::Update) -> Handled<protocol::Update> {
        let Some(mut e) = self.endpoint(&c.id)? else {
            return Ok(Err(WebhookRefusal::NotFound));
        };
        if let Some(url) = c.url {
            e.url = url;
        }
        if let Some(events) = c.events {
            e.events = events;
        }
        if let Some(description) = c.description {
            e.description = description;
        }
        match c.enabled {
            Some(true) => {
                e.enabled = true;
                e.disabled_reason = None;
            }
            Some(false) if e.enabled => {
                e.enabled = false;
                e.disabled_reason = Some("admin".into());
                self.cancel_deliveries(&e.id)?;
            }
            _ => {}
        }
        self.put_endpoint(&e)?;
        Ok(Ok(view(&e, false)))
    }

    async fn delete(&self, protocol::Delete { id }: protocol::Delete) -> Handled<protocol::Delete> {
        if self.endpoint(&id)?.is_none() {
            return Ok(Err(WebhookRefusal::NotFound));
        }
        self.tables()?.exec(
            "deleting an endpoint",
            "DELETE FROM endpoints WHERE id = ?",
            vec![id.as_str().into()],
        )?;
        self.cancel_deliveries(&id)?;
        Ok(Ok(protocol::Deleted {}))
    }

    async fn rotate(&self, c: protocol::Rotate) -> Handled<protocol::Rotate> {
        let Some(mut e) = self.endpoint(&c.id)? else {
            return Ok(Err(WebhookRefusal::NotFound));
        };
        e.rotate(c.secret, now_ms());
        self.put_endpoint(&e)?;
        Ok(Ok(view(&e, true)))
    }

    async fn deliveries(&self, c: protocol::Deliveries) -> Handled<protocol::Deliveries> {
        if self.endpoint(&c.id)?.is_none() {
            return Ok(Err(WebhookRefusal::NotFound));
        }
        #[derive(Deserialize)]
        struct Row {
            seq: f64,
            json: String,
        }
        let rows: Vec<Row> = self.tables()?.rows(
            "delivery log",
            "SELECT seq, json FROM attempts WHERE endpoint_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            vec![
                c.id.as_str().into(),
                c.before.unwrap_or(i64::MAX).into(),
                i64::from(c.limit).into(),
            ],
        )?;
        let mut attempts = Vec::with_capacity(rows.len());
        for row in rows {
            let mut a: Attempt =
                serde_json::from_str(&row.json).map_err(|e| format!("a logged attempt: {e}"))?;
            a.seq = row.seq as i64;
            attempts.push(a);
        }
        Ok(Ok(protocol::DeliveryPage { attempts }))
    }

    async fn replay(&self, c: protocol::Replay) -> Handled<protocol::Replay> {
        let Some(endpoint) = self.endpoint(&c.id)? else {
            return Ok(Err(WebhookRefusal::NotFound));
        };
        let tables = self.tables()?;
        #[derive(Deserialize)]
        struct Kept {
            id: String,
            kind: String,
        }
        let kept: Vec<Kept> = match &c.event {
            Some(id) => tables.rows(
                "events",
                "SELECT id, kind FROM events WHERE id = ?",
                vec![id.as_str().into()],
            )?,
            None => tables.rows(
                "events",
                "SELECT id, kind FROM events WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms",
                vec![
                    c.from_ms.unwrap_or(0).into(),
                    c.to_ms.unwrap_or(i64::MAX).into(),
                ],
            )?,
        };
        if c.event.is_some() && kept.is_empty() {
            return Ok(Err(WebhookRefusal::NoSuchEvent));
        }
        let now = now_ms();
        let mut deliveries = 0;
        // A replay is asked for: the endpoint's filter does not stand in
        // the way of one event named by id.
        for k in kept.iter().filter(|k| {
            c.event.is_some() || endpoint.events.is_empty() || endpoint.events.contains(&k.kind)
        }) {
            self.schedule(&tables, &k.id, &endpoint.id, now)?;
            deliveries += 1;
        }
        if deliveries > 0 {
            arm_by(&self.storage, now, now).await?;
        }
        Ok(Ok(protocol::Replayed { deliveries }))
    }

    /// The alarm: makes the attempts that are due, logs each, schedules
    /// retries, and forgets what is older than the retention.
    async fn deliver_due(&self) -> Result<(), String> {
        let now = now_ms();
        let tables = self.tables()?;
        let cutoff = now - LOG_RETENTION_MS;
        tables.exec(
            "pruning events",
            "DELETE FROM events WHERE at_ms < ?",
            vec![cutoff.into()],
        )?;
        tables.exec(
            "pruning the log",
            "DELETE FROM attempts WHERE at_ms < ?",
            vec![cutoff.into()],
        )?;
        // Batch after batch while deliveries are due, for a bounded time
        // (what is left is the next run's).
        while now_ms() - now < RUN_MS {
            let due: Vec<Due> = tables.rows(
                "due deliveries",
                "SELECT event_id, endpoint_id, attempts FROM deliveries WHERE next_at_ms <= ? ORDER BY next_at_ms LIMIT ?",
                vec![now_ms().into(), BATCH.into()],
            )?;
            if due.is_empty() {
                break;
            }
            let endpoints = self.endpoints()?;
            let attempts = join_all(due.iter().map(|d| self.attempt(d, &endpoints, now))).await;
            for result in attempts {
                if let Err(e) = result {
                    worker::console_error!("webhook delivery: {e}");
                }
            }
        }
        #[derive(Deserialize)]
        struct Next {
            at: Option<f64>,
        }
        let next: Vec<Next> = tables.rows(
            "next delivery",
            "SELECT MIN(next_at_ms) AS at FROM deliveries",
            Vec::new(),
        )?;
        if let Some(at) = next.first().and_then(|n| n.at) {
            arm_by(&self.storage, (at as i64).max(now_ms()), now_ms()).await?;
        }
        Ok(())
    }

    /// One attempt of delivery `d`: sent, logged, and the delivery done,
    /// rescheduled or given up.
    async fn attempt(&self, d: &Due, endpoints: &[Endpoint], now: i64) -> Result<(), String> {
        let tables = self.tables()?;
        let forget = || {
            tables.exec(
                "ending a delivery",
                "DELETE FROM deliveries WHERE event_id = ? AND endpoint_id = ?",
                vec![d.event_id.as_str().into(), d.endpoint_id.as_str().into()],
            )
        };
        let Some(endpoint) = endpoints
            .iter()
            .find(|e| e.id == d.endpoint_id && e.enabled)
        else {
            return forget();
        };
        let Some(event) = tables.document::<Event>(
            "event",
            "SELECT json FROM events WHERE id = ?",
            vec![d.event_id.as_str().into()],
        )?
        else {
            return forget();
        };
        let body = json(&event)?;
        let attempt = d.attempts as u32 + 1;
        let started = now_ms();
        let sent = post(endpoint, &event.id, &body, started).await;
        let ended = now_ms();
        let (status, error) = match sent {
            Ok(status) => (Some(status), None),
            Err(e) => (None, Some(e)),
        };
        let mut log = Attempt {
            seq: 0,
            event: event.id.clone(),
            kind: event.body.kind().into(),
            attempt,
            at_ms: started,
            status,
            error,
            duration_ms: ended - started,
            outcome: String::new(),
            next_attempt_at_ms: None,
        };
        match Verdict::of(status) {
            Verdict::Delivered => {
                log.outcome = "delivered".into();
                forget()?;
            }
            Verdict::Gone => {
                log.outcome = "gone".into();
                let mut disabled = endpoint.clone();
                disabled.enabled = false;
                disabled.disabled_reason = Some("gone".into());
                self.put_endpoint(&disabled)?;
                self.cancel_deliveries(&disabled.id)?;
            }
            Verdict::Retry => match retry_delay_ms(attempt, worker::js_sys::Math::random()) {
                Some(delay) => {
                    let delay = delay * self.retry_percent / 100;
                    log.outcome = "retry".into();
                    log.next_attempt_at_ms = Some(ended + delay);
                    tables.exec(
                        "rescheduling a delivery",
                        "UPDATE deliveries SET attempts = ?, next_at_ms = ? WHERE event_id = ? AND endpoint_id = ?",
                        vec![
                            i64::from(attempt).into(),
                            (ended + delay).into(),
                            d.event_id.as_str().into(),
                            d.endpoint_id.as_str().into(),
                        ],
                    )?;
                }
                None => {
                    log.outcome = "failed".into();
                    worker::console_error!(
                        "webhook {} to {}: every attempt failed",
                        event.id,
                        endpoint.url
                    );
                    forget()?;
                }
            },
        }
        tables.exec(
            "logging an attempt",
            "INSERT INTO attempts (endpoint_id, json, at_ms) VALUES (?, ?, ?)",
            vec![
                endpoint.id.as_str().into(),
                json(&log)?.into(),
                started.into(),
            ],
        )?;
        let _ = now;
        Ok(())
    }
}

/// The admin view of endpoint `e`, with its secret when `secret`.
fn view(e: &Endpoint, secret: bool) -> EndpointView {
    EndpointView {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.events.clone(),
        description: e.description.clone(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        secret: secret.then(|| e.secret.clone()),
        previous_secret_until_ms: e.previous_secret.as_ref().map(|(_, until)| *until),
        created_at_ms: e.created_at_ms,
    }
}

/// POSTs one signed delivery; the status, or why there is none.
async fn post(endpoint: &Endpoint, id: &str, body: &str, now_ms: i64) -> Result<u16, String> {
    let timestamp = now_ms / 1000;
    let signature = sign(
        id,
        timestamp,
        body.as_bytes(),
        &endpoint.signing_secrets(now_ms),
    )
    .map_err(|_| format!("endpoint {} has an unusable secret", endpoint.id))?;
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| e.to_string());
    set("Content-Type", "application/json")?;
    set("User-Agent", "Edgecart-Webhooks/1")?;
    set("webhook-id", id)?;
    set("webhook-timestamp", &timestamp.to_string())?;
    set("webhook-signature", &signature)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(&endpoint.url, &init).map_err(|e| e.to_string())?;
    let send = Box::pin(async move {
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // Read (and drop) the body, so the connection can be reused.
        let _ = response.bytes().await;
        Ok::<_, String>(response.status_code())
    });
    match select(send, Box::pin(worker::Delay::from(TIMEOUT))).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("no answer within {TIMEOUT:?}")),
    }
}
