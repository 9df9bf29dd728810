//! The shape a session table really has in the database, read from the
//! catalog, for `migrate()` and `check_schema()` to compare with the struct.

use diesel::sql_types::{BigInt, Nullable, Text};

/// A table as the database's catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTable {
    pub columns: Vec<LiveColumn>,
    /// The names of the table's indexes, the primary key's included.
    pub indexes: Vec<String>,
    pub foreign_keys: Vec<LiveForeignKey>,
    /// Whether PostgreSQL keeps the table out of its write-ahead log.
    pub unlogged: bool,
    /// The compression method of PostgreSQL's `data` column, as `COMPRESSION`
    /// names it (`default` when none was set); `None` on the other backends,
    /// and when the column is missing.
    pub data_compression: Option<String>,
}

impl LiveTable {
    pub fn column(&self, name: &str) -> Option<&LiveColumn> {
        self.columns.iter().find(|column| column.name == name)
    }

    pub fn has_index(&self, name: &str) -> bool {
        self.indexes.iter().any(|index| index == name)
    }

    pub fn foreign_key(&self, column: &str) -> Option<&LiveForeignKey> {
        self.foreign_keys
            .iter()
            .find(|key| key.column_name == column)
    }
}

/// One column of a live table. The flags are integers because that is
/// what every backend's catalog query can return alike.
#[derive(Debug, Clone, PartialEq, Eq, diesel::deserialize::QueryableByName)]
pub struct LiveColumn {
    #[diesel(sql_type = Text)]
    pub name: String,
    /// The type as the catalog spells it, e.g. `bigint(20)` on MariaDB.
    #[diesel(sql_type = Text)]
    pub sql_type: String,
    #[diesel(sql_type = BigInt)]
    pub not_null: i64,
    #[diesel(sql_type = BigInt)]
    pub has_default: i64,
}

impl LiveColumn {
    pub fn nullable(&self) -> bool {
        self.not_null == 0
    }

    pub fn has_default(&self) -> bool {
        self.has_default != 0
    }
}

/// The name of one index of a live table.
#[derive(Debug, diesel::deserialize::QueryableByName)]
pub struct LiveIndex {
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// One single-column foreign key of a live table.
#[derive(Debug, Clone, PartialEq, Eq, diesel::deserialize::QueryableByName)]
pub struct LiveForeignKey {
    #[diesel(sql_type = Text)]
    pub column_name: String,
    #[diesel(sql_type = Text)]
    pub referenced_table: String,
    #[diesel(sql_type = Text)]
    pub referenced_column: String,
    /// The rule in upper case: `CASCADE`, `SET NULL`, `RESTRICT`, ...
    #[diesel(sql_type = Text)]
    pub on_delete: String,
}

/// The storage options of a live table that only PostgreSQL has.
#[derive(Debug, diesel::deserialize::QueryableByName)]
pub struct LiveStorage {
    /// 1 for an unlogged table.
    #[diesel(sql_type = BigInt)]
    pub unlogged: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub data_compression: Option<String>,
}

/// The catalog queries of one backend. Each takes the table's name, as
/// `Dialect::catalog_name` spells it, as its one parameter.
pub struct CatalogQueries {
    pub columns: &'static str,
    pub indexes: &'static str,
    pub foreign_keys: &'static str,
    /// One [`LiveStorage`] row; `None` on backends without these options.
    pub storage: Option<&'static str>,
}

/// `Backend::read_live_table` for a diesel-async connection type: the same
/// queries (columns, indexes, foreign keys, and storage where the backend has
/// it), each with the table's name bound as text. A macro because
/// the bounds that would make it a generic function are Diesel's internals.
macro_rules! read_live_table {
    ($queries:expr) => {
        async fn read_live_table(
            connection: &mut Self::Connection,
            table_argument: &str,
        ) -> diesel::QueryResult<Option<$crate::schema::live_table::LiveTable>> {
            use diesel::sql_types::Text;
            use diesel_async::RunQueryDsl as _;
            let queries: &$crate::schema::live_table::CatalogQueries = &$queries;
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
