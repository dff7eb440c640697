//! The audit trail's rules for a store's own records: what counts as a
//! change of its configuration, a promotion, its profile or an order's
//! status, which top-level fields it changed, and the entry it makes
//! (an [`admin::Change`](crate::admin::Change), as catalog writes make).
//!
//! A write that changes nothing makes no entry. Snapshots (`before`,
//! `after`) are the records as stored, or an order's status; `fields` are
//! the top-level fields whose values differ, in byte order, and are
//! empty for a creation and a deletion (as for the catalog).
//!
//! What this module must not do: read a clock (the time of an entry is
//! its caller's), know who may write what, or know where entries are kept.

use crate::admin::Change;
use crate::order::{OrderEvent, OrderStatus};
use crate::promotion::Promotion;
use crate::store::StoreConfig;
use crate::stores::StoreProfile;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The actor of a change made by a shopper with their order's token (a
/// shopper's own cancel); admin tokens may not take this label.
pub const SHOPPER: &str = "shopper";

/// The audit key of an order's status change: the order's id and the
/// change's position in its history, so every delivery of the same change
/// names the same entry.
pub fn order_key(order: &str, position: usize) -> String {
    format!("order:{order}:{position}")
}

/// Every action an audit entry may record, in either kind of trail (the
/// API documents exactly these).
pub const ACTIONS: &[&str] = &[
    "product.create",
    "product.update",
    "product.delete",
    "price.set",
    "price.delete",
    "category.create",
    "category.rename",
    "store.config.set",
    "promotion.set",
    "promotion.delete",
    "order.fulfil",
    "order.refund",
    "order.cancel",
    "order.dispute",
    "order.provider_refund",
    "store.create",
    "store.update",
    "store_price.set",
    "store_price.delete",
    "points.grant",
    "points.adjust",
];

/// The audit key of an admin's grant or adjustment of a member's points:
/// the member and the request's idempotency key.
pub fn points_key(member: &str, key: &str) -> String {
    format!("points:{member}:{key}")
}

/// The audit key of a store profile change: the directory's own number for
/// it.
pub fn directory_key(seq: u64) -> String {
    format!("directory:{seq}")
}

/// The top-level fields whose values differ between two records (JSON
/// objects), in byte order. A field absent on one side and present on the
/// other differs.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let fields: BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .collect();
    fields.into_iter().cloned().collect()
}

fn snapshot<T: Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// The entry of a record written (`before`: the record it replaces, if
/// any): `create` or `update` action, or `None` when nothing changed.
fn written<T: Serialize + PartialEq>(
    (create, update): (&'static str, &'static str),
    target: String,
    before: Option<&T>,
    after: &T,
) -> Option<Change> {
    if before == Some(after) {
        return None;
    }
    let after = snapshot(after);
    Some(match before {
        None => Change {
            action: create,
            target,
            fields: Vec::new(),
            before: None,
            after: Some(after),
        },
        Some(before) => {
            let before = snapshot(before);
            Change {
                action: update,
                target,
                fields: changed_fields(&before, &after),
                before: Some(before),
                after: Some(after),
            }
        }
    })
}

/// Store `store`'s configuration set to `after` (`before`: what applied
/// until now, the default configuration when none was written):
/// `store.config.set` on `store:{store}`, or `None` when it is the same.
pub fn config_set(store: &str, before: &StoreConfig, after: &StoreConfig) -> Option<Change> {
    written(
        ("store.config.set", "store.config.set"),
        format!("store:{store}"),
        Some(before),
        after,
    )
}

/// A promotion written (`before`: the one of the same id it replaces):
/// `promotion.set` on `promotion:{id}`, or `None` when it is the same.
pub fn promotion_set(before: Option<&Promotion>, after: &Promotion) -> Option<Change> {
    written(
        ("promotion.set", "promotion.set"),
        format!("promotion:{}", after.id),
        before,
        after,
    )
}

/// A promotion deleted: `promotion.delete` on `promotion:{id}`.
pub fn promotion_delete(before: &Promotion) -> Change {
    Change {
        action: "promotion.delete",
        target: format!("promotion:{}", before.id),
        fields: Vec::new(),
        before: Some(snapshot(before)),
        after: None,
    }
}

/// A store profile written (`before`: the stored profile it replaces):
/// `store.create` or `store.update` on `store:{id}`, or `None` when it is
/// the same.
pub fn profile_put(before: Option<&StoreProfile>, after: &StoreProfile) -> Option<Change> {
    written(
        ("store.create", "store.update"),
        format!("store:{}", after.id),
        before,
        after,
    )
}

/// An order moved from `from` to `to` on `event`: `order.fulfil`,
/// `order.refund` or `order.cancel` on `order:{id}`, with the statuses as
/// snapshots; `None` for the events of payment (checkout's, not a
/// person's action).
pub fn order_moved(
    id: &str,
    event: OrderEvent,
    from: OrderStatus,
    to: OrderStatus,
) -> Option<Change> {
    let action = match event {
        OrderEvent::Fulfil => "order.fulfil",
        OrderEvent::Refund => "order.refund",
        OrderEvent::Cancel => "order.cancel",
        OrderEvent::PaymentCaptured | OrderEvent::PaymentFailed => return None,
    };
    Some(Change {
        action,
        target: format!("order:{id}"),
        fields: vec!["status".into()],
        before: Some(json!({ "status": from })),
        after: Some(json!({ "status": to })),
    })
}

/// The entry of a dispute (chargeback) the payment provider reported for
/// order `id`.
pub fn order_disputed(id: &str, dispute: &crate::order::Dispute) -> Change {
    Change {
        action: "order.dispute",
        target: format!("order:{id}"),
        fields: vec!["disputes".into()],
        before: None,
        after: Some(json!(dispute)),
    }
}

/// The entry of a partial refund made at the payment provider (outside
/// Edgecart) of order `id`: `refunded` of `amount` minor units so far. (A
/// full one moves the order to `refunded`: [`order_moved`].)
pub fn order_refunded_at_provider(id: &str, refunded: i64, amount: i64) -> Change {
    Change {
        action: "order.provider_refund",
        target: format!("order:{id}"),
        fields: vec!["payment".into()],
        before: None,
        after: Some(json!({ "refunded": refunded, "amount": amount })),
    }
}

/// The entry of an admin's grant (`grant`) or adjustment of a member's
/// points: the points moved and why, and the member's available balance
/// before and after.
pub fn points_moved(
    member: &str,
    grant: bool,
    points: i64,
    reason: &str,
    before: i64,
    after: i64,
) -> Change {
    Change {
        action: if grant {
            "points.grant"
        } else {
            "points.adjust"
        },
        target: format!("member:{member}"),
        fields: vec!["available".into()],
        before: Some(json!({ "available": before })),
        after: Some(json!({ "available": after, "points": points, "reason": reason })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_points_and_order_actions_are_listed() {
        for grant in [true, false] {
            let change = points_moved("m-1", grant, 5, "why", 0, 5);
            assert!(ACTIONS.contains(&change.action), "{}", change.action);
            assert_eq!(change.target, "member:m-1");
        }
        for event in [OrderEvent::Fulfil, OrderEvent::Refund, OrderEvent::Cancel] {
            let change =
                order_moved("ord_1", event, OrderStatus::Paid, OrderStatus::Cancelled).unwrap();
            assert!(ACTIONS.contains(&change.action), "{}", change.action);
        }
    }
    use crate::money::Currency;
    use crate::promotion::{Discount, Target};
    use crate::shipping::ShippingMethod;
    use crate::store::PaymentSettings;
    use crate::stores::{Selection, Skin};
    use std::collections::BTreeMap;

    fn promotion(id: &str) -> Promotion {
        Promotion {
            schema: 1,
            id: id.into(),
            code: Some("SAVE10".into()),
            description: "10 % off".into(),
            discount: Discount::Percentage { basis_points: 1000 },
            target: Target::Cart {},
            min_subtotal: BTreeMap::new(),
            starts_at_ms: None,
            ends_at_ms: None,
            usage_limit: None,
            per_customer_limit: None,
            active: true,
        }
    }

    fn profile() -> StoreProfile {
        StoreProfile {
            schema: 1,
            id: "bank".into(),
            name: "Harbour Bank Rewards".into(),
            hosts: vec!["rewards.bank.localhost".into()],
            default_currency: Currency::parse("EUR").unwrap(),
            currencies: vec![Currency::parse("EUR").unwrap()],
            enabled: true,
            skin: Skin {
                name: "Harbour Bank Rewards".into(),
                logo: None,
                colours: BTreeMap::new(),
                hero: String::new(),
                footer: String::new(),
            },
            selection: Selection::All {},
        }
    }

    #[test]
    fn an_unchanged_write_makes_no_entry() {
        let config = StoreConfig::default_config();
        assert_eq!(config_set("bank", &config, &config.clone()), None);
        let p = promotion("save10");
        assert_eq!(promotion_set(Some(&p), &p.clone()), None);
        let s = profile();
        assert_eq!(profile_put(Some(&s), &s.clone()), None);
    }

    #[test]
    fn a_configuration_change_names_the_fields_it_changed() {
        let before = StoreConfig::default_config();
        let mut after = before.clone();
        after.payment = PaymentSettings::Stripe { base_url: None };
        after.shipping_methods.push(ShippingMethod {
            id: "courier".into(),
            name: "Courier".into(),
            countries: vec![],
            rates: BTreeMap::new(),
            free_above: BTreeMap::new(),
        });
        let change = config_set("bank", &before, &after).unwrap();
        assert_eq!(change.action, "store.config.set");
        assert_eq!(change.target, "store:bank");
        assert_eq!(change.fields, ["payment", "shipping_methods"]);
        assert_eq!(change.before.unwrap()["payment"]["provider"], "test");
        assert_eq!(change.after.unwrap()["payment"]["provider"], "stripe");
        // The first configuration written is a change from the default one.
        let first = config_set(
            "default",
            &before,
            &StoreConfig {
                tax: after.tax.clone(),
                ..before.clone()
            },
        );
        assert_eq!(
            first, None,
            "the default configuration written as it is changes nothing"
        );
    }

    #[test]
    fn a_promotion_is_created_changed_and_deleted() {
        let p = promotion("save10");
        let created = promotion_set(None, &p).unwrap();
        assert_eq!(
            (created.action, created.target.as_str()),
            ("promotion.set", "promotion:save10")
        );
        assert!(created.fields.is_empty(), "a creation names no fields");
        assert_eq!(created.before, None);
        assert_eq!(created.after.as_ref().unwrap()["code"], "SAVE10");

        let mut q = p.clone();
        q.active = false;
        q.code = None;
        q.usage_limit = Some(100);
        let changed = promotion_set(Some(&p), &q).unwrap();
        // Fields present on one side only (omitted when unset) count too.
        assert_eq!(changed.fields, ["active", "code", "usage_limit"]);
        assert_eq!(changed.before.as_ref().unwrap()["active"], true);
        assert_eq!(changed.after.as_ref().unwrap()["active"], false);

        let deleted = promotion_delete(&q);
        assert_eq!(deleted.action, "promotion.delete");
        assert!(deleted.fields.is_empty());
        assert_eq!(deleted.after, None);
        assert_eq!(deleted.before.unwrap()["id"], "save10");
    }

    #[test]
    fn a_profile_is_created_then_updated() {
        let s = profile();
        let created = profile_put(None, &s).unwrap();
        assert_eq!(
            (created.action, created.target.as_str()),
            ("store.create", "store:bank")
        );
        assert!(created.fields.is_empty());
        let mut t = s.clone();
        t.enabled = false;
        t.name = "Harbour".into();
        let updated = profile_put(Some(&s), &t).unwrap();
        assert_eq!(updated.action, "store.update");
        assert_eq!(updated.fields, ["enabled", "name"]);
        assert_eq!(updated.before.unwrap()["enabled"], true);
        assert_eq!(updated.after.unwrap()["enabled"], false);
    }

    #[test]
    fn order_actions_record_the_status_before_and_after() {
        let change = order_moved(
            "ord_1",
            OrderEvent::Refund,
            OrderStatus::Fulfilled,
            OrderStatus::Refunded,
        )
        .unwrap();
        assert_eq!(
            (change.action, change.target.as_str()),
            ("order.refund", "order:ord_1")
        );
        assert_eq!(change.fields, ["status"]);
        assert_eq!(change.before, Some(json!({"status": "fulfilled"})));
        assert_eq!(change.after, Some(json!({"status": "refunded"})));
        let actions: Vec<_> = OrderEvent::ALL
            .into_iter()
            .map(|e| {
                order_moved("o", e, OrderStatus::Paid, OrderStatus::Cancelled).map(|c| c.action)
            })
            .collect();
        assert_eq!(
            actions,
            [
                None,
                None,
                Some("order.fulfil"),
                Some("order.cancel"),
                Some("order.refund")
            ]
        );
    }

    #[test]
    fn keys_name_one_change_each() {
        assert_eq!(order_key("ord_1", 3), "order:ord_1:3");
        assert_ne!(order_key("ord_1", 3), order_key("ord_1", 4));
        assert_eq!(directory_key(7), "directory:7");
    }

    #[test]
    fn changed_fields_compares_top_level_values() {
        let before = json!({"a": 1, "b": [1, 2], "c": {"x": 1}, "gone": true});
        let after = json!({"a": 1, "b": [2, 1], "c": {"x": 2}, "new": null});
        assert_eq!(changed_fields(&before, &after), ["b", "c", "gone", "new"]);
        assert!(changed_fields(&before, &before).is_empty());
    }
}
