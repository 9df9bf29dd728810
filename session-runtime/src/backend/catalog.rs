//! How each backend reads a session table's live shape from its catalog:
//! the queries, and the one implementation that runs them.

/// The catalog queries of one backend. Each takes the table's name, as
/// `Dialect::catalog_name` spells it, as its one parameter.
pub struct CatalogQueries {
    pub columns: &'static str,
    pub indexes: &'static str,
    pub foreign_keys: &'static str,
    /// One [`LiveStorage`](crate::schema::live_table::LiveStorage) row; `None` on backends without these options.
    pub storage: Option<&'static str>,
}

/// `Backend::read_live_table` for a diesel-async connection type: the same
/// queries (columns, indexes, foreign keys, and storage where the backend has
/// it), each with the table's name bound as text. A macro because
/// the bounds that would make it a generic function are Diesel's internals.
macro_rules! read_live_table {
    ($queries:expr) => {
        async fn read_live_table(
            connection: &mut <Self as $crate::backend::Backend>::Connection,
            table_argument: &str,
        ) -> diesel::QueryResult<Option<$crate::schema::live_table::LiveTable>> {
            use diesel::sql_types::Text;
            use diesel_async::RunQueryDsl as _;
            let queries: &$crate::backend::catalog::CatalogQueries = &$queries;
            let columns: Vec<$crate::schema::live_table::LiveColumn> =
                diesel::sql_query(queries.columns)
                    .bind::<Text, _>(table_argument.to_owned())
                    .load(connection)
                    .await?;
            if columns.is_empty() {
                return Ok(None);
            }
            let indexes: Vec<$crate::schema::live_table::LiveIndex> =
                diesel::sql_query(queries.indexes)
                    .bind::<Text, _>(table_argument.to_owned())
                    .load(connection)
                    .await?;
            let foreign_keys = diesel::sql_query(queries.foreign_keys)
                .bind::<Text, _>(table_argument.to_owned())
                .load(connection)
                .await?;
            let storage: Vec<$crate::schema::live_table::LiveStorage> = match queries.storage {
                Some(query) => {
                    diesel::sql_query(query)
                        .bind::<Text, _>(table_argument.to_owned())
                        .load(connection)
                        .await?
                }
                None => Vec::new(),
            };
            let storage = storage.into_iter().next();
            Ok(Some($crate::schema::live_table::LiveTable {
                columns,
                indexes: indexes.into_iter().map(|index| index.name).collect(),
                foreign_keys,
                unlogged: storage
                    .as_ref()
                    .is_some_and(|storage| storage.unlogged != 0),
                data_compression: storage.and_then(|storage| storage.data_compression),
            }))
        }
    };
}
pub(crate) use read_live_table;
