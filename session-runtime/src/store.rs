use std::fmt;
use std::marker::PhantomData;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::Value;
use time::OffsetDateTime;

use crate::backend::{Backend, PoolOptions};
use crate::ddl::Migration;
use crate::key_path::SessionData;
use crate::session_table::{LoadedRow, SessionRow, SessionTable};
use crate::{Error, SessionDigest};

/// Inserts tried with fresh ids before `create` gives up. Ids are 128
/// random bits, so a second attempt is already a once-in-the-universe event;
/// the rest are for id generators that collide on purpose in tests.
const CREATE_ATTEMPTS: usize = 16;

type PoolOf<S> = <<S as SessionTable>::Backend as Backend>::Pool;

/// A tower-sessions store on the Diesel table of a derived session struct.
///
/// `#[derive(SessionStore)]` on `AppSession` names it `AppSessionStore`.
/// Every operation is one SQL statement:
///
/// | operation | statement |
/// |---|---|
/// | `create` | `INSERT`; a duplicate id draws a new id and inserts again, so it never overwrites |
/// | `save` | `UPDATE ... WHERE id = ?`; a row deleted meanwhile stays deleted |
/// | `load` | `SELECT ... WHERE id = ? AND expiry_date > ?` |
/// | `delete` | `DELETE ... WHERE id = ?` |
/// | `delete_expired` | `DELETE ... WHERE expiry_date <= ?` |
///
/// ```
/// use session_runtime::SessionStore;
/// use tower_sessions::{Expiry, SessionManagerLayer};
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     pub optional: Option<String>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-store-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// let store = AppSessionStore::connect(path.to_str().unwrap())?;
/// store.migrate().await?;
/// let layer = SessionManagerLayer::new(store)
///     .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
pub struct DieselStore<S: SessionTable> {
    pool: PoolOf<S>,
    new_id: fn() -> i128,
    table: PhantomData<fn() -> S>,
}

impl<S: SessionTable> Clone for DieselStore<S> {
    fn clone(&self) -> Self {
        DieselStore {
            pool: self.pool.clone(),
            new_id: self.new_id,
            table: PhantomData,
        }
    }
}

impl<S: SessionTable> fmt::Debug for DieselStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &S::Backend::NAME)
            .field("table", &S::TABLE.name)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTable> DieselStore<S> {
    /// A store on an existing pool.
    pub fn new(pool: PoolOf<S>) -> Self {
        DieselStore {
            pool,
            new_id: rand::random,
            table: PhantomData,
        }
    }

    /// A store with its own pool of [`PoolOptions::default`] on the database
    /// at `url`. Connections are opened when first needed.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, &PoolOptions::default())
    }

    /// A store with its own pool on the database at `url`.
    pub fn connect_with(url: &str, options: &PoolOptions) -> Result<Self, Error> {
        S::Backend::build_pool(url, options).map(Self::new)
    }

    /// The connection pool, for the app's own queries.
    pub fn pool(&self) -> &PoolOf<S> {
        &self.pool
    }

    /// Replaces the generator of the fresh ids that `create` draws after a
    /// collision. Tests use it to force collisions.
    pub fn with_id_generator(mut self, new_id: fn() -> i128) -> Self {
        self.new_id = new_id;
        self
    }

    /// The table's DDL on this store's backend.
    pub fn migration() -> Migration {
        Migration::for_table::<S::Backend>(&S::TABLE)
    }

    /// Creates the table and its indexes if they do not exist.
    ///
    /// Idempotent, and safe to run from several servers starting at once.
    /// The tables its foreign keys reference must exist first.
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut connection = self.connection().await?;
        S::Backend::migrate(&mut connection, &Self::migration()).await
    }

    /// Deletes every expired session and says how many there were.
    pub async fn delete_expired_sessions(&self) -> Result<usize, Error> {
        let now = S::Backend::expiry_to_column(OffsetDateTime::now_utc());
        let mut connection = self.connection().await?;
        Ok(S::delete_expired(&mut connection, &now).await?)
    }

    /// Counts the live sessions.
    pub async fn count(&self) -> Result<u64, Error> {
        let now = S::Backend::expiry_to_column(OffsetDateTime::now_utc());
        let mut connection = self.connection().await?;
        let count = S::count_live(&mut connection, &now).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes every session, live or expired: everyone is logged out.
    pub async fn clear(&self) -> Result<usize, Error> {
        let mut connection = self.connection().await?;
        Ok(S::delete_all(&mut connection).await?)
    }

    /// Checks a connection out of the store's pool, for the app's own
    /// queries on the session table or its other tables.
    pub async fn connection(
        &self,
    ) -> Result<<S::Backend as Backend>::PooledConnection, Error> {
        S::Backend::connection(&self.pool).await
    }

    /// Inserts a new session, drawing a new `id` while the current one is
    /// taken.
    pub(crate) async fn create_session(
        &self,
        id: &mut i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let mut row = encode::<S>(*id, data, expiry)?;
        let mut connection = self.connection().await?;
        for _ in 0..CREATE_ATTEMPTS {
            match S::insert(&mut connection, &row).await {
                Ok(_) => return Ok(()),
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                    *id = (self.new_id)();
                    row.id = *SessionDigest::of_id(*id).as_bytes();
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(Error::Backend(format!(
            "no free session id in {CREATE_ATTEMPTS} attempts; is the id generator random?"
        )))
    }

    /// Updates an existing session. A session whose row is gone (logged out
    /// or revoked while this request ran) stays gone: the write is dropped.
    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let row = encode::<S>(id, data, expiry)?;
        let mut connection = self.connection().await?;
        S::update(&mut connection, &row).await?;
        Ok(())
    }

    pub(crate) async fn load_session(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, OffsetDateTime)>, Error> {
        let digest = SessionDigest::of_id(id);
        let now = S::Backend::expiry_to_column(OffsetDateTime::now_utc());
        let mut connection = self.connection().await?;
        let row = S::select(&mut connection, digest.as_bytes(), &now).await?;
        drop(connection);
        row.map(decode::<S>).transpose()
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        let mut connection = self.connection().await?;
        S::delete(&mut connection, digest.as_bytes()).await?;
        Ok(())
    }
}

/// Splits a session into its row: typed values to their columns, the rest
/// of the map to `data`.
fn encode<S: SessionTable>(
    id: i128,
    data: &SessionData,
    expiry: OffsetDateTime,
) -> Result<SessionRow<S>, Error> {
    S::Backend::check_data(data)?;
    let mut rest = data.clone();
    let fields = S::take_fields(&mut rest)?;
    Ok(SessionRow {
        id: *SessionDigest::of_id(id).as_bytes(),
        data: S::Backend::data_to_column(rest.into_iter().collect())?,
        expiry: S::Backend::expiry_to_column(expiry),
        fields,
    })
}

/// Joins a row back into a session: the typed columns are the truth for
/// their keys.
fn decode<S: SessionTable>(row: LoadedRow<S>) -> Result<(SessionData, OffsetDateTime), Error> {
    let Value::Object(members) = row.data else {
        return Err(Error::Decode(format!(
            "`data` of a session in `{}` is not a JSON object",
            S::TABLE.name
        )));
    };
    let mut data: SessionData = members.into_iter().collect();
    row.fields.put_fields(&mut data)?;
    Ok((data, S::Backend::expiry_from_column(row.expiry)?))
}
