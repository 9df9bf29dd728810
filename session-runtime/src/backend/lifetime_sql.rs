//! The store's absolute timeout in SQL: every `UPDATE` caps the expiry it
//! writes at `created_at` plus the limit and gives a row without a
//! `created_at` one, and the table-wide reads and the cleanup treat a
//! session past its lifetime as ended. Doing it in the statement, not in
//! Rust, holds whatever the store remembers of the request's load.

use std::marker::PhantomData;

use diesel::backend::Backend as DieselBackend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};
use diesel::{Column, QueryResult};

use crate::backend::Backend;
use crate::schema::dialect::Dialect;

/// The dialect of a Diesel backend, for the SQL nodes that differ by
/// database.
pub trait SqlDialect {
    /// The dialect this Diesel backend speaks.
    const DIALECT: Dialect;
}

#[cfg(feature = "postgres")]
impl SqlDialect for diesel::pg::Pg {
    const DIALECT: Dialect = Dialect::Postgres;
}

#[cfg(feature = "mysql")]
impl SqlDialect for diesel::mysql::Mysql {
    const DIALECT: Dialect = Dialect::Mysql;
}

#[cfg(feature = "sqlite")]
impl SqlDialect for diesel::sqlite::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
}

/// When a session's lifetime began, in a hand-written statement: its
/// authentication time, else its creation. [`LiveAt::live`] renders the
/// same for the derived statements.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) const LIFETIME_START_SQL: &str = "COALESCE(authenticated_at, created_at)";

/// The store's absolute timeout as its statements write it: the limit in
/// microseconds, or none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifetimeLimit(Option<i64>);

impl LifetimeLimit {
    /// The limit of a store's `with_max_lifetime`. A limit beyond what a
    /// timestamp can hold (some 292 000 years) is no limit.
    pub(crate) fn of(max_lifetime: Option<std::time::Duration>) -> Self {
        LifetimeLimit(max_lifetime.and_then(|limit| i64::try_from(limit.as_micros()).ok()))
    }

    /// `(before, after)` around an expression of a creation time that make
    /// it the end of the session's lifetime, if the store has a limit.
    fn end(self, dialect: Dialect) -> Option<(&'static str, String)> {
        self.0.map(|micros| dialect.plus_microseconds(micros))
    }
}

/// The assignments of `expiry_date`, `created_at` and, when the save
/// changes it, `authenticated_at` in every `UPDATE` of a session:
///
/// ```sql
/// expiry_date = LEAST(?, COALESCE(authenticated_at, created_at, ?) + limit),
/// created_at = COALESCE(created_at, ?)
/// ```
///
/// The session's lifetime runs from its authentication time, or from its
/// creation for a session nobody logged into. The expiry is
/// `GREATEST(expiry_date, ?)` instead of `?` for a save that only read the
/// session, and is not capped when the store has no limit. A save that
/// sets the authentication time caps at the time it sets. The right-hand
/// sides read the row as it was (PostgreSQL, SQLite); MySQL assigns from
/// left to right, so `created_at` and `authenticated_at` are assigned last
/// and the cap reads the same values either way.
#[derive(Debug)]
pub struct SetExpiry<'a, E, K, A, V> {
    pub(crate) expiry: &'a V,
    /// The creation time a row without one is given: the write's `now`.
    pub(crate) created: &'a V,
    pub(crate) authenticated: AuthenticatedWrite<'a, V>,
    pub(crate) never_earlier: bool,
    pub(crate) limit: LifetimeLimit,
    pub(crate) columns: PhantomData<(E, K, A)>,
}

/// What an `UPDATE` does to `authenticated_at`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuthenticatedWrite<'a, V> {
    /// Leaves it: the save did not change the authentication time.
    Kept,
    /// Sets it: the app marked a login.
    Set(&'a V),
    /// Clears it: the session no longer carries one.
    Cleared,
}

impl<'a, E: Column, K, A, V> AsChangeset for SetExpiry<'a, E, K, A, V> {
    type Target = E::Table;
    type Changeset = Self;

    fn as_changeset(self) -> Self {
        self
    }
}

impl<E, K, A, V, DB> QueryFragment<DB> for SetExpiry<'_, E, K, A, V>
where
    E: Column,
    K: Column,
    A: Column,
    DB: DieselBackend + SqlDialect + HasSqlType<E::SqlType>,
    V: ToSql<E::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let dialect = DB::DIALECT;
        let end = self.limit.end(dialect);
        out.push_identifier(E::NAME)?;
        out.push_sql(" = ");
        if end.is_some() {
            out.push_sql(dialect.least());
            out.push_sql("(");
        }
        if self.never_earlier {
            out.push_sql(dialect.greatest());
            out.push_sql("(");
            out.push_identifier(E::NAME)?;
            out.push_sql(", ");
            out.push_bind_param::<E::SqlType, V>(self.expiry)?;
            out.push_sql(")");
        } else {
            out.push_bind_param::<E::SqlType, V>(self.expiry)?;
        }
        if let Some((before, after)) = &end {
            out.push_sql(", ");
            out.push_sql(before);
            self.walk_lifetime_start(out.reborrow())?;
            out.push_sql(after);
            out.push_sql(")");
        }
        out.push_sql(", ");
        out.push_identifier(K::NAME)?;
        out.push_sql(" = COALESCE(");
        out.push_identifier(K::NAME)?;
        out.push_sql(", ");
        out.push_bind_param::<E::SqlType, V>(self.created)?;
        out.push_sql(")");
        match self.authenticated {
            AuthenticatedWrite::Kept => {}
            AuthenticatedWrite::Set(at) => {
                out.push_sql(", ");
                out.push_identifier(A::NAME)?;
                out.push_sql(" = ");
                out.push_bind_param::<E::SqlType, V>(at)?;
            }
            AuthenticatedWrite::Cleared => {
                out.push_sql(", ");
                out.push_identifier(A::NAME)?;
                out.push_sql(" = NULL");
            }
        }
        Ok(())
    }
}

impl<E: Column, K: Column, A: Column, V> SetExpiry<'_, E, K, A, V> {
    /// When the session's lifetime began, as the row will hold it: the
    /// authentication time this save sets, else the stored one, else the
    /// creation time, else the write's `now` for a row written without one
    /// (during a rolling deploy).
    fn walk_lifetime_start<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: DieselBackend + HasSqlType<E::SqlType>,
        V: ToSql<E::SqlType, DB>,
    {
        if let AuthenticatedWrite::Set(at) = self.authenticated {
            return out.push_bind_param::<E::SqlType, V>(at);
        }
        out.push_sql("COALESCE(");
        if let AuthenticatedWrite::Kept = self.authenticated {
            out.push_identifier(A::NAME)?;
            out.push_sql(", ");
        }
        out.push_identifier(K::NAME)?;
        out.push_sql(", ");
        out.push_bind_param::<E::SqlType, V>(self.created)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The moment a table-wide statement runs at, and the creation time at or
/// before which a session has outlived the store's absolute timeout.
#[derive(Debug)]
pub struct LiveAt<B: Backend> {
    now: B::Expiry,
    born_by: Option<B::Expiry>,
}

impl<B: Backend> LiveAt<B> {
    /// `now`, for a store whose sessions end at `now` if created at or
    /// before `born_by`.
    pub(crate) fn new(now: B::Expiry, born_by: Option<B::Expiry>) -> Self {
        LiveAt { now, born_by }
    }

    /// The moment itself.
    pub(crate) fn now(&self) -> &B::Expiry {
        &self.now
    }

    /// The creation time at or before which a session has ended, if the
    /// store has an absolute timeout.
    pub(crate) fn born_by(&self) -> Option<&B::Expiry> {
        self.born_by.as_ref()
    }

    /// `(expiry_date > ? AND (start IS NULL OR start > ?))`, where `start`
    /// is `COALESCE(authenticated_at, created_at)`, when the session's
    /// lifetime began: the sessions `load` serves. A row without either
    /// time has no known lifetime, as on `load`; its next save gives it
    /// one.
    pub fn live<E, K, A>(
        &self,
        expiry: E,
        created: K,
        authenticated: A,
    ) -> LiveFilter<'_, E, K, A, B::Expiry> {
        let _ = (expiry, created, authenticated);
        LiveFilter {
            now: &self.now,
            born_by: self.born_by.as_ref(),
            ended: false,
            columns: PhantomData,
        }
    }

    /// `(expiry_date <= ? OR start <= ?)`: the sessions the cleanup
    /// deletes, expired or past their lifetime.
    pub fn ended<E, K, A>(
        &self,
        expiry: E,
        created: K,
        authenticated: A,
    ) -> LiveFilter<'_, E, K, A, B::Expiry> {
        LiveFilter {
            ended: true,
            ..self.live(expiry, created, authenticated)
        }
    }
}

/// The filter of [`LiveAt::live`] or [`LiveAt::ended`].
#[derive(Debug)]
pub struct LiveFilter<'a, E, K, A, V> {
    now: &'a V,
    born_by: Option<&'a V>,
    ended: bool,
    columns: PhantomData<(E, K, A)>,
}

impl<E, K, A, V> Expression for LiveFilter<'_, E, K, A, V> {
    type SqlType = Bool;
}

impl<E, K, A, V, QS> AppearsOnTable<QS> for LiveFilter<'_, E, K, A, V>
where
    E: AppearsOnTable<QS>,
    K: AppearsOnTable<QS>,
    A: AppearsOnTable<QS>,
{
}

impl<E, K, A, V> ValidGrouping<()> for LiveFilter<'_, E, K, A, V> {
    type IsAggregate = is_aggregate::Never;
}

// Its SQL text depends on the store's limit, so the statement cache keys
// it by that text.
impl<E, K, A, V> QueryId for LiveFilter<'_, E, K, A, V> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<E, K, A, V, DB> QueryFragment<DB> for LiveFilter<'_, E, K, A, V>
where
    E: Column,
    K: Column,
    A: Column,
    DB: DieselBackend + HasSqlType<E::SqlType>,
    V: ToSql<E::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (compare, join) = if self.ended {
            (" <= ", " OR ")
        } else {
            (" > ", " AND (")
        };
        let lifetime_start = |out: &mut AstPass<'_, 'b, DB>| -> QueryResult<()> {
            out.push_sql("COALESCE(");
            out.push_identifier(A::NAME)?;
            out.push_sql(", ");
            out.push_identifier(K::NAME)?;
            out.push_sql(")");
            Ok(())
        };
        out.push_sql("(");
        out.push_identifier(E::NAME)?;
        out.push_sql(compare);
        out.push_bind_param::<E::SqlType, V>(self.now)?;
        if let Some(born_by) = self.born_by {
            out.push_sql(join);
            if !self.ended {
                lifetime_start(&mut out)?;
                out.push_sql(" IS NULL OR ");
            }
            lifetime_start(&mut out)?;
            out.push_sql(compare);
            out.push_bind_param::<E::SqlType, V>(born_by)?;
            if !self.ended {
                out.push_sql(")");
            }
        }
        out.push_sql(")");
        Ok(())
    }
}
