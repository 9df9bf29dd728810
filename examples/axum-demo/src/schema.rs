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
            use session_runtime::{DieselStore, Error, SessionTable};
            use time::OffsetDateTime;

            use crate::database::{Database, Registration, SessionFields, UserSessions};
            use crate::schema::demo_users;
            use crate::users::User;

            /// The typed part of a session: each field is a column of
            /// `demo_sessions`, filled from the session key of its name.
            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = demo_sessions, backend = $backend)]
            pub struct DemoSession {
                /// Foreign key to `demo_users(id)`, `ON DELETE CASCADE`,
                /// indexed: the column the runtime finds a user's
                /// sessions by.
                #[session(references = demo_users)]
                pub user_id: Option<i64>,
                /// The `User-Agent` of the login request.
                pub user_agent: Option<String>,
                /// When the user logged in.
                pub logged_in_at: Option<OffsetDateTime>,
            }

            impl From<SessionFields> for DemoSession {
                fn from(fields: SessionFields) -> Self {
                    let SessionFields {
                        user_id,
                        user_agent,
                        logged_in_at,
                    } = fields;
                    DemoSession {
                        user_id,
                        user_agent,
                        logged_in_at,
                    }
                }
            }

            impl From<DemoSession> for SessionFields {
                fn from(session: DemoSession) -> Self {
                    let DemoSession {
                        user_id,
                        user_agent,
                        logged_in_at,
                    } = session;
                    SessionFields {
                        user_id,
                        user_agent,
                        logged_in_at,
                    }
                }
            }

            type Engine = <DemoSession as SessionTable>::Backend;

            /// `CREATE TABLE IF NOT EXISTS demo_users` in this backend's dialect.
            pub const USERS_DDL: &str = $users_ddl;

            fn user((id, login, password): (i64, String, String)) -> User {
                User {
                    id,
                    login,
                    password,
                }
            }

            impl Database for DemoSessionStore {
                type Session = DemoSession;
                type UserIdColumn = demo_sessions::user_id;
                const USER_ID: demo_sessions::user_id = demo_sessions::user_id;

                fn sessions(&self) -> &DieselStore<DemoSession> {
                    self
                }

                fn backend_name(&self) -> &'static str {
                    Engine::NAME
                }

                async fn prepare(&self) -> Result<(), Error> {
                    let mut connection = self.connection().await?;
                    connection.batch_execute(USERS_DDL).await?;
                    drop(connection);
                    self.migrate().await.map(drop)
                }

                async fn create_user(
                    &self,
                    login: &str,
                    password_hash: &str,
                ) -> Result<Registration, Error> {
                    let mut connection = self.connection().await?;
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
                    let mut connection = self.connection().await?;
                    let found = demo_users::table
                        .filter(demo_users::login.eq(login))
                        .select((demo_users::id, demo_users::login, demo_users::password))
                        .first(&mut *connection)
                        .await
                        .optional()?;
                    Ok(found.map(user))
                }

                async fn user_by_id(&self, id: i64) -> Result<Option<User>, Error> {
                    let mut connection = self.connection().await?;
                    let found = demo_users::table
                        .find(id)
                        .select((demo_users::id, demo_users::login, demo_users::password))
                        .first(&mut *connection)
                        .await
                        .optional()?;
                    Ok(found.map(user))
                }

                async fn session_counts(&self) -> Result<Vec<UserSessions>, Error> {
                    let now = DemoSessionStore::expiry_now();
                    let mut connection = self.connection().await?;
                    // The session table is a Diesel table like any other:
                    // it joins to the users table through its foreign key.
                    // The expiry test sits in `ON`, so that an account
                    // without live sessions still gets its line, with 0.
                    let rows = demo_users::table
                        .left_join(
                            demo_sessions::table.on(demo_sessions::user_id
                                .eq(demo_users::id.nullable())
                                .and(demo_sessions::expiry_date.gt(&now))),
                        )
                        .group_by((demo_users::id, demo_users::login))
                        .select((
                            demo_users::id,
                            demo_users::login,
                            diesel::dsl::count(demo_sessions::id.nullable()),
                        ))
                        .order(demo_users::login)
                        .load::<(i64, String, i64)>(&mut *connection)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, login, sessions)| UserSessions {
                            id,
                            login,
                            sessions: u64::try_from(sessions).unwrap_or(0),
                        })
                        .collect())
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
