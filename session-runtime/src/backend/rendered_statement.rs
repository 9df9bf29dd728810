//! The load's `SELECT` and the `DELETE`, with their SQL rendered once.

use std::marker::PhantomData;
use std::sync::OnceLock;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryBuilder, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::QueryResult;

/// A Diesel query of type `Q`, sent as the SQL text it rendered the first
/// time and the binds it is given.
///
/// diesel-async renders the SQL of every query it runs, even one whose
/// prepared statement it already has: a walk of the whole `SELECT` that
/// quotes each identifier into a `String` of its own, about a fifth of a
/// small load's instructions on PostgreSQL. The derived load and delete
/// send this node instead; its text is the query's own, rendered by
/// Diesel once per process into the `OnceLock` the caller keeps, and the
/// statement cache keys it by `Q`'s query id, as it would key `Q`.
///
/// The binds must be the query's own, in its order: the derive builds
/// both from the same values.
///
/// ```
/// use std::sync::OnceLock;
///
/// use session_runtime::__private::diesel::prelude::*;
/// use session_runtime::__private::diesel::{self, sql_types::Binary, sqlite::Sqlite};
/// use session_runtime::__private::{Bind, RenderedStatement};
///
/// diesel::table! {
///     sessions (id) {
///         id -> Binary,
///         data -> Text,
///     }
/// }
///
/// static SQL: OnceLock<String> = OnceLock::new();
/// let id = [7_u8; 32];
/// let query = sessions::table.filter(sessions::id.eq(&id[..])).select(sessions::data);
/// let statement = RenderedStatement::<_, _>::new::<Sqlite>(&SQL, query, Bind::<Binary, _>::new(&id[..]))?;
/// let sql = diesel::debug_query::<Sqlite, _>(&statement).to_string();
/// assert!(sql.starts_with(
///     "SELECT `sessions`.`data` FROM `sessions` WHERE (`sessions`.`id` = ?)"
/// ));
/// # Ok::<_, diesel::result::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RenderedStatement<Q, B> {
    sql: &'static str,
    binds: B,
    query: PhantomData<fn() -> Q>,
}

impl<Q, B> RenderedStatement<Q, B> {
    /// `query` as the text in `sql`, which is rendered from `query` if it
    /// is empty, with `binds`.
    pub fn new<DB>(sql: &'static OnceLock<String>, query: Q, binds: B) -> QueryResult<Self>
    where
        DB: Backend + Default,
        DB::QueryBuilder: Default,
        Q: QueryFragment<DB>,
    {
        let sql = match sql.get() {
            Some(sql) => sql,
            None => {
                let mut builder = DB::QueryBuilder::default();
                query.to_sql(&mut builder, &DB::default())?;
                sql.get_or_init(|| builder.finish())
            }
        };
        Ok(RenderedStatement {
            sql,
            binds,
            query: PhantomData,
        })
    }
}

impl<Q: Query, B> Query for RenderedStatement<Q, B> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryId, B> QueryId for RenderedStatement<Q, B> {
    type QueryId = Q::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q, B, DB> QueryFragment<DB> for RenderedStatement<Q, B>
where
    DB: Backend,
    B: Binds<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        self.binds.walk(&mut out)
    }
}

/// One bind of SQL type `ST`, whose placeholder is in the rendered text.
#[derive(Debug)]
pub struct Bind<'a, ST, U: ?Sized> {
    value: &'a U,
    sql_type: PhantomData<fn() -> ST>,
}

impl<'a, ST, U: ?Sized> Bind<'a, ST, U> {
    /// `value`, sent as `ST`.
    pub fn new(value: &'a U) -> Self {
        Bind {
            value,
            sql_type: PhantomData,
        }
    }
}

impl<ST, U: ?Sized> Clone for Bind<'_, ST, U> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST, U: ?Sized> Copy for Bind<'_, ST, U> {}

/// The binds of a [`RenderedStatement`], in order.
pub trait Binds<DB: Backend> {
    /// Hands each bind to `out`, without its placeholder.
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

impl<ST, U, DB> Binds<DB> for Bind<'_, ST, U>
where
    DB: Backend + HasSqlType<ST>,
    U: ToSql<ST, DB> + ?Sized,
{
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param_value_only::<ST, U>(self.value)
    }
}

impl<A: Binds<DB>, C: Binds<DB>, DB: Backend> Binds<DB> for (A, C) {
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk(out)?;
        self.1.walk(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Binary};

    diesel::table! {
        sessions (id) {
            id -> Binary,
            data -> Text,
            expiry_date -> BigInt,
        }
    }

    /// On backend `$db`, the statement reads as the query it stands for,
    /// text and binds, when it renders the text and when it reuses it.
    macro_rules! reads_as_its_query {
        ($test:ident, $feature:literal, $db:ty) => {
            #[cfg(feature = $feature)]
            #[test]
            fn $test() {
                static SQL: OnceLock<String> = OnceLock::new();
                for (id, now) in [([1_u8; 32], 5_i64), ([2_u8; 32], 6_i64)] {
                    let query = sessions::table
                        .filter(sessions::id.eq(&id[..]).and(sessions::expiry_date.gt(now)))
                        .select(sessions::data);
                    let binds = (
                        Bind::<Binary, _>::new(&id[..]),
                        Bind::<BigInt, _>::new(&now),
                    );
                    let statement = RenderedStatement::new::<$db>(&SQL, query.clone(), binds)
                        .expect("the query renders");
                    assert_eq!(
                        diesel::debug_query::<$db, _>(&statement).to_string(),
                        diesel::debug_query::<$db, _>(&query).to_string(),
                    );
                }
            }
        };
    }

    reads_as_its_query!(
        reads_as_its_query_on_sqlite,
        "sqlite",
        diesel::sqlite::Sqlite
    );
    reads_as_its_query!(reads_as_its_query_on_postgres, "postgres", diesel::pg::Pg);
    reads_as_its_query!(reads_as_its_query_on_mysql, "mysql", diesel::mysql::Mysql);
}
