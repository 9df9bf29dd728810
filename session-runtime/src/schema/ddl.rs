//! The statements that create, alter and drop a derived session table.

use crate::schema::dialect::Dialect;
use crate::schema::table_def::{ColumnDef, Compression, DataType, ForeignKey, TableDef};

/// The DDL of one table on one backend: statements to create it, and to
/// drop it again.
///
/// Both are idempotent (`IF NOT EXISTS`, `IF EXISTS`), so `up` can run at
/// every start and both fit a diesel migrations folder as `up.sql` and
/// `down.sql`.
///
/// ```
/// use session_runtime::SessionStore;
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {}
///
/// let migration = AppSessionStore::migration();
/// assert!(migration.up().starts_with("CREATE TABLE IF NOT EXISTS \"http_sessions\""));
/// assert_eq!(migration.down(), "DROP TABLE IF EXISTS \"http_sessions\";\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    up: Vec<String>,
    down: String,
}

impl Migration {
    /// The DDL of `table` in `dialect`.
    pub(crate) fn for_table(dialect: Dialect, table: &TableDef) -> Self {
        let ddl = TableDdl::new(dialect, table);
        let mut columns = vec![
            format!(
                "{} {} NOT NULL PRIMARY KEY",
                dialect.quote_identifier("id"),
                dialect.id_sql()
            ),
            format!(
                "{} {} NOT NULL",
                dialect.quote_identifier("expiry_date"),
                dialect.expiry_sql()
            ),
            ddl.created_at_definition(),
            ddl.authenticated_at_definition(),
        ];
        columns.extend(
            table
                .columns
                .iter()
                .map(|column| ddl.column_definition(column, None)),
        );
        let compression = match ddl.data_compression() {
            Some(method) => format!(" COMPRESSION {}", method.sql_name()),
            None => String::new(),
        };
        // Last, because SQLite reaches a column stored after a large value
        // only by walking that value's overflow pages: with `data` first, a
        // scan of `expiry_date` reads every session whole.
        columns.push(format!(
            "{} {}{compression} NOT NULL",
            dialect.quote_identifier("data"),
            ddl.data_sql()
        ));
        let mut after_table = Vec::new();
        for column in ddl.indexed_columns() {
            if dialect == Dialect::Mysql {
                columns.push(format!(
                    "INDEX {} ({})",
                    ddl.index_name(column),
                    dialect.quote_identifier(column)
                ));
            } else {
                after_table.push(ddl.create_index(column));
            }
        }
        for column in table.columns {
            if let Some(key) = &column.references {
                columns.push(format!(
                    "CONSTRAINT {} {}",
                    ddl.foreign_key_name(column.name),
                    ddl.foreign_key_clause(column.name, key)
                ));
            }
        }
        let mut up = vec![format!(
            "CREATE {}TABLE IF NOT EXISTS {} (\n    {}\n){}",
            if ddl.unlogged() { "UNLOGGED " } else { "" },
            ddl.name,
            columns.join(",\n    "),
            dialect.table_options()
        )];
        up.extend(after_table);
        Migration {
            up,
            down: format!("DROP TABLE IF EXISTS {};\n", ddl.name),
        }
    }

    /// The statements that create the table and its indexes.
    pub fn up_statements(&self) -> &[String] {
        &self.up
    }

    /// The creating DDL as one script, for an `up.sql`.
    pub fn up(&self) -> String {
        self.up
            .iter()
            .map(|statement| format!("{statement};\n"))
            .collect()
    }

    /// The dropping DDL, for a `down.sql`.
    pub fn down(&self) -> &str {
        &self.down
    }
}

/// The statements that build or alter one table in one dialect, piece by
/// piece: what `Migration` and a schema change are made of.
pub(crate) struct TableDdl {
    table: TableDef,
    dialect: Dialect,
    /// The table's quoted name.
    pub name: String,
}

impl TableDdl {
    pub fn new(dialect: Dialect, table: &TableDef) -> Self {
        TableDdl {
            table: *table,
            dialect,
            name: dialect.quote_identifier(table.name),
        }
    }

    /// `expiry_date`, then every column with an index of its own.
    pub fn indexed_columns(&self) -> impl Iterator<Item = &'static str> {
        let columns: &'static [ColumnDef] = self.table.columns;
        self.dialect
            .expiry_index()
            .then_some("expiry_date")
            .into_iter()
            .chain(
                columns
                    .iter()
                    .filter(|column| column.indexed || column.references.is_some())
                    .map(|column| column.name),
            )
    }

    /// The unquoted name of a column's index.
    pub fn raw_index_name(&self, column: &str) -> String {
        format!("{}_{column}_idx", self.table.name)
    }

    pub fn index_name(&self, column: &str) -> String {
        self.dialect.quote_identifier(&self.raw_index_name(column))
    }

    pub fn foreign_key_name(&self, column: &str) -> String {
        self.dialect
            .quote_identifier(&format!("{}_{column}_fkey", self.table.name))
    }

    /// `"name" TYPE NULL` or `"name" TYPE NOT NULL DEFAULT value`.
    pub fn column_definition(&self, column: &ColumnDef, default: Option<&str>) -> String {
        let null = if column.nullable { "NULL" } else { "NOT NULL" };
        let mut definition = format!(
            "{} {} {null}",
            self.dialect.quote_identifier(column.name),
            column.sql_type
        );
        if let Some(default) = default {
            definition.push_str(" DEFAULT ");
            definition.push_str(default);
        }
        definition
    }

    pub fn foreign_key_clause(&self, column: &str, key: &ForeignKey) -> String {
        format!(
            "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}",
            self.dialect.quote_identifier(column),
            self.dialect.quote_identifier(key.table),
            self.dialect.quote_identifier(key.column),
            key.on_delete.sql()
        )
    }

    /// `ALTER TABLE ... ADD COLUMN`; on SQLite the column's foreign key
    /// comes with it, since SQLite cannot add one later.
    pub fn add_column(&self, column: &ColumnDef, default: Option<&str>) -> String {
        let mut statement = format!(
            "ALTER TABLE {} ADD COLUMN {}",
            self.name,
            self.column_definition(column, default)
        );
        if let (Dialect::Sqlite, Some(key)) = (self.dialect, &column.references) {
            statement.push_str(&format!(
                " CONSTRAINT {} REFERENCES {} ({}) ON DELETE {}",
                self.foreign_key_name(column.name),
                self.dialect.quote_identifier(key.table),
                self.dialect.quote_identifier(key.column),
                key.on_delete.sql()
            ));
        }
        statement
    }

    /// Whether the table is unlogged: the struct asks for it, and the
    /// backend has unlogged tables.
    pub fn unlogged(&self) -> bool {
        self.table.unlogged && self.dialect == Dialect::Postgres
    }

    /// The `data` column's type: the backend's, or the one the struct
    /// chose.
    pub fn data_sql(&self) -> &'static str {
        match (self.table.data, self.dialect) {
            (DataType::Json, Dialect::Postgres) => "JSON",
            (DataType::Blob, Dialect::Mysql) => "LONGBLOB",
            (DataType::Encrypted, dialect) => dialect.sealed_data_sql(),
            _ => self.dialect.data_sql(),
        }
    }

    /// The compression method of the `data` column: PostgreSQL's choice,
    /// `None` on the backends that store `data` as written, and for
    /// encrypted `data`, which does not compress (the column keeps the
    /// server's default, and `pglz` gives up on a value after its first
    /// kilobyte).
    pub fn data_compression(&self) -> Option<Compression> {
        (self.dialect == Dialect::Postgres && self.table.data != DataType::Encrypted)
            .then_some(self.table.compression)
    }

    /// Sets the compression of values written from now on; the values
    /// stored keep theirs until they are next written.
    pub fn set_data_compression(&self, method: &str) -> String {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} SET COMPRESSION {method}",
            self.name,
            self.dialect.quote_identifier("data")
        )
    }

    /// `ALTER TABLE ... SET UNLOGGED` or `SET LOGGED`: PostgreSQL rewrites
    /// the table under an exclusive lock, keeping its rows.
    pub fn set_unlogged(&self, unlogged: bool) -> String {
        let persistence = if unlogged { "UNLOGGED" } else { "LOGGED" };
        format!("ALTER TABLE {} SET {persistence}", self.name)
    }

    /// The store's `created_at` column: nullable, for the rows of writers
    /// that do not know it.
    pub fn created_at_definition(&self) -> String {
        format!(
            "{} {} NULL",
            self.dialect.quote_identifier("created_at"),
            self.dialect.expiry_sql()
        )
    }

    /// The store's `authenticated_at` column: NULL until the app marks a
    /// login.
    pub fn authenticated_at_definition(&self) -> String {
        format!(
            "{} {} NULL",
            self.dialect.quote_identifier("authenticated_at"),
            self.dialect.expiry_sql()
        )
    }

    /// Adds `authenticated_at` to a table made before it existed: every
    /// stored session starts out with no authentication time, so its
    /// lifetime still counts from its creation.
    pub fn add_authenticated_at(&self) -> String {
        format!(
            "ALTER TABLE {} ADD COLUMN {}",
            self.name,
            self.authenticated_at_definition()
        )
    }

    /// Adds `created_at` to a table made before it existed, and gives
    /// every stored row the time of the migration: their absolute timeout
    /// counts from there.
    pub fn add_created_at(&self) -> [String; 2] {
        let now = match self.dialect {
            // Unix microseconds, as the store binds `expiry_date`.
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
            Dialect::Postgres => "now()",
            // UTC, as the store binds it, whatever the server's time zone.
            Dialect::Mysql => "UTC_TIMESTAMP(6)",
        };
        let column = self.dialect.quote_identifier("created_at");
        [
            format!(
                "ALTER TABLE {} ADD COLUMN {}",
                self.name,
                self.created_at_definition()
            ),
            format!(
                "UPDATE {} SET {column} = {now} WHERE {column} IS NULL",
                self.name
            ),
        ]
    }

    pub fn drop_column(&self, column: &str) -> String {
        let if_exists = if self.dialect == Dialect::Postgres {
            "IF EXISTS "
        } else {
            ""
        };
        format!(
            "ALTER TABLE {} DROP COLUMN {if_exists}{}",
            self.name,
            self.dialect.quote_identifier(column)
        )
    }

    pub fn create_index(&self, column: &str) -> String {
        // MySQL has no `CREATE INDEX IF NOT EXISTS`.
        let if_not_exists = if self.dialect == Dialect::Mysql {
            ""
        } else {
            "IF NOT EXISTS "
        };
        format!(
            "CREATE INDEX {if_not_exists}{} ON {} ({})",
            self.index_name(column),
            self.name,
            self.dialect.quote_identifier(column)
        )
    }

    pub fn drop_index(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Mysql => format!("DROP INDEX {} ON {}", self.index_name(column), self.name),
            Dialect::Sqlite | Dialect::Postgres => {
                format!("DROP INDEX IF EXISTS {}", self.index_name(column))
            }
        }
    }

    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`, or `None` on SQLite,
    /// which only takes a foreign key with a new column.
    pub fn add_foreign_key(&self, column: &str, key: &ForeignKey) -> Option<String> {
        (self.dialect != Dialect::Sqlite).then(|| {
            format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                self.name,
                self.foreign_key_name(column),
                self.foreign_key_clause(column, key)
            )
        })
    }

    /// Drops the foreign key of `column`; `None` on SQLite, which cannot.
    pub fn drop_foreign_key(&self, column: &str) -> Option<String> {
        let verb = match self.dialect {
            Dialect::Sqlite => return None,
            Dialect::Postgres => "DROP CONSTRAINT IF EXISTS",
            Dialect::Mysql => "DROP FOREIGN KEY",
        };
        Some(format!(
            "ALTER TABLE {} {verb} {}",
            self.name,
            self.foreign_key_name(column)
        ))
    }

    /// Changes a column's type, its nullability, or both, in place,
    /// converting its values; `None` on SQLite, which cannot.
    pub fn alter_column(&self, column: &str, change: ColumnChange<'_>) -> Option<String> {
        let quoted = self.dialect.quote_identifier(column);
        let null = |nullable| if nullable { "NULL" } else { "NOT NULL" };
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => {
                let mut clauses = Vec::new();
                if change.retype {
                    let sql_type = change.sql_type;
                    clauses.push(format!(
                        "ALTER COLUMN {quoted} TYPE {sql_type} USING {quoted}::{sql_type}"
                    ));
                }
                if change.renull {
                    let verb = if change.nullable { "DROP" } else { "SET" };
                    clauses.push(format!("ALTER COLUMN {quoted} {verb} NOT NULL"));
                }
                Some(format!("ALTER TABLE {} {}", self.name, clauses.join(", ")))
            }
            // MODIFY restates the whole column.
            Dialect::Mysql => Some(format!(
                "ALTER TABLE {} MODIFY COLUMN {quoted} {} {}",
                self.name,
                change.sql_type,
                null(change.nullable)
            )),
        }
    }
}

/// What a column should become, and which of its type and nullability
/// differ from what it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnChange<'a> {
    pub sql_type: &'a str,
    pub nullable: bool,
    pub retype: bool,
    pub renull: bool,
}

impl ColumnChange<'_> {
    /// Whether the column already is what it should become.
    pub fn is_none(&self) -> bool {
        !self.retype && !self.renull
    }
}
