//! The typed protocol between the Worker and its Durable Objects, shared by
//! caller and object. Nothing else addresses the objects.
//!
//! Per object class one module: its command enum (the [`Protocol`], with
//! the wrangler.toml binding and the class's refusal enum), and per
//! command one struct implementing [`Command`], which names the reply. The
//! binding is therefore decided at compile time: [`send`] takes a command
//! and gives back its own reply type, `Result<Reply, Refusal>`, and the
//! object's handler of that command must produce exactly that (see
//! `crate::object::answer`).
//!
//! On the wire a command is the JSON of its class's enum (internally
//! tagged: `{"command": "get", …}`), and every answer is an [`Envelope`]:
//! `{"ok": reply}`, `{"refused": refusal}`, or `{"failed": failure}` when
//! the object could not read or carry out the command. Both directions are
//! read with serde_json, not the runtime's `JSON.parse`, so integers stay
//! exact `i64`s. The wire format of every command and reply is pinned by
//! fixtures in `tests.rs`.
//!
//! What the protocol does not carry: HTTP statuses, problem documents or
//! any other response wording (the Worker maps each refusal to its response
//! in one place), `serde_json::Value` (every field is a type; the two raw
//! JSON texts that cross, an admin's product body and an audit snapshot,
//! say why), and floats.
//!
//! The types the HTTP API shows as they are (`FieldProblem`,
//! `stock::StockLevels`, `stock::MovementEntry`, `store::OrderSummary`)
//! derive their JSON Schema with the `openapi` feature (native only, for
//! the OpenAPI generator): their doc comments are the API's descriptions.

pub mod audit;
pub mod availability;
pub mod cart;
pub mod catalog;
pub mod directory;
pub mod guard;
pub mod order;
pub mod points;
pub mod reports;
pub mod stock;
pub mod store;
#[cfg(test)]
mod tests;
pub mod webhooks;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One Durable Object class's command enum: what its objects read.
pub trait Protocol: Serialize + DeserializeOwned {
    /// The wrangler.toml binding of the class's namespace.
    const BINDING: &'static str;
    /// Why an object of the class refuses a command (nothing changed).
    type Refusal: Serialize + DeserializeOwned + fmt::Debug;
}

/// One command of a class, bound to the reply its object gives.
pub trait Command: Into<Self::Protocol> {
    /// The class (its command enum) this command belongs to.
    type Protocol: Protocol;
    /// What the object answers when it carries the command out.
    type Reply: Serialize + DeserializeOwned + fmt::Debug;
}

/// The refusal type of command `C`'s class.
pub type RefusalOf<C> = <<C as Command>::Protocol as Protocol>::Refusal;

/// The answer to command `C`: its reply, or its class's refusal.
pub type Answer<C> = Result<<C as Command>::Reply, RefusalOf<C>>;

/// The refusal of a class that refuses nothing: no value of it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Never {}

/// Why a command has no answer. Never a refusal: the outcome is unknown or
/// nothing happened, and the Worker answers `storage_unavailable` and logs
/// the cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum Failure {
    /// The object could not read the command (a Worker and an object of
    /// different versions, or a bug); nothing happened.
    Malformed { cause: String },
    /// The object could not carry the command out (its storage, KV,
    /// another object or a provider failed).
    Unavailable { cause: String },
    /// The object could not be reached, or its answer could not be read.
    Unreachable { cause: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Malformed { cause } => write!(f, "malformed command: {cause}"),
            Failure::Unavailable { cause } => write!(f, "unavailable: {cause}"),
            Failure::Unreachable { cause } => write!(f, "unreachable: {cause}"),
        }
    }
}

/// An answer on the wire, as the object sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Envelope<R, F> {
    Ok(R),
    Refused(F),
    Failed(Failure),
}

impl<R, F> Envelope<R, F> {
    /// The answer, or why there is none.
    pub fn open(self) -> Result<Result<R, F>, Failure> {
        match self {
            Envelope::Ok(reply) => Ok(Ok(reply)),
            Envelope::Refused(refusal) => Ok(Err(refusal)),
            Envelope::Failed(failure) => Err(failure),
        }
    }

    /// Wraps an answer, or why there is none.
    pub fn seal(answer: Result<Result<R, F>, Failure>) -> Self {
        match answer {
            Ok(Ok(reply)) => Envelope::Ok(reply),
            Ok(Err(refusal)) => Envelope::Refused(refusal),
            Err(failure) => Envelope::Failed(failure),
        }
    }
}

/// The envelope of command `C`'s answer.
pub type EnvelopeOf<C> = Envelope<<C as Command>::Reply, RefusalOf<C>>;

/// A command's JSON, as its class's enum.
pub fn encode_command<C: Command>(command: C) -> Result<String, Failure> {
    serde_json::to_string(&command.into()).map_err(|e| Failure::Malformed {
        cause: e.to_string(),
    })
}

/// Reads an answer to command `C` from the object's JSON.
pub fn decode_answer<C: Command>(text: &str) -> Result<Answer<C>, Failure> {
    serde_json::from_str::<EnvelopeOf<C>>(text)
        .map_err(|e| Failure::Unreachable {
            cause: format!("{} answered unreadably: {e}", C::Protocol::BINDING),
        })?
        .open()
}

/// Sends `command` to the object `name` of its class and reads its answer.
pub async fn send<C: Command>(
    env: &worker::Env,
    name: &str,
    command: C,
) -> Result<Answer<C>, Failure> {
    let binding = C::Protocol::BINDING;
    let body = encode_command(command)?;
    let unreachable = |e: worker::Error| Failure::Unreachable {
        cause: format!("{binding}: {e}"),
    };
    let text = raw::post(env, binding, name, &body)
        .await
        .map_err(unreachable)?;
    decode_answer::<C>(&text)
}

/// The one POST of a command to an object, on the runtime's own types.
/// The worker crate's stub wraps the request and the reply in its own types
/// (reading the reply's headers, `cf` and body stream) and reads the body
/// chunk by chunk: together about a tenth of a checkout's CPU, measured
/// with `npm run profile:checkout`. Any status is read as an envelope: an
/// object answers every command with one.
mod raw {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use worker::js_sys::{Promise, Reflect};
    use worker::wasm_bindgen_futures::JsFuture;
    use worker::web_sys;

    #[wasm_bindgen]
    extern "C" {
        type Namespace;
        #[wasm_bindgen(method, catch, js_name = getByName)]
        fn get_by_name(this: &Namespace, name: &str) -> Result<Stub, JsValue>;
        type Stub;
        #[wasm_bindgen(method, catch)]
        fn fetch(this: &Stub, url: &str, init: &web_sys::RequestInit) -> Result<Promise, JsValue>;
    }

    /// POSTs `body` to object `name` of namespace `binding`: the reply's text.
    pub(super) async fn post(
        env: &worker::Env,
        binding: &str,
        name: &str,
        body: &str,
    ) -> worker::Result<String> {
        let namespace = Reflect::get(env, &JsValue::from_str(binding))?;
        if namespace.is_undefined() {
            return Err(worker::Error::RustError(format!("no binding {binding}")));
        }
        let stub = namespace.unchecked_into::<Namespace>().get_by_name(name)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        let reply = JsFuture::from(stub.fetch("https://object/command", &init)?).await?;
        let reply: web_sys::Response = reply.dyn_into()?;
        let text = JsFuture::from(reply.text()?).await?;
        text.as_string()
            .ok_or_else(|| worker::Error::RustError("a reply that is not text".into()))
    }
}

/// One problem with one field of an admin or cart input (or, for carts, of a
/// query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FieldProblem {
    /// Path of the offending field, or null when the problem is not about
    /// one field. (The API's description of its values is the Worker's:
    /// `edgecart::openapi::schemas`.)
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["variants[0].prices.EUR"])))]
    pub field: Option<String>,
    /// Stable machine-readable code. (The API's list of codes is the
    /// Worker's: `edgecart::openapi::schemas`.)
    #[cfg_attr(feature = "openapi", schemars(extend("examples" = ["invalid_price"])))]
    pub code: String,
    /// What is wrong, for humans.
    #[cfg_attr(
        feature = "openapi",
        schemars(extend("examples" = ["must be a non-negative integer of minor units"]))
    )]
    pub message: String,
}

impl From<&edgecart_domain::catalog::FieldError> for FieldProblem {
    fn from(e: &edgecart_domain::catalog::FieldError) -> Self {
        FieldProblem {
            field: Some(e.field.clone()),
            code: e.code.to_string(),
            message: e.message.clone(),
        }
    }
}

impl From<edgecart_domain::admin::InputError> for FieldProblem {
    fn from(e: edgecart_domain::admin::InputError) -> Self {
        FieldProblem {
            field: e.field,
            code: e.code.to_string(),
            message: e.message,
        }
    }
}

/// Binds command structs to their class's enum (a `From` for each) and to
/// their replies.
macro_rules! bind {
    ($protocol:ident { $($variant:ident => $reply:ty),* $(,)? }) => {
        $(
            impl From<$variant> for $protocol {
                fn from(command: $variant) -> Self {
                    $protocol::$variant(command)
                }
            }
            impl $crate::protocol::Command for $variant {
                type Protocol = $protocol;
                type Reply = $reply;
            }
        )*
    };
}
pub(crate) use bind;

/// Declares, in a class's module, its `OutboxAck` command (the events
/// queue's consumer: the store's webhook objects took these events in,
/// so they leave the object's outbox) and the reply, `OutboxAcked`.
macro_rules! outbox_ack {
    () => {
        /// The events queue's consumer: the store's webhook objects took
        /// these events in; they leave the object's outbox.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct OutboxAck {
            pub events: Vec<String>,
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct OutboxAcked {}
    };
}
pub(crate) use outbox_ack;
