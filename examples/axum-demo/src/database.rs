//! The app's database: the session store, and the app's own queries on
//! `demo_users`.
//!
//! Sessions need no query of the app's: the store's per-user operations
//! take `demo_sessions::user_id` on any backend. The app's own queries are
//! Diesel queries, which compile for one backend's connection, so each is
//! written once and run by `session_runtime::on_backend!` on the backend
//! the store runs on, where `demo_sessions::sqlite`, `::postgres` or
//! `::mysql` is the session table.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use session_runtime::diesel_async::RunQueryDsl;
use session_runtime::{on_backend, Error};

use crate::schema::{self, demo_sessions, demo_users, DemoSessionStore};
use crate::users::User;

/// The session store, which also holds the app's users.
#[derive(Debug, Clone)]
pub struct Database {
    sessions: DemoSessionStore,
}

/// The outcome of [`Database::create_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The account exists now.
    Created,
    /// Another account has this login.
    LoginTaken,
}

/// A line of the admin view: an account and how many live sessions it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSessions {
    /// The account's id.
    pub id: i64,
    /// The account's login.
    pub login: String,
    /// Its live sessions.
    pub sessions: u64,
}

fn user((id, login, password): (i64, String, String)) -> User {
    User {
        id,
        login,
        password,
    }
}

impl Database {
    /// A database on `url`: a SQLite file path, `postgres://...` or
    /// `mysql://...`. Connections are opened when first needed.
    ///
    /// ```
    /// use example_axum_demo::Database;
    ///
    /// let database = Database::connect("postgres://localhost/app").unwrap();
    /// assert_eq!(database.backend_name(), "PostgreSQL");
    /// assert!(Database::connect("redis://localhost").is_err());
    /// ```
    pub fn connect(url: &str) -> Result<Self, Error> {
        Ok(Database {
            sessions: DemoSessionStore::connect(url)?,
        })
    }

    /// The session store: the session layer's store, and the runtime's
    /// per-user queries on `demo_sessions::user_id`.
    pub fn sessions(&self) -> &DemoSessionStore {
        &self.sessions
    }

    /// The backend's name, shown on the page.
    pub fn backend_name(&self) -> &'static str {
        self.sessions.backend_name()
    }

    /// Creates the users table and then the session table, whose foreign
    /// key needs the users table to exist. Idempotent.
    pub async fn prepare(&self) -> Result<(), Error> {
        self.sessions
            .batch_execute_per_backend(
                schema::SQLITE_USERS_DDL,
                schema::POSTGRES_USERS_DDL,
                schema::MYSQL_USERS_DDL,
            )
            .await?;
        self.sessions.migrate().await?;
        // Every problem the store can find before the first request.
        self.sessions.verify().await
    }

    /// Adds an account, unless the login is taken.
    pub async fn create_user(
        &self,
        login: &str,
        password_hash: &str,
    ) -> Result<Registration, Error> {
        let inserted = on_backend!(self.sessions, demo_sessions, |connection| {
            diesel::insert_into(demo_users::table)
                .values((
                    demo_users::login.eq(login),
                    demo_users::password.eq(password_hash),
                ))
                .execute(connection)
                .await
        })?;
        // The unique index decides, so two concurrent registrations of one
        // login cannot both succeed.
        match inserted {
            Ok(_) => Ok(Registration::Created),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Ok(Registration::LoginTaken)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The account with this login.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, Error> {
        on_backend!(self.sessions, demo_sessions, |connection| {
            demo_users::table
                .filter(demo_users::login.eq(login))
                .select((demo_users::id, demo_users::login, demo_users::password))
                .first(connection)
                .await
                .optional()?
                .map(user)
        })
    }

    /// The account with this id.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, Error> {
        on_backend!(self.sessions, demo_sessions, |connection| {
            demo_users::table
                .find(id)
                .select((demo_users::id, demo_users::login, demo_users::password))
                .first(connection)
                .await
                .optional()?
                .map(user)
        })
    }

    /// Every account with its number of live sessions, by login: one
    /// `GROUP BY` over `demo_users` left-joined to the session table.
    pub async fn session_counts(&self) -> Result<Vec<UserSessions>, Error> {
        let rows = on_backend!(
            self.sessions,
            demo_sessions,
            |connection, sessions, store| {
                // The session table is a Diesel table like any other: it joins
                // to the users table through its foreign key. The expiry test
                // sits in `ON`, so that an account without live sessions still
                // gets its line, with 0.
                demo_users::table
                    .left_join(
                        sessions::table.on(sessions::user_id
                            .eq(demo_users::id.nullable())
                            .and(sessions::expiry_date.gt(store.now()))),
                    )
                    .group_by((demo_users::id, demo_users::login))
                    .select((
                        demo_users::id,
                        demo_users::login,
                        diesel::dsl::count(sessions::id.nullable()),
                    ))
                    .order(demo_users::login)
                    .load::<(i64, String, i64)>(connection)
                    .await?
            }
        )?;
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
