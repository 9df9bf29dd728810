//! The store's side of encryption at rest: the keys it is given, and the
//! sealing and opening of each row's `data` with them.

use std::sync::Arc;

use crate::backend::data_column::parse;
use crate::backend::sealed_column::{SealedData, StoredData};
use crate::backend::Backend;
use crate::encryption::EncryptionKeys;
use crate::error::Error;
use crate::schema::table_def::DataType;
use crate::session_data::SessionData;
use crate::session_table::{SessionFields, SessionRow, SessionTable};
use crate::store::DieselStore;

/// A session struct whose table encrypts `data`
/// (`#[session(data = encrypted)]`): the stores that take
/// [`EncryptionKeys`]. `#[derive(SessionStore)]` implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` stores its `data` in clear, so its store takes no encryption keys",
    label = "a store of a struct without `#[session(data = encrypted)]`",
    note = "add `data = encrypted` to the struct's `#[session(...)]` to encrypt `data` at rest"
)]
pub trait EncryptedTable: SessionFields {}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Sets the keys that seal and open the `data` of every session: the
    /// first seals, every one opens (see [`EncryptionKeys`]).
    ///
    /// A store of an encrypted struct without keys still deletes, counts,
    /// lists, cleans up and migrates, so that a job doing only that need
    /// not hold them; its `create`, `save` and `load` fail with
    /// [`Error::Config`], and no row is touched. Keys given to the store of
    /// a struct that stores `data` in clear are a compile error
    /// (`EncryptedTable` is not implemented), not silently ignored.
    ///
    /// ```
    /// use session_runtime::{EncryptionKeys, SessionStore};
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite, data = encrypted)]
    /// pub struct AppSession {
    ///     /// Typed columns stay in clear: they exist to be queried.
    ///     pub user_id: Option<i64>,
    /// }
    ///
    /// # std::env::set_var("SESSION_KEYS", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=");
    /// // The current key first, then the old ones still to be read.
    /// let keys: EncryptionKeys = std::env::var("SESSION_KEYS").unwrap().parse()?;
    /// let store = AppSessionStore::connect("sessions.db")?.with_encryption_keys(keys);
    /// assert!(AppSessionStore::migration().up().contains("\"data\" BLOB NOT NULL"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    // The bound is the method's, not the impl's, so that a store of a
    // struct without encryption gets `EncryptedTable`'s own message.
    #[must_use]
    pub fn with_encryption_keys(mut self, keys: EncryptionKeys) -> Self
    where
        S: EncryptedTable,
    {
        self.encryption = Some(Arc::new(keys));
        self
    }

    /// Seals `row.data` into `row.sealed` with the row's id as associated
    /// data, when the table encrypts `data`. Sealing again after the id
    /// changed binds the new id.
    pub(crate) fn seal_row(&self, row: &mut SessionRow<S, B>) -> Result<(), Error> {
        if S::TABLE.data != DataType::Encrypted {
            return Ok(());
        }
        let keys = keys_of(S::TABLE.name, self.encryption.as_deref(), "seal")?;
        row.sealed = SealedData(keys.seal(&row.id, row.data.0.as_bytes())?);
        Ok(())
    }

    /// The keys, for a read: `None` for a table that stores `data` in
    /// clear.
    pub(crate) fn opening_keys(&self) -> Option<&EncryptionKeys> {
        self.encryption.as_deref()
    }
}

/// The store's keys, or the error of a store of an encrypted struct that
/// was given none.
fn keys_of<'a>(
    table: &str,
    keys: Option<&'a EncryptionKeys>,
    verb: &str,
) -> Result<&'a EncryptionKeys, Error> {
    keys.ok_or_else(|| {
        Error::Config(format!(
            "`{}` encrypts `data` (#[session(data = encrypted)]), and this store has no keys to \
             {verb} it with: give them with the store's `with_encryption_keys`",
            table
        ))
    })
}

/// The session map of the `data` of the row `id` as it was read: parsed
/// already, or sealed and opened here with `keys`. Says too whether an old
/// key sealed it, so that the next save seals it with the current one.
pub(crate) fn open_data<S: SessionTable<B>, B: Backend>(
    stored: StoredData,
    keys: Option<&EncryptionKeys>,
    id: &[u8; 32],
) -> Result<(SessionData, bool), Error> {
    match stored {
        StoredData::Map(data) => Ok((data, false)),
        StoredData::Sealed(sealed) => {
            let (plaintext, old_key) = keys_of(S::TABLE.name, keys, "open")?.open(id, &sealed.0)?;
            let data = parse(&plaintext).map_err(|error| Error::Decode(error.to_string()))?;
            Ok((data.0, old_key))
        }
    }
}
