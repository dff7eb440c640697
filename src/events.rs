//! The events queue's consumer: events the objects forwarded from their
//! outboxes reach the webhook object of each store they concern (a
//! store's own events its store; shared ones, stock and catalog, every
//! store), which takes each id in once and delivers it; a store's own
//! events (orders, points) also reach its reports object, which keeps the
//! store's figures from them, and its orders' reach the store object's
//! order index (one command per batch, each order as its latest event has
//! it). Once every store concerned took a message's event in (each of
//! those objects, for a store's own event), the object it came
//! from is told (`OutboxAck`), and the message is acknowledged; otherwise
//! it is retried (and the object sends it again should the queue lose it).

use crate::objects::send;
use edgecart_domain::events::{latest_orders, Event};
use edgecart_domain::stores::DEFAULT_STORE;
use edgecart_durable_objects::outbox::{Message, SourceClass};
use edgecart_durable_objects::protocol::{
    catalog, directory, order, points, reports, stock, store, webhooks,
};
use std::collections::BTreeMap;
use worker::{Env, MessageBatch, MessageExt};

/// The name of a store's webhook object.
pub fn hub_name(store: &str) -> String {
    format!("webhooks:{store}")
}

/// One message of a batch: the raw message (to acknowledge or retry) and
/// what it carries.
struct Received {
    raw: worker::Message<String>,
    body: Message,
}

impl Received {
    fn body(&self) -> &Message {
        &self.body
    }
}

/// Handles one batch of the `EVENTS` queue (each message the JSON text of
/// a [`Message`]; one that is not is logged and dropped: no retry reads it).
pub async fn consume(batch: MessageBatch<String>, env: &Env) -> worker::Result<()> {
    let mut messages = Vec::new();
    for raw in batch.messages()? {
        match serde_json::from_str::<Message>(raw.body()) {
            Ok(body) => messages.push(Received { raw, body }),
            Err(e) => {
                worker::console_error!("events: an unreadable message: {e}");
                raw.ack();
            }
        }
    }
    // The stores of shared events: the default store and every other one.
    let shared = messages.iter().any(|m| m.body().event.store.is_none());
    // Without the list of stores, shared events wait for the retry.
    let everyone = if shared {
        all_stores(env).await
    } else {
        Some(Vec::new())
    };
    let mut failed_stores = Vec::new();
    let shared_failed = everyone.is_none();
    // Events by the store that takes them in.
    let mut by_store: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for m in &messages {
        let event = &m.body().event;
        let stores = match &event.store {
            Some(store) => vec![store.clone()],
            None => everyone.clone().unwrap_or_default(),
        };
        for store in stores {
            by_store.entry(store).or_default().push(event.clone());
        }
    }
    let taken =
        futures_util::future::join_all(by_store.into_iter().map(|(store, events)| async move {
            // The store's own events (orders, points) feed its reports.
            let own: Vec<Event> = events
                .iter()
                .filter(|e| e.store.as_deref() == Some(store.as_str()))
                .cloned()
                .collect();
            let orders: Vec<store::IndexedOrder> = latest_orders(&own)
                .into_iter()
                .map(store::IndexedOrder::of)
                .collect();
            let hub_name = hub_name(&store);
            let hub = send(env, &hub_name, webhooks::Accept { events });
            let index = async {
                if orders.is_empty() {
                    return Ok(Ok(store::Indexed {}));
                }
                send(env, &store, store::IndexOrders { orders }).await
            };
            let figures = async {
                if own.is_empty() {
                    return Ok(Ok(reports::Taken {
                        orders: 0,
                        points: 0,
                    }));
                }
                send(env, &reports::name(&store), reports::Accept { events: own }).await
            };
            let (hub, index, figures) = futures_util::future::join3(hub, index, figures).await;
            (
                store,
                hub.map(|r| r.map(|_| ())),
                index.map(|r| r.map(|_| ())),
                figures.map(|r| r.map(|_| ())),
            )
        }))
        .await;
    for (store, hub, index, figures) in taken {
        let mut failed = false;
        if !matches!(hub, Ok(Ok(()))) {
            worker::console_error!("events for store {store}: {hub:?}");
            failed = true;
        }
        if !matches!(index, Ok(Ok(()))) {
            worker::console_error!("events for the order index of store {store}: {index:?}");
            failed = true;
        }
        if !matches!(figures, Ok(Ok(()))) {
            worker::console_error!("events for the reports of store {store}: {figures:?}");
            failed = true;
        }
        if failed {
            failed_stores.push(store);
        }
    }
    // A message is done when every store it concerns took it in.
    let mut acks: BTreeMap<(SourceClass, String), Vec<String>> = BTreeMap::new();
    for m in &messages {
        let body = m.body();
        let done = match &body.event.store {
            Some(store) => !failed_stores.contains(store),
            None => !shared_failed && failed_stores.is_empty(),
        };
        if done {
            acks.entry((body.source.class, body.source.name.clone()))
                .or_default()
                .push(body.event.id.clone());
            m.raw.ack();
        } else {
            m.raw.retry();
        }
    }
    // Each source told at once (best effort: a source not told sends the
    // event again, and the webhook object takes each id in once).
    let told = futures_util::future::join_all(acks.into_iter().map(
        |((class, name), events)| async move {
            let told = match class {
                SourceClass::Order => send(env, &name, order::OutboxAck { events })
                    .await
                    .map(|_| ()),
                SourceClass::Stock => send(env, &name, stock::OutboxAck { events })
                    .await
                    .map(|_| ()),
                SourceClass::Catalog => send(env, &name, catalog::OutboxAck { events })
                    .await
                    .map(|_| ()),
                SourceClass::Points => send(env, &name, points::OutboxAck { events })
                    .await
                    .map(|_| ()),
            };
            (name, told)
        },
    ))
    .await;
    for (name, result) in told {
        if let Err(e) = result {
            worker::console_error!("acknowledging events of {name}: {e:?}");
        }
    }
    Ok(())
}

/// Every store: the default one, and those the directory has (`None`
/// when the directory cannot be read).
async fn all_stores(env: &Env) -> Option<Vec<String>> {
    let mut stores = vec![DEFAULT_STORE.to_string()];
    match send(env, directory::DIRECTORY, directory::Get {}).await {
        Ok(Ok(d)) => stores.extend(d.stores.into_iter().map(|s| s.id)),
        other => {
            worker::console_error!("events: the store directory: {other:?}");
            return None;
        }
    }
    stores.sort();
    stores.dedup();
    Some(stores)
}
