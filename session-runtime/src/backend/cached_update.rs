//! The `UPDATE` of `save`, in a form each connection prepares once.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression};
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::{QueryResult, QuerySource, Table};

/// `UPDATE table SET values WHERE filter`, which the connection's statement
/// cache keeps.
///
/// Diesel keeps no `UPDATE` in its statement cache, because a changeset of
/// optional values renders a different SQL text for each combination of
/// present values. A derived store's `save` sets every column every time,
/// so its `UPDATE` has one text per table, and preparing it again on every
/// save costs a round trip on PostgreSQL and MySQL and a parse on SQLite.
/// The generated `update` builds this node instead of `diesel::update`,
/// with the same SQL.
///
/// ```
/// use session_runtime::__private::CachedUpdate;
/// use session_runtime::__private::diesel::prelude::*;
///
/// diesel::table! {
///     sessions (id) {
///         id -> Binary,
///         data -> Text,
///     }
/// }
///
/// let id = [7_u8; 32];
/// let update = CachedUpdate::new(
///     sessions::table,
///     sessions::data.eq("{}"),
///     sessions::id.eq(&id[..]),
/// );
/// let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&update).to_string();
/// assert!(sql.starts_with(
///     "UPDATE `sessions` SET `data` = ? WHERE (`sessions`.`id` = ?)"
/// ));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CachedUpdate<T: QuerySource, V, W> {
    from_clause: T::FromClause,
    values: V,
    filter: W,
}

impl<T, C, W> CachedUpdate<T, C, W>
where
    T: Table,
    W: Expression<SqlType = Bool> + AppearsOnTable<T>,
{
    /// The `UPDATE` of the rows of `table` that match `filter`, setting
    /// `values`.
    pub fn new<V>(table: T, values: V, filter: W) -> Self
    where
        V: AsChangeset<Target = T, Changeset = C>,
    {
        CachedUpdate {
            from_clause: table.from_clause(),
            values: values.as_changeset(),
            filter,
        }
    }
}

impl<T, V, W, DB> QueryFragment<DB> for CachedUpdate<T, V, W>
where
    DB: Backend,
    T: QuerySource,
    T::FromClause: QueryFragment<DB>,
    V: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from_clause.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

// Diesel's changeset nodes have no `QueryId`, so the cache keys this
// statement by its SQL text, which is the same for every save of a table.
impl<T: QuerySource, V, W> QueryId for CachedUpdate<T, V, W> {
    type QueryId = ();

    const HAS_STATIC_QUERY_ID: bool = false;
}
