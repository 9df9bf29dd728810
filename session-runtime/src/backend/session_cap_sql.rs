//! The statement of the per-user session cap
//! ([`DieselStore::with_max_sessions_per`](crate::DieselStore::with_max_sessions_per)):
//! one `DELETE` of every live session of a user but the newest few, which
//! holds however many logins of that user run at once.

use std::marker::PhantomData;

use diesel::backend::Backend as DieselBackend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType};
use diesel::{Column, QueryResult};

use crate::backend::lifetime_sql::SqlDialect;
use crate::schema::dialect::Dialect;

/// ```sql
/// DELETE FROM sessions WHERE <filter> AND id NOT IN
///   (SELECT id FROM sessions WHERE <filter>
///    ORDER BY created_at DESC, id DESC LIMIT ?)
/// RETURNING id
/// ```
///
/// `filter` selects the live rows of one user, so that only live sessions
/// count towards the limit, and an expired one is left to the cleanup.
///
/// It needs no read before it and no lock around it: each login runs it
/// after its own `INSERT` committed, so the last of concurrent logins to
/// run it sees every row; and a row among the newest of all is among the
/// newest of any subset an earlier run saw, so no run deletes a row the
/// last one keeps. Ties of `created_at` are broken by `id`, so that every
/// run orders the rows alike.
///
/// On PostgreSQL a `NULL` `created_at` (a row written before the column
/// existed) sorts last, as it does on the other backends: such a row is
/// the oldest. MySQL and MariaDB refuse `LIMIT` in an `IN` subquery, and a
/// subquery on the table a `DELETE` deletes from; a derived table, which
/// they materialize before the delete, is allowed. `RETURNING` is
/// MariaDB's since 10.5; MySQL has none.
#[derive(Debug)]
pub struct DeleteAllButNewest<F, I, K> {
    table: &'static str,
    filter: F,
    keep: i64,
    columns: PhantomData<(I, K)>,
}

impl<F, I: Column, K: Column> DeleteAllButNewest<F, I, K> {
    /// The statement on `table` that keeps the `keep` newest of the rows
    /// `filter` selects, by their `created` then `id` columns, and deletes
    /// the others.
    pub fn new(table: &'static str, filter: F, id: I, created: K, keep: i64) -> Self {
        let _ = (id, created);
        DeleteAllButNewest {
            table,
            filter,
            keep,
            columns: PhantomData,
        }
    }
}

impl<F, I, K> Query for DeleteAllButNewest<F, I, K> {
    type SqlType = Binary;
}

// Its text depends on the store's lifetime limit inside `filter`, so the
// statement cache keys it by that text.
impl<F, I, K> QueryId for DeleteAllButNewest<F, I, K> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<F, I, K, DB> QueryFragment<DB> for DeleteAllButNewest<F, I, K>
where
    F: QueryFragment<DB>,
    I: Column,
    K: Column,
    DB: DieselBackend + SqlDialect + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let derived_table = DB::DIALECT == Dialect::Mysql;
        out.push_sql("DELETE FROM ");
        out.push_identifier(self.table)?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        out.push_sql(" AND ");
        out.push_identifier(I::NAME)?;
        out.push_sql(" NOT IN (SELECT ");
        out.push_identifier(I::NAME)?;
        out.push_sql(" FROM ");
        if derived_table {
            out.push_sql("(SELECT ");
            out.push_identifier(I::NAME)?;
            out.push_sql(" FROM ");
        }
        out.push_identifier(self.table)?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())?;
        out.push_sql(" ORDER BY ");
        out.push_identifier(K::NAME)?;
        out.push_sql(match DB::DIALECT {
            Dialect::Postgres => " DESC NULLS LAST, ",
            _ => " DESC, ",
        });
        out.push_identifier(I::NAME)?;
        out.push_sql(" DESC LIMIT ");
        out.push_bind_param::<BigInt, i64>(&self.keep)?;
        if derived_table {
            out.push_sql(") AS newest");
        }
        out.push_sql(") RETURNING ");
        out.push_identifier(I::NAME)
    }
}
