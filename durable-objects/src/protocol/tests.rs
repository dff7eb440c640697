//! The wire format, pinned: per class a fixture file (`fixtures/*.json`)
//! with one command per variant (named by its tag), the answers each
//! command can get (every reply variant, every refusal variant of the
//! class), and further commands worth pinning. Each fixture must decode to
//! the type its command binds, encode back to the same JSON, and survive a
//! round trip unchanged. Variant lists are read from serde itself, so a
//! variant added without a fixture fails here.

use super::availability::AvailabilityCommand;
use super::cart::{self, CartCommand, CheckoutBeginReply, CheckoutReply, LineChangeDto};
use super::catalog::{self, CatalogCommand, WriteOutcome};
use super::directory::{self, DirectoryCommand};
use super::guard::{self, GuardCommand};
use super::order::{self, OrderCommand};
use super::points::{self, PointsCommand};
use super::reports::{self, ReportsCommand};
use super::stock::{self, StockCommand};
use super::store::{self, OrderSummary, PromotionSaved, StoreCommand};
use super::webhooks::{self, WebhookCommand};
use super::{
    availability, decode_answer, encode_command, Answer, Command, Failure, Protocol, RefusalOf,
};
use crate::object::{decode_command, encode, Encoded};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt::Debug;

/// The variants serde knows of enum `T`: by its tag field (`Some`), or as
/// bare strings (`None`), read from the error an unknown one gets.
fn variants<T: DeserializeOwned>(tag: Option<&str>) -> BTreeSet<String> {
    let probe = match tag {
        Some(tag) => json!({ tag: "no-such-variant" }),
        None => json!("no-such-variant"),
    };
    let error = serde_json::from_value::<T>(probe)
        .err()
        .expect("an unknown variant is refused")
        .to_string();
    let Some((_, expected)) = error.split_once("expected") else {
        return BTreeSet::new();
    };
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, value, "{text}");
}

/// Checks a command's answer fixtures: each decodes as an answer to `C`,
/// encodes back (as the object sends it) to the same JSON, and round-trips.
fn answers_of<C: Command>(tag: &str, answers: &[Value])
where
    C::Reply: PartialEq + Clone,
    RefusalOf<C>: PartialEq + Clone,
{
    assert!(
        answers.iter().any(|a| a.get("ok").is_some()),
        "{tag}: no reply fixture"
    );
    for fixture in answers {
        let answer: Answer<C> = decode_answer::<C>(&fixture.to_string())
            .unwrap_or_else(|e| panic!("{tag}: {fixture} does not decode: {e}"));
        let encoded = encode::<C>(Ok(answer.clone()));
        let sent: Value = serde_json::from_str(encoded.text()).unwrap();
        assert_eq!(&sent, fixture, "{tag}: the answer encodes otherwise");
        assert_eq!(decode_answer::<C>(encoded.text()).unwrap(), answer, "{tag}");
    }
}

/// Checks a class's fixture file; `answers` dispatches a command to
/// [`answers_of`] with the command's own type (an exhaustive match);
/// `refusal_tag`: the tag field of the class's refusal enum.
fn check_class<P>(text: &str, answers: fn(&P, &[Value]), refusal_tag: Option<&str>) -> Value
where
    P: Protocol + PartialEq + Debug,
{
    let fixture: Value = serde_json::from_str(text).expect("fixture is JSON");
    let commands = fixture["commands"].as_object().expect("commands");
    let tags: BTreeSet<String> = commands.keys().cloned().collect();
    assert_eq!(
        tags,
        variants::<P>(Some("command")),
        "one fixture per command"
    );
    for (tag, json) in commands {
        let command: P = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("{tag}: {json} does not decode: {e}"));
        assert_eq!(&serde_json::to_value(&command).unwrap(), json, "{tag}");
        round_trip(&command);
        let fixtures = fixture["answers"][tag.as_str()]
            .as_array()
            .unwrap_or_else(|| panic!("{tag}: no answers"));
        answers(&command, fixtures);
    }
    for json in fixture["also"].as_array().into_iter().flatten() {
        let command: P = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&command).unwrap(), json);
        round_trip(&command);
    }
    let refused: BTreeSet<String> = fixture["answers"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|a| a.as_array().unwrap())
        .filter_map(|a| a.get("refused"))
        .map(|r| r[refusal_tag.unwrap()].as_str().unwrap().to_string())
        .collect();
    let all = match refusal_tag {
        Some(tag) => variants::<P::Refusal>(Some(tag)),
        None => BTreeSet::new(),
    };
    assert_eq!(refused, all, "every refusal has a fixture");
    fixture
}

/// The values of `field` in the `ok` answers of `commands`.
fn replies(fixture: &Value, commands: &[&str], field: Option<&str>) -> BTreeSet<String> {
    commands
        .iter()
        .flat_map(|c| fixture["answers"][*c].as_array().unwrap())
        .filter_map(|a| a.get("ok"))
        .filter_map(|ok| match field {
            Some(f) => ok[f].as_str().map(String::from),
            None => ok.as_str().map(String::from),
        })
        .collect()
}

#[test]
fn catalog_writer_wire_format() {
    let fixture = check_class::<CatalogCommand>(
        include_str!("fixtures/catalog.json"),
        |command, a| match command {
            CatalogCommand::UpsertProduct(_) => {
                answers_of::<catalog::UpsertProduct>("upsert_product", a)
            }
            CatalogCommand::DeleteProduct(_) => {
                answers_of::<catalog::DeleteProduct>("delete_product", a)
            }
            CatalogCommand::SetPrice(_) => answers_of::<catalog::SetPrice>("set_price", a),
            CatalogCommand::DeletePrice(_) => answers_of::<catalog::DeletePrice>("delete_price", a),
            CatalogCommand::UpsertCategory(_) => {
                answers_of::<catalog::UpsertCategory>("upsert_category", a)
            }
            CatalogCommand::ImportBatch(_) => answers_of::<catalog::ImportBatch>("import_batch", a),
            CatalogCommand::Publish(_) => answers_of::<catalog::Publish>("publish", a),
            CatalogCommand::Audit(_) => answers_of::<catalog::Audit>("audit", a),
            CatalogCommand::SetStorePrices(_) => {
                answers_of::<catalog::SetStorePrices>("set_store_prices", a)
            }
            CatalogCommand::ListStorePrices(_) => {
                answers_of::<catalog::ListStorePrices>("list_store_prices", a)
            }
            CatalogCommand::GetProduct(_) => answers_of::<catalog::GetProduct>("get_product", a),
            CatalogCommand::OutboxAck(_) => answers_of::<catalog::OutboxAck>("outbox_ack", a),
        },
        Some("refusal"),
    );
    let writes = [
        "upsert_product",
        "delete_product",
        "set_price",
        "delete_price",
        "upsert_category",
    ];
    assert_eq!(
        replies(&fixture, &writes, Some("outcome")),
        variants::<WriteOutcome>(None)
    );
}

#[test]
fn stock_wire_format() {
    check_class::<StockCommand>(
        include_str!("fixtures/stock.json"),
        |command, a| match command {
            StockCommand::Apply(_) => answers_of::<stock::Apply>("apply", a),
            StockCommand::Snapshot(_) => answers_of::<stock::Snapshot>("snapshot", a),
            StockCommand::History(_) => answers_of::<stock::History>("history", a),
            StockCommand::OutboxAck(_) => answers_of::<stock::OutboxAck>("outbox_ack", a),
        },
        Some("error"),
    );
}

#[test]
fn availability_wire_format() {
    check_class::<AvailabilityCommand>(
        include_str!("fixtures/availability.json"),
        |command, a| match command {
            AvailabilityCommand::Changed(_) => answers_of::<availability::Changed>("changed", a),
            AvailabilityCommand::LowList(_) => answers_of::<availability::LowList>("low_list", a),
        },
        None,
    );
}

#[test]
fn guard_wire_format() {
    check_class::<GuardCommand>(
        include_str!("fixtures/guard.json"),
        |command, a| match command {
            GuardCommand::Check(_) => answers_of::<guard::Check>("check", a),
            GuardCommand::Strike(_) => answers_of::<guard::Strike>("strike", a),
        },
        None,
    );
}

#[test]
fn cart_wire_format() {
    let fixture = check_class::<CartCommand>(
        include_str!("fixtures/cart.json"),
        |command, a| match command {
            CartCommand::Create(_) => answers_of::<cart::Create>("create", a),
            CartCommand::Get(_) => answers_of::<cart::Get>("get", a),
            CartCommand::ChangeLine(_) => answers_of::<cart::ChangeLine>("change_line", a),
            CartCommand::Coupon(_) => answers_of::<cart::Coupon>("coupon", a),
            CartCommand::CheckoutBegin(_) => answers_of::<cart::CheckoutBegin>("checkout_begin", a),
            CartCommand::CheckoutFinish(_) => {
                answers_of::<cart::CheckoutFinish>("checkout_finish", a)
            }
            CartCommand::CheckoutRun(_) => answers_of::<cart::CheckoutRun>("checkout_run", a),
            CartCommand::PaymentChanged(_) => {
                answers_of::<cart::PaymentChanged>("payment_changed", a)
            }
        },
        Some("refusal"),
    );
    assert_eq!(
        replies(&fixture, &["checkout_begin"], Some("kind")),
        variants::<CheckoutBeginReply>(Some("kind"))
    );
    for command in ["checkout_run", "checkout_finish"] {
        assert_eq!(
            replies(&fixture, &[command], Some("kind")),
            variants::<CheckoutReply>(Some("kind"))
        );
    }
    let changes: BTreeSet<String> = fixture["also"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&fixture["commands"]["change_line"]])
        .filter_map(|c| c["change"]["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(changes, variants::<LineChangeDto>(Some("kind")));
}

#[test]
fn store_wire_format() {
    let fixture = check_class::<StoreCommand>(
        include_str!("fixtures/store.json"),
        |command, a| match command {
            StoreCommand::Get(_) => answers_of::<store::Get>("get", a),
            StoreCommand::PutConfig(_) => answers_of::<store::PutConfig>("put_config", a),
            StoreCommand::PutPromotion(_) => answers_of::<store::PutPromotion>("put_promotion", a),
            StoreCommand::DeletePromotion(_) => {
                answers_of::<store::DeletePromotion>("delete_promotion", a)
            }
            StoreCommand::Redeem(_) => answers_of::<store::Redeem>("redeem", a),
            StoreCommand::Release(_) => answers_of::<store::Release>("release", a),
            StoreCommand::IndexOrders(_) => answers_of::<store::IndexOrders>("index_orders", a),
            StoreCommand::ListOrders(_) => answers_of::<store::ListOrders>("list_orders", a),
            StoreCommand::RecordAudit(_) => answers_of::<store::RecordAudit>("record_audit", a),
            StoreCommand::Audit(_) => answers_of::<store::Audit>("audit", a),
            StoreCommand::ListStuck(_) => answers_of::<store::ListStuck>("list_stuck", a),
            StoreCommand::UnlistStuck(_) => answers_of::<store::UnlistStuck>("unlist_stuck", a),
            StoreCommand::StuckCheckouts(_) => {
                answers_of::<store::StuckCheckouts>("stuck_checkouts", a)
            }
        },
        Some("refusal"),
    );
    assert_eq!(
        replies(&fixture, &["put_promotion"], None),
        variants::<PromotionSaved>(None)
    );
}

/// The order index keeps each summary as a JSON row: rows written by
/// earlier versions must still load.
#[test]
fn stored_order_summaries_still_load() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/store.json")).unwrap();
    let stored = &fixture["stored_order_summary"];
    let summary: OrderSummary = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&summary).unwrap(), stored);
    assert_eq!(summary.grand_total, 5000);
}

#[test]
fn order_wire_format() {
    check_class::<OrderCommand>(
        include_str!("fixtures/order.json"),
        |command, a| match command {
            OrderCommand::Record(_) => answers_of::<order::Record>("record", a),
            OrderCommand::Get(_) => answers_of::<order::Get>("get", a),
            OrderCommand::Transition(_) => answers_of::<order::Transition>("transition", a),
            OrderCommand::ProviderEvent(_) => {
                answers_of::<order::ProviderEvent>("provider_event", a)
            }
            OrderCommand::OutboxAck(_) => answers_of::<order::OutboxAck>("outbox_ack", a),
        },
        Some("refusal"),
    );
}

#[test]
fn directory_wire_format() {
    check_class::<DirectoryCommand>(
        include_str!("fixtures/directory.json"),
        |command, a| match command {
            DirectoryCommand::Get(_) => answers_of::<directory::Get>("get", a),
            DirectoryCommand::Put(_) => answers_of::<directory::Put>("put", a),
        },
        Some("refusal"),
    );
}

#[test]
fn points_ledger_wire_format() {
    check_class::<PointsCommand>(
        include_str!("fixtures/points.json"),
        |command, a| match command {
            PointsCommand::View(_) => answers_of::<points::View>("view", a),
            PointsCommand::Grant(_) => answers_of::<points::Grant>("grant", a),
            PointsCommand::Adjust(_) => answers_of::<points::Adjust>("adjust", a),
            PointsCommand::Hold(_) => answers_of::<points::Hold>("hold", a),
            PointsCommand::Release(_) => answers_of::<points::Release>("release", a),
            PointsCommand::Commit(_) => answers_of::<points::Commit>("commit", a),
            PointsCommand::Earn(_) => answers_of::<points::Earn>("earn", a),
            PointsCommand::Restore(_) => answers_of::<points::Restore>("restore", a),
            PointsCommand::Revoke(_) => answers_of::<points::Revoke>("revoke", a),
            PointsCommand::OutboxAck(_) => answers_of::<points::OutboxAck>("outbox_ack", a),
        },
        Some("refusal"),
    );
}

#[test]
fn failures_cross_as_failures_whatever_the_command() {
    let fixtures = [
        json!({"failed": {"failure": "malformed", "cause": "CART: unknown variant `explode`"}}),
        json!({"failed": {"failure": "unavailable", "cause": "saving the cart: disk full"}}),
        json!({"failed": {"failure": "unreachable", "cause": "CART: network"}}),
    ];
    let mut seen = BTreeSet::new();
    for fixture in &fixtures {
        let failure = decode_answer::<cart::Get>(&fixture.to_string()).unwrap_err();
        assert_eq!(
            decode_answer::<store::Redeem>(&fixture.to_string()),
            Err(failure.clone())
        );
        let sent: Value = serde_json::from_str(Encoded::failure(failure.clone()).text()).unwrap();
        assert_eq!(&sent, fixture);
        round_trip(&failure);
        seen.insert(fixture["failed"]["failure"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, variants::<Failure>(Some("failure")));
}

#[test]
fn a_handler_that_fails_answers_unavailable() {
    let encoded = encode::<cart::Get>(Err("loading the cart: disk".into()));
    assert_eq!(
        decode_answer::<cart::Get>(encoded.text()),
        Err(Failure::Unavailable {
            cause: "loading the cart: disk".into()
        })
    );
}

#[test]
fn an_unreadable_command_is_malformed_not_a_refusal() {
    for text in [
        r#"{"command":"explode"}"#,
        r#"{"command":"get"}"#,
        r#"{"command":"get","token":7}"#,
        "[]",
        "",
    ] {
        assert!(
            matches!(
                decode_command::<CartCommand>(text),
                Err(Failure::Malformed { .. })
            ),
            "{text}"
        );
    }
}

#[test]
fn an_unreadable_answer_is_unreachable() {
    for text in [
        "",
        "<html>",
        r#"{"ok":{"token":1}}"#,
        r#"{"refused":{"refusal":"gone"}}"#,
    ] {
        assert!(
            matches!(
                decode_answer::<cart::Get>(text),
                Err(Failure::Unreachable { .. })
            ),
            "{text}"
        );
    }
}

/// The runtime's JSON.parse would read these as floats; serde_json keeps
/// them exact both ways.
#[test]
fn integers_past_2_pow_53_cross_exactly() {
    let quantity = (1_i64 << 53) + 1;
    let command = cart::ChangeLine {
        token: "t".into(),
        op_id: "op".into(),
        sku: "KTL-1".into(),
        change: LineChangeDto::Set(quantity),
        prices: None,
        max_per_order: None,
        hold_ttl_ms: i64::MAX,
        holds: Some(cart::HoldTerms {
            holder: "203.0.113.7".into(),
            per_client: quantity,
            lifetime_ms: 3_600_000,
        }),
    };
    let text = encode_command(command.clone()).unwrap();
    assert!(text.contains("9007199254740993"), "{text}");
    assert_eq!(
        decode_command::<CartCommand>(&text).unwrap(),
        CartCommand::ChangeLine(command)
    );
}

/// Each class's binding is one wrangler.toml declares.
#[test]
fn bindings_are_declared_in_wrangler_toml() {
    let wrangler = include_str!("../../../wrangler.toml");
    let bindings = [
        CatalogCommand::BINDING,
        StockCommand::BINDING,
        AvailabilityCommand::BINDING,
        CartCommand::BINDING,
        StoreCommand::BINDING,
        OrderCommand::BINDING,
        DirectoryCommand::BINDING,
    ];
    for binding in bindings {
        assert!(
            wrangler.contains(&format!("name = \"{binding}\"")),
            "{binding} is not a binding of wrangler.toml"
        );
    }
    assert_eq!(
        bindings.iter().collect::<BTreeSet<_>>().len(),
        bindings.len()
    );
}

#[test]
fn webhooks_wire_format() {
    check_class::<WebhookCommand>(
        include_str!("fixtures/webhooks.json"),
        |command, a| match command {
            WebhookCommand::Accept(_) => answers_of::<webhooks::Accept>("accept", a),
            WebhookCommand::Create(_) => answers_of::<webhooks::Create>("create", a),
            WebhookCommand::List(_) => answers_of::<webhooks::List>("list", a),
            WebhookCommand::Get(_) => answers_of::<webhooks::Get>("get", a),
            WebhookCommand::Update(_) => answers_of::<webhooks::Update>("update", a),
            WebhookCommand::Delete(_) => answers_of::<webhooks::Delete>("delete", a),
            WebhookCommand::Rotate(_) => answers_of::<webhooks::Rotate>("rotate", a),
            WebhookCommand::Deliveries(_) => answers_of::<webhooks::Deliveries>("deliveries", a),
            WebhookCommand::Replay(_) => answers_of::<webhooks::Replay>("replay", a),
        },
        Some("refusal"),
    );
}

#[test]
fn reports_wire_format() {
    check_class::<ReportsCommand>(
        include_str!("fixtures/reports.json"),
        |command, a| match command {
            ReportsCommand::Accept(_) => answers_of::<reports::Accept>("accept", a),
            ReportsCommand::Sales(_) => answers_of::<reports::Sales>("sales", a),
            ReportsCommand::BestSellers(_) => answers_of::<reports::BestSellers>("best_sellers", a),
            ReportsCommand::Points(_) => answers_of::<reports::Points>("points", a),
        },
        None,
    );
}

/// The events queue's messages, pinned like the commands: every event
/// type, from every kind of source.
#[test]
fn event_messages_wire_format() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/events.json")).unwrap();
    let mut kinds = BTreeSet::new();
    for json in fixture["messages"].as_array().unwrap() {
        let m: crate::outbox::Message = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("{json} does not decode: {e}"));
        assert_eq!(&serde_json::to_value(&m).unwrap(), json);
        kinds.insert(m.event.body.kind().to_string());
    }
    let all: BTreeSet<String> = edgecart_domain::events::EVENT_TYPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(kinds, all, "one message per event type");
}
