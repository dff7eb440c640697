//! The order objects: one per order (named by its id), its record, token
//! and status changes.

use super::audit::Actor;
use super::{bind, Protocol};
use edgecart_domain::order::{Order, OrderEvent, OrderStatus};
use edgecart_domain::points::Programme;
use edgecart_domain::store::PaymentSettings;
use serde::{Deserialize, Serialize};

/// A command to one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum OrderCommand {
    Record(Record),
    Get(Get),
    Transition(Transition),
    ProviderEvent(ProviderEvent),
    OutboxAck(OutboxAck),
}

impl Protocol for OrderCommand {
    const BINDING: &'static str = "ORDER";
    type Refusal = OrderRefusal;
}

bind!(OrderCommand {
    Record => Box<Order>,
    Get => Box<Order>,
    Transition => Box<Order>,
    ProviderEvent => Box<Order>,
    OutboxAck => OutboxAcked,
});

super::outbox_ack!();

/// Records the order with its token and the payment settings it was paid
/// with (refunds use them); an order already recorded stays as it is (and
/// is answered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub order: Box<Order>,
    pub token: String,
    pub settings: PaymentSettings,
    /// The store's points programme when the order has a member: what its
    /// earning's lot is made by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<Programme>,
}

/// Reads the order: with the shopper's token, or (`token: None`) for the
/// admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    pub token: Option<String>,
}

/// Moves the order on `event` (shopper: only `cancel`, with the token;
/// admin: `token: None`) and carries out its effects (restock, refund,
/// and the entry of the store's audit trail that records `actor`'s
/// action); its events update the store's order index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub token: Option<String>,
    pub actor: Actor,
    pub event: OrderEvent,
}

/// What the payment provider reported about the order's payment (a
/// verified webhook, event `event`): applied once per event id (ids are
/// remembered 72 hours), and only to the payment `reference` the order was
/// paid with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEvent {
    pub event: String,
    pub reference: String,
    pub change: ProviderChange,
}

/// A change of an order's payment made at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderChange {
    /// `refunded` of `amount` minor units are refunded so far: all of it
    /// refunds the order (as the merchant's refund would), part of it is
    /// recorded in the audit trail.
    Refunded { refunded: i64, amount: i64 },
    /// A dispute (chargeback) was opened.
    Disputed {
        dispute: edgecart_domain::order::Dispute,
    },
}

/// Why an order refused a command. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum OrderRefusal {
    /// No such order, or the token does not open it.
    NotFound,
    /// The order's status does not allow the event.
    Illegal {
        from: OrderStatus,
        event: OrderEvent,
    },
}
