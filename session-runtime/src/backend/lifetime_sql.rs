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

/// The assignments of `expiry_date` and `created_at` in every `UPDATE` of
/// a session:
///
/// ```sql
/// expiry_date = LEAST(?, COALESCE(created_at, ?) + limit),
/// created_at = COALESCE(created_at, ?)
/// ```
///
/// The expiry is `GREATEST(expiry_date, ?)` instead of `?` for a save that
/// only read the session, and is not capped when the store has no limit.
/// The right-hand sides read the row as it was (PostgreSQL, SQLite); MySQL
/// assigns from left to right, so `created_at` is assigned last and the
/// cap reads it with the same `COALESCE` either way.
#[derive(Debug)]
pub struct SetExpiry<'a, E, K, V> {
    pub(crate) expiry: &'a V,
    /// The creation time a row without one is given: the write's `now`.
    pub(crate) created: &'a V,
    pub(crate) never_earlier: bool,
    pub(crate) limit: LifetimeLimit,
    pub(crate) columns: PhantomData<(E, K)>,
}

impl<'a, E: Column, K, V> AsChangeset for SetExpiry<'a, E, K, V> {
    type Target = E::Table;
    type Changeset = Self;

    fn as_changeset(self) -> Self {
        self
    }
}

impl<E, K, V, DB> QueryFragment<DB> for SetExpiry<'_, E, K, V>
where
    E: Column,
    K: Column,
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
            self.walk_created(out.reborrow())?;
            out.push_sql(after);
            out.push_sql(")");
        }
        out.push_sql(", ");
        out.push_identifier(K::NAME)?;
        out.push_sql(" = ");
        self.walk_created(out)
    }
}

impl<E: Column, K: Column, V> SetExpiry<'_, E, K, V> {
    /// `COALESCE(created_at, ?)`: the row's creation time, or the write's
    /// `now` for a row written without one (during a rolling deploy).
    fn walk_created<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: DieselBackend + HasSqlType<E::SqlType>,
        V: ToSql<E::SqlType, DB>,
    {
        out.push_sql("COALESCE(");
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

    /// `(expiry_date > ? AND (created_at IS NULL OR created_at > ?))`: the
    /// sessions `load` serves. A row without a creation time has no known
    /// lifetime, as on `load`; its next save gives it one.
    pub fn live<E, K>(&self, expiry: E, created: K) -> LiveFilter<'_, E, K, B::Expiry> {
        let _ = (expiry, created);
        LiveFilter {
            now: &self.now,
            born_by: self.born_by.as_ref(),
            ended: false,
            columns: PhantomData,
        }
    }

    /// `(expiry_date <= ? OR created_at <= ?)`: the sessions the cleanup
    /// deletes, expired or past their lifetime.
    pub fn ended<E, K>(&self, expiry: E, created: K) -> LiveFilter<'_, E, K, B::Expiry> {
        LiveFilter {
            ended: true,
            ..self.live(expiry, created)
        }
    }
}

/// The filter of [`LiveAt::live`] or [`LiveAt::ended`].
#[derive(Debug)]
pub struct LiveFilter<'a, E, K, V> {
    now: &'a V,
    born_by: Option<&'a V>,
    ended: bool,
    columns: PhantomData<(E, K)>,
}

impl<E, K, V> Expression for LiveFilter<'_, E, K, V> {
    type SqlType = Bool;
}

impl<E, K, V, QS> AppearsOnTable<QS> for LiveFilter<'_, E, K, V>
where
    E: AppearsOnTable<QS>,
    K: AppearsOnTable<QS>,
{
}

impl<E, K, V> ValidGrouping<()> for LiveFilter<'_, E, K, V> {
    type IsAggregate = is_aggregate::Never;
}

// Its SQL text depends on the store's limit, so the statement cache keys
// it by that text.
impl<E, K, V> QueryId for LiveFilter<'_, E, K, V> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<E, K, V, DB> QueryFragment<DB> for LiveFilter<'_, E, K, V>
where
    E: Column,
    K: Column,
    DB: DieselBackend + HasSqlType<E::SqlType>,
    V: ToSql<E::SqlType, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (compare, join) = if self.ended {
            (" <= ", " OR ")
        } else {
            (" > ", " AND (")
        };
        out.push_sql("(");
        out.push_identifier(E::NAME)?;
        out.push_sql(compare);
        out.push_bind_param::<E::SqlType, V>(self.now)?;
        if let Some(born_by) = self.born_by {
            out.push_sql(join);
            if !self.ended {
                out.push_identifier(K::NAME)?;
                out.push_sql(" IS NULL OR ");
            }
            out.push_identifier(K::NAME)?;
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
