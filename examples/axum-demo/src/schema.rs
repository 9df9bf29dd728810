//! The app's tables: its own `demo_users`, and the session table that
//! `#[derive(SessionStore)]` makes of [`sqlite::DemoSession`] and its twins.

diesel::table! {
    /// The app's accounts. Sessions reference them; deleting an account
    /// deletes its sessions, which logs it out everywhere.
    demo_users (id) {
        /// The key that `demo_sessions.user_id` references.
        id -> BigInt,
        /// Unique.
        login -> Text,
        /// A salted hash, see [`crate::users::PasswordHash`].
        password -> Text,
    }
}

/// The session keys of the typed columns (the field names) and of the one
/// value that lives in the JSON `data` column.
pub mod keys {
    /// The logged-in account; the `user_id` column.
    pub const USER_ID: &str = "user_id";
    /// The browser that logged in; the `user_agent` column.
    pub const USER_AGENT: &str = "user_agent";
    /// When the login happened; the `created_at` column.
    pub const CREATED_AT: &str = "created_at";
    /// A page-view counter. No field holds it, so it goes to `data`.
    pub const VIEWS: &str = "views";
}

/// Defines `DemoSession` on one backend, and implements
/// [`Database`](crate::database::Database) for its store.
///
/// A session struct names its backend, so the app has one per backend. The
/// body is the same for each: the derive gives each its own concrete
/// `demo_sessions` table, against which the same queries compile.
macro_rules! session_backend {
    ($module:ident, $backend:ident, users_ddl = $users_ddl:expr) => {
        /// The session struct and queries on this backend.
        pub mod $module {
            use diesel::prelude::*;
            use diesel::result::{DatabaseErrorKind, Error as DieselError};
            use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
            use session_runtime::backend::Backend as _;
            use session_runtime::{Error, SessionDigest, SessionTable};
            use time::OffsetDateTime;

            use crate::database::{Database, DeviceSession, Registration, StoredSession};
            use crate::schema::demo_users;
            use crate::users::User;

            /// The typed part of a session: each field is a column of
            /// `demo_sessions`, filled from the session key of its name.
            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = demo_sessions, backend = $backend)]
            pub struct DemoSession {
                /// Foreign key to `demo_users(id)`, `ON DELETE CASCADE`.
                #[session(references = demo_users)]
                pub user_id: Option<i64>,
                /// The `User-Agent` of the login request.
                pub user_agent: Option<String>,
                /// When the user logged in.
                pub created_at: Option<OffsetDateTime>,
            }

            type Engine = <DemoSession as SessionTable>::Backend;

            /// `CREATE TABLE IF NOT EXISTS demo_users` in this backend's dialect.
            pub const USERS_DDL: &str = $users_ddl;

            async fn checkout(
                store: &DemoSessionStore,
            ) -> Result<<Engine as session_runtime::backend::Backend>::PooledConnection, Error>
            {
                Engine::connection(store.pool()).await
            }

            /// The `expiry_date` value of now, for "live sessions only".
            fn now() -> session_runtime::ExpiryOf<DemoSession> {
                Engine::expiry_to_column(OffsetDateTime::now_utc())
            }

            impl Database for DemoSessionStore {
                fn backend_name(&self) -> &'static str {
                    Engine::NAME
                }

                async fn prepare(&self) -> Result<(), Error> {
                    let mut connection = checkout(self).await?;
                    connection.batch_execute(USERS_DDL).await?;
                    drop(connection);
                    self.migrate().await
                }

                async fn create_user(
                    &self,
                    login: &str,
                    password_hash: &str,
                ) -> Result<Registration, Error> {
                    let mut connection = checkout(self).await?;
                    let inserted = diesel::insert_into(demo_users::table)
                        .values((
                            demo_users::login.eq(login),
                            demo_users::password.eq(password_hash),
                        ))
                        .execute(&mut *connection)
                        .await;
                    // The unique index decides, so two concurrent
                    // registrations of one login cannot both succeed.
                    match inserted {
                        Ok(_) => Ok(Registration::Created),
                        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                            Ok(Registration::LoginTaken)
                        }
                        Err(error) => Err(error.into()),
                    }
                }

                async fn user_by_login(&self, login: &str) -> Result<Option<User>, Error> {
                    let mut connection = checkout(self).await?;
                    let user = demo_users::table
                        .filter(demo_users::login.eq(login))
                        .select((demo_users::id, demo_users::login, demo_users::password))
                        .first::<(i64, String, String)>(&mut *connection)
                        .await
                        .optional()?;
                    Ok(user.map(|(id, login, password)| User {
                        id,
                        login,
                        password,
                    }))
                }

                async fn user_by_id(&self, id: i64) -> Result<Option<User>, Error> {
                    let mut connection = checkout(self).await?;
                    let user = demo_users::table
                        .find(id)
                        .select((demo_users::id, demo_users::login, demo_users::password))
                        .first::<(i64, String, String)>(&mut *connection)
                        .await
                        .optional()?;
                    Ok(user.map(|(id, login, password)| User {
                        id,
                        login,
                        password,
                    }))
                }

                async fn stored_session(
                    &self,
                    digest: SessionDigest,
                ) -> Result<Option<StoredSession>, Error> {
                    let mut connection = checkout(self).await?;
                    // The session table is a Diesel table like any other:
                    // it joins to the users table through its foreign key.
                    let row = demo_sessions::table
                        .left_join(demo_users::table)
                        .filter(demo_sessions::id.eq(digest.as_bytes().as_slice()))
                        .filter(demo_sessions::expiry_date.gt(now()))
                        .select((
                            demo_sessions::user_id,
                            demo_users::login.nullable(),
                            demo_sessions::user_agent,
                            demo_sessions::created_at,
                            demo_sessions::data,
                        ))
                        .first::<(
                            Option<i64>,
                            Option<String>,
                            Option<String>,
                            Option<OffsetDateTime>,
                            serde_json::Value,
                        )>(&mut *connection)
                        .await
                        .optional()?;
                    Ok(row.map(
                        |(user_id, login, user_agent, created_at, data)| StoredSession {
                            user_id,
                            login,
                            user_agent,
                            created_at,
                            data,
                        },
                    ))
                }

                async fn sessions_of(&self, user_id: i64) -> Result<Vec<DeviceSession>, Error> {
                    let mut connection = checkout(self).await?;
                    let rows = demo_sessions::table
                        .filter(demo_sessions::user_id.eq(user_id))
                        .filter(demo_sessions::expiry_date.gt(now()))
                        .order(demo_sessions::created_at.desc())
                        .select((
                            demo_sessions::id,
                            demo_sessions::user_agent,
                            demo_sessions::created_at,
                        ))
                        .load::<(Vec<u8>, Option<String>, Option<OffsetDateTime>)>(&mut *connection)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, user_agent, created_at)| DeviceSession {
                            digest: SessionDigest::from_slice(&id),
                            user_agent,
                            created_at,
                        })
                        .collect())
                }

                async fn revoke_other_sessions(
                    &self,
                    user_id: i64,
                    keep: SessionDigest,
                ) -> Result<usize, Error> {
                    let mut connection = checkout(self).await?;
                    let deleted = diesel::delete(
                        demo_sessions::table
                            .filter(demo_sessions::user_id.eq(user_id))
                            .filter(demo_sessions::id.ne(keep.as_bytes().as_slice())),
                    )
                    .execute(&mut *connection)
                    .await?;
                    Ok(deleted)
                }
            }
        }
    };
}

// SQLite's 64-bit rowid is the id only when the type is spelled `INTEGER`,
// which is why `BIGINT` appears in the other two dialects only.
session_backend!(
    sqlite,
    sqlite,
    users_ddl = "CREATE TABLE IF NOT EXISTS demo_users (
        id INTEGER PRIMARY KEY NOT NULL,
        login TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL
    )"
);

session_backend!(
    postgres,
    postgres,
    users_ddl = "CREATE TABLE IF NOT EXISTS demo_users (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        login TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL
    )"
);

// MySQL cannot index a `TEXT` column whole, and its default collation would
// make `Ada` and `ada` one login; the binary collation keeps logins exact,
// as on the other backends.
session_backend!(
    mysql,
    mysql,
    users_ddl = "CREATE TABLE IF NOT EXISTS demo_users (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        login VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL UNIQUE,
        password VARCHAR(255) NOT NULL
    ) ENGINE=InnoDB"
);
