//! The scaffold every object class stands on, so each one only handles its
//! commands: reading a command and answering it ([`serve`], [`answer`]),
//! running commands one at a time ([`serially`]), alarms ([`alarm_done`],
//! [`alarm_serially`], [`arm_in`], [`arm_by`], [`arm_unless_set`]),
//! SQLite rows ([`Tables`]) and deleting it all ([`delete_everything`]).
//!
//! An object's answer is always an [`Envelope`]: the reply, the class's
//! refusal, or a [`Failure`] (a command it could not read, or could not
//! carry out: the cause travels to the Worker, which logs it). The
//! response that carries it has no meaning of its own.

use crate::protocol::{Answer, Command, Envelope, EnvelopeOf, Failure, Protocol};
use edgecart_domain::secret::stored_token;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use worker::{Request, Response, SqlStorage, SqlStorageValue, State, Storage};

/// What a command's handler comes to: its answer, or the cause of a failure.
pub(crate) type Handled<C> = Result<Answer<C>, String>;

/// An answer, encoded for the wire.
pub(crate) struct Encoded(String);

impl Encoded {
    fn of<R: Serialize, F: Serialize>(envelope: &Envelope<R, F>) -> Self {
        match serde_json::to_string(envelope) {
            Ok(text) => Encoded(text),
            Err(e) => Encoded::failure(Failure::Unavailable {
                cause: format!("encoding the answer: {e}"),
            }),
        }
    }

    /// A failure, whatever the command.
    pub(crate) fn failure(failure: Failure) -> Self {
        let envelope: Envelope<(), ()> = Envelope::Failed(failure);
        Encoded(serde_json::to_string(&envelope).unwrap_or_default())
    }

    /// The text sent back.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.0
    }
}

/// Encodes what command `C`'s handler came to: its reply or refusal, or a
/// failure (`Err(cause)`).
pub(crate) fn encode<C: Command>(handled: Handled<C>) -> Encoded {
    let envelope: EnvelopeOf<C> =
        Envelope::seal(handled.map_err(|cause| Failure::Unavailable { cause }));
    Encoded::of(&envelope)
}

/// Runs `handle` on `command` and encodes its answer. The handler's type
/// binds it to the command: it must answer `C`'s reply or refusal.
pub(crate) async fn answer<C, Fut>(command: C, handle: impl FnOnce(C) -> Fut) -> Encoded
where
    C: Command,
    Fut: Future<Output = Handled<C>>,
{
    encode::<C>(handle(command).await)
}

/// Reads a command of class `P` (with serde_json: the runtime's JSON.parse
/// would turn integers past 2^53 into floats).
pub(crate) fn decode_command<P: Protocol>(text: &str) -> Result<P, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::Malformed {
        cause: format!("{}: {e}", P::BINDING),
    })
}

/// An object's fetch entry point: reads the command, has `dispatch` answer
/// it, and sends the answer back. A command it cannot read is answered
/// with [`Failure::Malformed`].
pub(crate) async fn serve<P, Fut>(
    mut req: Request,
    dispatch: impl FnOnce(P) -> Fut,
) -> worker::Result<Response>
where
    P: Protocol,
    Fut: Future<Output = Encoded>,
{
    let encoded = match req.text().await {
        Err(e) => Encoded::failure(Failure::Malformed {
            cause: format!("unreadable command: {e}"),
        }),
        Ok(text) => match decode_command::<P>(&text) {
            Ok(command) => dispatch(command).await,
            Err(failure) => Encoded::failure(failure),
        },
    };
    Ok(Response::builder()
        .with_header("Content-Type", "application/json")?
        .fixed(encoded.0.into_bytes()))
}

/// Runs `work` while no other event reaches the object (one command at a
/// time). Its answer comes back as a value, so a failed command never
/// resets the object.
pub(crate) async fn serially(
    state: &State,
    work: impl Future<Output = Encoded> + 'static,
) -> Encoded {
    match state
        .block_concurrency_while(async move { Ok(work.await) })
        .await
    {
        Ok(encoded) => encoded,
        Err(e) => Encoded::failure(Failure::Unavailable {
            cause: format!("blockConcurrencyWhile: {e}"),
        }),
    }
}

/// An alarm handler's result: an error makes the runtime retry the alarm.
pub(crate) fn alarm_done(result: Result<(), String>) -> worker::Result<Response> {
    match result {
        Ok(()) => Response::ok("done"),
        Err(cause) => Err(worker::Error::RustError(cause)),
    }
}

/// Runs an alarm's `work` while no other event reaches the object, and
/// answers its result as [`alarm_done`] does.
pub(crate) async fn alarm_serially(
    state: &State,
    work: impl Future<Output = Result<(), String>> + 'static,
) -> worker::Result<Response> {
    let result = state
        .block_concurrency_while(async move { Ok(work.await) })
        .await?;
    alarm_done(result)
}

/// Makes sure the alarm fires by `at_ms` (an alarm set for later is moved
/// earlier; one set earlier is kept).
pub(crate) async fn arm_by(storage: &Storage, at_ms: i64, now_ms: i64) -> Result<(), String> {
    let current = storage
        .get_alarm()
        .await
        .map_err(|e| format!("reading the alarm: {e}"))?;
    if current.is_some_and(|t| t <= at_ms) {
        return Ok(());
    }
    arm_in(storage, at_ms - now_ms).await
}

/// Sets the alarm to fire `in_ms` from now (replacing one set).
pub(crate) async fn arm_in(storage: &Storage, in_ms: i64) -> Result<(), String> {
    // An integer alarm time is an offset from now, in milliseconds.
    storage
        .set_alarm(in_ms.max(0))
        .await
        .map_err(|e| format!("setting the alarm: {e}"))
}

/// Arms the alarm `in_ms` from now unless one is set already.
pub(crate) async fn arm_unless_set(storage: &Storage, in_ms: i64) -> Result<(), String> {
    let set = storage
        .get_alarm()
        .await
        .map_err(|e| format!("reading the alarm: {e}"))?;
    match set {
        None => arm_in(storage, in_ms).await,
        Some(_) => Ok(()),
    }
}

/// Deletes every row of the object and its alarm: its storage is as a new
/// object's (an idle cart's end).
pub(crate) async fn delete_everything(storage: &Storage) -> Result<(), String> {
    storage
        .delete_all()
        .await
        .map_err(|e| format!("deleting the storage: {e}"))?;
    storage
        .delete_alarm()
        .await
        .map_err(|e| format!("deleting the alarm: {e}"))
}

/// Serializes a stored value (a row's JSON).
pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// An object's SQLite tables: every statement's error names what it was
/// doing, every stored JSON document is read with serde_json.
pub(crate) struct Tables(SqlStorage);

impl Tables {
    /// Creates the tables: `schema` holds `;`-separated idempotent
    /// `CREATE … IF NOT EXISTS` statements.
    pub(crate) fn open(storage: &Storage, schema: &str) -> Result<Self, String> {
        let tables = Tables(storage.sql());
        for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tables.exec("schema", statement, Vec::new())?;
        }
        Ok(tables)
    }

    /// Adds `column` (SQL `declaration`: its type and constraints) to
    /// `table` unless the table has it: how a column added to a schema
    /// reaches tables created before (`CREATE TABLE IF NOT EXISTS` leaves
    /// an existing table as it was).
    pub(crate) fn add_column(
        &self,
        table: &str,
        column: &str,
        declaration: &str,
    ) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Column {
            name: String,
        }
        let columns: Vec<Column> = self.rows(
            &format!("reading the columns of {table}"),
            &format!("PRAGMA table_info({table})"),
            Vec::new(),
        )?;
        if columns.iter().any(|c| c.name == column) {
            return Ok(());
        }
        self.exec(
            &format!("adding column {column} to {table}"),
            &format!("ALTER TABLE {table} ADD COLUMN {column} {declaration}"),
            Vec::new(),
        )
    }

    /// Whether `table` exists (without creating it: an object that only
    /// looked stores nothing).
    pub(crate) fn has_table(&self, table: &str) -> Result<bool, String> {
        #[derive(Deserialize)]
        struct Column {
            #[allow(dead_code)]
            name: String,
        }
        let columns: Vec<Column> = self.rows(
            &format!("looking for table {table}"),
            &format!("PRAGMA table_info({table})"),
            Vec::new(),
        )?;
        Ok(!columns.is_empty())
    }

    /// The tables, already created in this instance.
    pub(crate) fn opened(storage: &Storage) -> Self {
        Tables(storage.sql())
    }

    /// Runs a statement (`what`: what it does, for the error).
    pub(crate) fn exec(
        &self,
        what: &str,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<(), String> {
        self.0
            .exec(query, bindings)
            .map(|_| ())
            .map_err(|e| format!("{what}: {e}"))
    }

    /// The rows a query selects.
    pub(crate) fn rows<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, String> {
        self.0
            .exec(query, bindings)
            .and_then(|c| c.to_array::<T>())
            .map_err(|e| format!("{what}: {e}"))
    }

    /// The JSON documents in the `json` column of the rows a query selects.
    pub(crate) fn documents<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, String> {
        #[derive(Deserialize)]
        struct Row {
            json: String,
        }
        self.rows::<Row>(what, query, bindings)?
            .iter()
            .map(|r| serde_json::from_str(&r.json).map_err(|e| format!("stored {what}: {e}")))
            .collect()
    }

    /// The first of [`Tables::documents`].
    pub(crate) fn document<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Option<T>, String> {
        Ok(self.documents(what, query, bindings)?.into_iter().next())
    }

    /// Reads an object's single `(token, json)` row (`id = 1` of `table`);
    /// `None` before the object was created.
    pub(crate) fn token_row<T: DeserializeOwned>(
        &self,
        table: &str,
        what: &str,
    ) -> Result<Option<(String, T)>, String> {
        #[derive(Deserialize)]
        struct Row {
            token: String,
            json: String,
        }
        let query = format!("SELECT token, json FROM {table} WHERE id = 1");
        self.rows::<Row>(what, &query, Vec::new())?
            .into_iter()
            .next()
            .map(|r| {
                serde_json::from_str(&r.json)
                    .map(|v| (r.token, v))
                    .map_err(|e| format!("stored {what}: {e}"))
            })
            .transpose()
    }

    /// Writes an object's single `(token, json)` row.
    pub(crate) fn put_token_row<T: Serialize>(
        &self,
        table: &str,
        what: &str,
        token: &str,
        value: &T,
    ) -> Result<(), String> {
        // Only the token's digest is stored (`stored_token` keeps one).
        let query = format!("INSERT OR REPLACE INTO {table} (id, token, json) VALUES (1, ?, ?)");
        self.exec(
            &format!("saving the {what}"),
            &query,
            vec![stored_token(token).into(), json(value)?.into()],
        )
    }
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// An instant as RFC 3339 text with milliseconds.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
