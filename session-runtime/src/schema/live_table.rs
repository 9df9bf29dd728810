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
