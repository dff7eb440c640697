//! The store directory: one object (named [`DIRECTORY`]) that holds every
//! store's profile, keeps host names unique across stores, and publishes
//! the whole directory to KV (`edgecart_domain::stores::DIRECTORY_KEY`)
//! for the isolates that resolve requests.

use super::audit::Actor;
use super::{bind, Protocol};
pub use edgecart_domain::stores::Conflict;
use edgecart_domain::stores::{Directory, StoreProfile};
use serde::{Deserialize, Serialize};

/// The directory object's name.
pub const DIRECTORY: &str = "directory";

/// A command to the directory object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum DirectoryCommand {
    Get(Get),
    Put(Box<Put>),
}

impl Protocol for DirectoryCommand {
    const BINDING: &'static str = "DIRECTORY";
    type Refusal = DirectoryRefusal;
}

bind!(DirectoryCommand {
    Get => Directory,
});

impl From<Put> for DirectoryCommand {
    fn from(command: Put) -> Self {
        DirectoryCommand::Put(Box::new(command))
    }
}

impl super::Command for Put {
    type Protocol = DirectoryCommand;
    type Reply = Stored;
}

/// Every store's profile, as stored (not the published copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {}

/// Creates or replaces a store's profile. A change is recorded, by
/// `actor`, in that store's audit trail: committed with the profile, then
/// delivered to the store's object (retried by the directory's alarm).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Put {
    pub actor: Actor,
    pub profile: StoreProfile,
}

/// What a [`Put`] did: whether the store is new, and the directory after
/// (published before the answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub created: bool,
    pub directory: Directory,
}

/// Why the directory refused a write; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum DirectoryRefusal {
    /// A host another store answers on, or one store too many.
    Conflict { conflict: Conflict },
}
