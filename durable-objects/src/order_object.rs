//! `OrderObject`: one Durable Object per order (named by its id). It keeps
//! the order record, its secret token and the payment settings it was paid
//! with in SQLite. Recording is idempotent (checkout may retry it after a
//! crash: the first record stands), and a wrong token is answered like an
//! unknown order.
//!
//! Status changes follow the domain's state machine
//! (`edgecart_domain::order`). A change, its events and the effects it
//! owes (restock the sold units, refund the payment, record the action in
//! the store's audit trail) are written in one commit first, then carried
//! out idempotently (stock operation ids and the provider's idempotency key
//! derive from the order id, the audit entry's key from the order id and
//! the change's place in its history); what fails stays owed and the alarm
//! retries it. The store's order index follows the order's events (the
//! events queue's consumer feeds it), so recording an order asks no other
//! object.

use crate::object::{alarm_serially, answer, rfc3339, serially, serve, Encoded, Handled, Tables};
use crate::outbox::{self, Source, SourceClass};
use crate::payment::{self, RefundOutcome};
use crate::protocol::order::{self, OrderCommand, OrderRefusal};
use crate::protocol::store::{self, AuditRecord, PendingEntry};
use crate::protocol::{points, send, stock};
use edgecart_domain::audit;
use edgecart_domain::checkout::stock_op_id;
use edgecart_domain::events::order_events;
use edgecart_domain::member::ledger_name;
use edgecart_domain::order::{Order, OrderEvent};
use edgecart_domain::points::Programme;
use edgecart_domain::secret::token_opens;
use edgecart_domain::stock::StockOp;
use edgecart_domain::store::PaymentSettings;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use worker::{console_error, durable_object, DurableObject, Env, Request, Response, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, json TEXT NOT NULL);
";
/// How soon owed effects are tried again.
const RETRY_MS: i64 = 30_000;

/// The stored row (`json`): the order and what is still owed for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderRow {
    order: Order,
    settings: PaymentSettings,
    /// The store's points programme, for an order with a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    programme: Option<Programme>,
    #[serde(default)]
    owed: Owed,
    /// The provider's events applied, by id, with when (kept 72 hours).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    events: std::collections::BTreeMap<String, i64>,
}

/// How long a provider's event id is remembered: Stripe retries a webhook
/// for up to three days.
const EVENTS_KEPT_MS: i64 = 72 * 60 * 60 * 1000;
/// The actor the provider's own changes are recorded with.
const PROVIDER_ACTOR: &str = "stripe";

/// Effects of status changes not carried out yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Owed {
    /// Sold units to give back (the event that caused it names the ops).
    restock: Option<String>,
    /// Sold units to take out of stock: the order was fulfilled (absent
    /// from rows written before shipping moved stock).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    ship: bool,
    refund: bool,
    /// The store's order index to update: owed by rows written before the
    /// index was fed by the events queue (the order's events feed it now).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    index: bool,
    /// Entries for the store's audit trail, not acknowledged yet (absent
    /// from rows written before there were any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    audit: Vec<PendingEntry>,
    /// The points the order earned, not recorded in the member's ledger yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    earn: bool,
    /// The member's points to settle after a cancellation or refund (spent
    /// ones back into their lots, earned ones taken back), by this actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    points_back: Option<String>,
}

#[durable_object]
pub struct OrderObject {
    state: State,
    inner: Rc<Orders>,
}

struct Orders {
    state_storage: worker::Storage,
    env: Env,
    /// The tables exist (created once per instance, not per command).
    schema_ready: std::cell::Cell<bool>,
    /// The row as last read or written by this instance (every write goes
    /// through [`Orders::save`]), so an acknowledgement or an alarm does
    /// not read and parse the whole order again.
    row: std::cell::RefCell<Option<(String, OrderRow)>>,
}

use crate::object::now_ms;

impl DurableObject for OrderObject {
    fn new(state: State, env: Env) -> Self {
        let inner = Rc::new(Orders {
            state_storage: state.storage(),
            env,
            schema_ready: std::cell::Cell::new(false),
            row: std::cell::RefCell::new(None),
        });
        OrderObject { state, inner }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let orders = self.inner.clone();
        serve(req, |command: OrderCommand| {
            serially(&self.state, async move { orders.handle(command).await })
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let orders = self.inner.clone();
        alarm_serially(&self.state, async move { orders.settle().await }).await
    }
}

impl Orders {
    /// The order's tables (and the outbox's), created once per instance.
    fn tables(&self) -> Result<Tables, String> {
        if self.schema_ready.get() {
            return Ok(Tables::opened(&self.state_storage));
        }
        let tables = Tables::open(&self.state_storage, SCHEMA)?;
        Tables::open(&self.state_storage, outbox::OUTBOX_SCHEMA)?;
        self.schema_ready.set(true);
        Ok(tables)
    }

    fn load(&self) -> Result<Option<(String, OrderRow)>, String> {
        if let Some(row) = self.row.borrow().as_ref() {
            return Ok(Some(row.clone()));
        }
        let loaded: Option<(String, OrderRow)> = self.tables()?.token_row("orders", "order")?;
        self.row.borrow_mut().clone_from(&loaded);
        Ok(loaded)
    }

    fn save(&self, token: &str, row: &OrderRow) -> Result<(), String> {
        // Dropped first: a write that fails leaves nothing stale behind.
        self.row.borrow_mut().take();
        self.tables()?
            .put_token_row("orders", "order", token, row)?;
        *self.row.borrow_mut() = Some((token.to_string(), row.clone()));
        Ok(())
    }

    /// Saves the row with the events of its history from position `from`
    /// in the outbox, and arms the alarm that sends them again should they
    /// go unacknowledged: one commit (no await between the writes). Returns
    /// the events, for [`Orders::publish_and_carry_out`].
    async fn save_with_events(
        &self,
        token: &str,
        row: &OrderRow,
        from: usize,
    ) -> Result<Vec<edgecart_domain::events::Event>, String> {
        self.save(token, row)?;
        let tables = self.tables()?;
        let now = now_ms();
        let events = order_events(&row.order, from);
        for event in &events {
            outbox::add(&tables, event, now)?;
        }
        if !events.is_empty() {
            outbox::arm_resend(&self.state_storage, now).await?;
        }
        Ok(events)
    }

    /// Sends the events just committed to the queue at once (not from an
    /// alarm: one wake-up less per change) while `row`'s owed effects are
    /// carried out (neither waits for the other). Should the queue not take
    /// them, the alarm [`Orders::save_with_events`] armed sends them again.
    async fn publish_and_carry_out(
        &self,
        token: &str,
        row: &mut OrderRow,
        events: Vec<edgecart_domain::events::Event>,
    ) -> Result<(), String> {
        let (source, id) = (Self::source(row), row.order.id.clone());
        let publish = async {
            if let Err(e) = outbox::send(&self.env, &source, events).await {
                console_error!("order {id}: events left for the alarm: {e}");
            }
        };
        futures_util::future::join(publish, self.carry_out(token, row))
            .await
            .1
    }

    /// Where this order's events come from.
    fn source(row: &OrderRow) -> Source {
        Source {
            class: SourceClass::Order,
            name: edgecart_domain::stores::object_name(&row.order.store, &row.order.id),
        }
    }

    async fn handle(&self, command: OrderCommand) -> Encoded {
        match command {
            OrderCommand::Record(c) => answer(c, |c| self.record(c)).await,
            OrderCommand::Get(c) => answer(c, |c| self.get(c)).await,
            OrderCommand::Transition(c) => answer(c, |c| self.transition(c)).await,
            OrderCommand::ProviderEvent(c) => answer(c, |c| self.provider_event(c)).await,
            OrderCommand::OutboxAck(c) => answer(c, |c| self.outbox_ack(c)).await,
        }
    }

    async fn record(
        &self,
        order::Record {
            order,
            token,
            settings,
            programme,
        }: order::Record,
    ) -> Handled<order::Record> {
        if let Some((_, row)) = self.load()? {
            return Ok(Ok(Box::new(row.order)));
        }
        let earn = order.points.as_ref().is_some_and(|p| p.earned > 0) && programme.is_some();
        let mut row = OrderRow {
            order: *order,
            settings,
            programme,
            owed: Owed {
                earn,
                ..Owed::default()
            },
            events: Default::default(),
        };
        let events = self.save_with_events(&token, &row, 0).await?;
        self.publish_and_carry_out(&token, &mut row, events).await?;
        Ok(Ok(Box::new(row.order)))
    }

    async fn get(&self, order::Get { token }: order::Get) -> Handled<order::Get> {
        Ok(match self.open(token.as_deref())? {
            Some((_, row)) => Ok(Box::new(row.order)),
            None => Err(OrderRefusal::NotFound),
        })
    }

    async fn transition(
        &self,
        order::Transition {
            token,
            actor,
            event,
        }: order::Transition,
    ) -> Handled<order::Transition> {
        // Shoppers may only cancel, with their token.
        if token.is_some() && event != OrderEvent::Cancel {
            return Ok(Err(OrderRefusal::NotFound));
        }
        let Some((stored_token, mut row)) = self.open(token.as_deref())? else {
            return Ok(Err(OrderRefusal::NotFound));
        };
        let from = row.order.history.len();
        if let Err(illegal) = Self::moved(&mut row, event, &actor, now_ms()) {
            return Ok(Err(illegal));
        }
        // The change, what it owes and its event commit together.
        let events = self.save_with_events(&stored_token, &row, from).await?;
        let done = self.publish_and_carry_out(&stored_token, &mut row, events);
        if let Err(e) = done.await {
            console_error!("order {}: effects pending: {e}", row.order.id);
        }
        Ok(Ok(Box::new(row.order)))
    }

    /// Moves `row`'s order on `event` by `actor` at `now`, noting the
    /// effects it owes and its audit entry (the caller stores the row).
    fn moved(
        row: &mut OrderRow,
        event: OrderEvent,
        actor: &str,
        now: i64,
    ) -> Result<(), OrderRefusal> {
        let from = row.order.status;
        let effects = row
            .order
            .apply(event, now)
            .map_err(|_| OrderRefusal::Illegal { from, event })?;
        if effects.restock_sold || effects.release_stock {
            row.owed.restock = Some(format!("{event:?}").to_lowercase());
        }
        row.owed.ship |= effects.ship_sold;
        // The card's part is refunded; an order the points paid in full
        // asked no provider.
        row.owed.refund |= effects.refund && row.order.card_amount() > 0;
        if row.order.points.is_some() && matches!(event, OrderEvent::Cancel | OrderEvent::Refund) {
            // Points not yet earned never will be; what was earned or
            // spent is settled with the member's ledger.
            row.owed.earn = false;
            row.owed.points_back = Some(actor.to_string());
        }
        if let Some(change) = audit::order_moved(&row.order.id, event, from, row.order.status) {
            // The change's place in the history names its entry.
            let key = audit::order_key(&row.order.id, row.order.history.len() - 1);
            let record = AuditRecord::of(rfc3339(now), actor, &change);
            row.owed.audit.push(PendingEntry { key, record });
        }
        Ok(())
    }

    /// A change the provider made to the order's payment (its webhook):
    /// once per event; a refund of all of it refunds the order (units back
    /// on sale, points settled, recorded with the actor `stripe`; the
    /// provider's refund is asked again and found done), part of it and a
    /// dispute are recorded in the order and the store's audit trail.
    async fn provider_event(
        &self,
        order::ProviderEvent {
            event,
            reference,
            change,
        }: order::ProviderEvent,
    ) -> Handled<order::ProviderEvent> {
        let Some((token, mut row)) = self.load()? else {
            return Ok(Err(OrderRefusal::NotFound));
        };
        let now = now_ms();
        row.events.retain(|_, at| now - *at < EVENTS_KEPT_MS);
        if row.events.contains_key(&event) || reference != row.order.payment.reference {
            return Ok(Ok(Box::new(row.order)));
        }
        row.events.insert(event.clone(), now);
        let from = row.order.history.len();
        let id = row.order.id.clone();
        let record = |row: &mut OrderRow, key: String, change: &edgecart_domain::admin::Change| {
            let record = AuditRecord::of(rfc3339(now), PROVIDER_ACTOR, change);
            row.owed.audit.push(PendingEntry { key, record });
        };
        match change {
            order::ProviderChange::Refunded { refunded, amount } if refunded >= amount => {
                // Refunded already (by the merchant, here), or not
                // refundable: nothing moves.
                if let Err(e) = Self::moved(&mut row, OrderEvent::Refund, PROVIDER_ACTOR, now) {
                    worker::console_log!("order {id}: provider refund not applied: {e:?}");
                }
            }
            order::ProviderChange::Refunded { refunded, amount } => {
                let change = audit::order_refunded_at_provider(&id, refunded, amount);
                record(&mut row, format!("{id}:provider:{event}"), &change);
            }
            order::ProviderChange::Disputed { dispute } => {
                if !row.order.disputes.iter().any(|d| d.id == dispute.id) {
                    console_error!("order {id}: disputed ({}, {})", dispute.id, dispute.reason);
                    let change = audit::order_disputed(&id, &dispute);
                    record(&mut row, format!("{id}:provider:{event}"), &change);
                    row.order.disputes.push(dispute);
                }
            }
        }
        let events = self.save_with_events(&token, &row, from).await?;
        if let Err(e) = self.publish_and_carry_out(&token, &mut row, events).await {
            console_error!("order {id}: effects pending: {e}");
        }
        Ok(Ok(Box::new(row.order)))
    }

    /// The order if `token` opens it (`None`: the admin API, already
    /// authorized by the Worker).
    fn open(&self, token: Option<&str>) -> Result<Option<(String, OrderRow)>, String> {
        Ok(self
            .load()?
            .filter(|(stored, _)| token.is_none_or(|t| token_opens(stored, t))))
    }

    /// Carries out what the stored order owes, and forwards its events
    /// (the alarm).
    async fn settle(&self) -> Result<(), String> {
        let Some((token, mut row)) = self.load()? else {
            return Ok(());
        };
        let forwarded = outbox::forward(
            &self.env,
            &self.state_storage,
            &Self::source(&row),
            now_ms(),
        )
        .await;
        self.carry_out(&token, &mut row).await?;
        forwarded
    }

    async fn outbox_ack(
        &self,
        order::OutboxAck { events }: order::OutboxAck,
    ) -> Handled<order::OutboxAck> {
        // An alarm that only waits for these acknowledgements (nothing
        // left to send, nothing owed) would wake the object for nothing.
        if outbox::ack(&self.tables()?, &events)?
            && self
                .load()?
                .is_some_and(|(_, row)| row.owed == Owed::default())
        {
            self.state_storage
                .delete_alarm()
                .await
                .map_err(|e| format!("dropping the alarm: {e}"))?;
        }
        Ok(Ok(order::OutboxAcked {}))
    }

    /// Applies `op(quantity)` to the stock of each of `order`'s lines, once
    /// per (order, `step`, SKU). A refusal is an answer (the ledger has no
    /// such units: done); an unreachable object is the error, and the whole
    /// step is owed again, its applied lines remembered by their op ids.
    async fn move_stock(
        &self,
        order: &Order,
        step: &str,
        op: impl Fn(i64) -> StockOp,
    ) -> Result<(), String> {
        let results = join_all(order.lines.iter().map(|l| {
            let command = stock::Apply {
                op_id: stock_op_id(&order.id, step, &l.sku),
                op: op(l.quantity),
            };
            send(&self.env, &l.sku, command)
        }))
        .await;
        match results.into_iter().find_map(Result::err) {
            None => Ok(()),
            Some(e) => Err(e.to_string()),
        }
    }

    /// Carries out what `row`, the order as just stored under `token`, owes
    /// (and stores what is left); what fails stays owed, with the alarm set.
    async fn carry_out(&self, token: &str, row: &mut OrderRow) -> Result<(), String> {
        let id = row.order.id.clone();
        let owed_before = row.owed.clone();
        let mut failures = Vec::new();
        if let Some(step) = row.owed.restock.clone() {
            let done = self
                .move_stock(&row.order, &format!("restock-{step}"), |quantity| {
                    StockOp::Restock {
                        quantity,
                        reason: format!("order {id}: {step}"),
                    }
                })
                .await;
            match done {
                Ok(()) => row.owed.restock = None,
                Err(e) => failures.push(format!("restock: {e}")),
            }
        }
        if row.owed.ship {
            let done = self
                .move_stock(&row.order, "ship", |quantity| StockOp::Ship {
                    quantity,
                    reason: format!("order {id}: fulfil"),
                })
                .await;
            match done {
                Ok(()) => row.owed.ship = false,
                Err(e) => failures.push(format!("shipping: {e}")),
            }
        }
        if row.owed.refund {
            match payment::refund(&self.env, &row.settings, &id, &row.order.payment.reference).await
            {
                RefundOutcome::Refunded => row.owed.refund = false,
                RefundOutcome::Unavailable { cause } => failures.push(format!("refund: {cause}")),
            }
        }
        if let Some(points) = row.order.points.clone() {
            let ledger = ledger_name(&row.order.store, &points.member);
            if row.owed.earn {
                match &row.programme {
                    Some(programme) => {
                        let command = points::Earn {
                            order: id.clone(),
                            amount: points.earned,
                            programme: programme.clone(),
                        };
                        match send(&self.env, &ledger, command).await {
                            Ok(_) => row.owed.earn = false,
                            Err(e) => failures.push(format!("earning points: {e}")),
                        }
                    }
                    None => row.owed.earn = false,
                }
            }
            if let Some(actor) = row.owed.points_back.clone() {
                let restore = send(
                    &self.env,
                    &ledger,
                    points::Restore {
                        order: id.clone(),
                        actor: actor.clone(),
                    },
                )
                .await;
                let revoke = match restore {
                    Ok(_) => {
                        send(
                            &self.env,
                            &ledger,
                            points::Revoke {
                                order: id.clone(),
                                actor,
                            },
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                match revoke {
                    Ok(_) => row.owed.points_back = None,
                    Err(e) => failures.push(format!("points back: {e}")),
                }
            }
        }
        if row.owed.index {
            let orders = vec![store::IndexedOrder::of(&row.order)];
            match send(&self.env, &row.order.store, store::IndexOrders { orders }).await {
                Ok(_) => row.owed.index = false,
                Err(e) => failures.push(format!("index: {e}")),
            }
        }
        if !row.owed.audit.is_empty() {
            let entries = row.owed.audit.clone();
            match send(&self.env, &row.order.store, store::RecordAudit { entries }).await {
                Ok(_) => row.owed.audit.clear(),
                Err(e) => failures.push(format!("audit: {e}")),
            }
        }
        // Nothing carried out (an alarm that only forwarded events): the
        // stored row is the row.
        if row.owed != owed_before {
            self.save(token, row)?;
        }
        if failures.is_empty() {
            return Ok(());
        }
        crate::object::arm_in(&self.state_storage, RETRY_MS).await?;
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn order() -> Value {
        let fixture: Value =
            serde_json::from_str(include_str!("protocol/fixtures/order.json")).unwrap();
        fixture["commands"]["record"]["order"].clone()
    }

    /// Rows written before owed audit entries existed still load, and a
    /// row that owes none is written as before.
    #[test]
    fn stored_rows_still_load() {
        let before_owed = json!({"order": order(), "settings": {"provider": "test"}});
        let row: OrderRow = serde_json::from_value(before_owed).unwrap();
        assert_eq!(row.owed, Owed::default());
        let before_audit = json!({
            "order": order(),
            "settings": {"provider": "test"},
            "owed": {"restock": "cancel", "refund": true, "index": true}
        });
        let row: OrderRow = serde_json::from_value(before_audit.clone()).unwrap();
        assert!(row.owed.refund && row.owed.audit.is_empty());
        assert_eq!(serde_json::to_value(&row).unwrap(), before_audit);
    }

    #[test]
    fn owed_audit_entries_are_stored_with_the_row() {
        let mut row: OrderRow =
            serde_json::from_value(json!({"order": order(), "settings": {"provider": "test"}}))
                .unwrap();
        row.owed.audit.push(PendingEntry {
            key: "order:ord_0123456789abcdef01234567:2".into(),
            record: AuditRecord {
                at: "2026-12-06T17:00:00.000Z".into(),
                actor: "ops".into(),
                action: "order.refund".into(),
                target: "order:ord_0123456789abcdef01234567".into(),
                fields: vec!["status".into()],
                before: Some(r#"{"status":"paid"}"#.into()),
                after: Some(r#"{"status":"refunded"}"#.into()),
            },
        });
        let text = serde_json::to_string(&row).unwrap();
        let back: OrderRow = serde_json::from_str(&text).unwrap();
        assert_eq!(back.owed, row.owed);
    }
}
