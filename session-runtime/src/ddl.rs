//! The `CREATE TABLE` and `DROP TABLE` of a derived session table.

use crate::backend::Backend;

/// A derived session table, as the DDL needs it.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// The table's SQL name.
    pub name: &'static str,
    /// One column per field of the struct; the fixed `id`, `data` and
    /// `expiry_date` columns come from the backend.
    pub columns: &'static [ColumnDef],
}

/// One typed column.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// The column's SQL name.
    pub name: &'static str,
    /// Where the column's value lives in the session map.
    pub path: crate::KeyPath,
    /// The column type, from [`ColumnType`].
    pub sql_type: &'static str,
    /// `false` for `NOT NULL` columns.
    pub nullable: bool,
    /// Whether the column gets an index of its own.
    pub indexed: bool,
    /// The foreign key, if the column references another table.
    pub references: Option<ForeignKey>,
}

/// A `FOREIGN KEY ... REFERENCES` clause.
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    /// The referenced table's SQL name.
    pub table: &'static str,
    /// The referenced column's SQL name.
    pub column: &'static str,
    /// What deleting the referenced row does to the session row.
    pub on_delete: OnDelete,
}

/// The `ON DELETE` rule of a foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// Deleting the user deletes their sessions (the default).
    Cascade,
    /// Deleting the user clears the column, which logs the session out.
    SetNull,
    /// The user cannot be deleted while a session references them.
    Restrict,
}

impl OnDelete {
    /// The rule as SQL writes it, and as the catalogs report it.
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Restrict => "RESTRICT",
        }
    }
}

/// The DDL of one table on one backend: statements to create it, and to
/// drop it again.
///
/// Both are idempotent (`IF NOT EXISTS`, `IF EXISTS`), so `up` can run at
/// every start and both fit a diesel migrations folder as `up.sql` and
/// `down.sql`.
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use session_runtime::backend::Sqlite;
/// use session_runtime::{Migration, TableDef};
///
/// let table = TableDef { name: "http_sessions", columns: &[] };
/// let migration = Migration::for_table::<Sqlite>(&table);
/// assert!(migration.up().starts_with("CREATE TABLE IF NOT EXISTS \"http_sessions\""));
/// assert_eq!(migration.down(), "DROP TABLE IF EXISTS \"http_sessions\";\n");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    up: Vec<String>,
    down: String,
}

impl Migration {
    /// The DDL of `table` on backend `B`.
    pub fn for_table<B: Backend>(table: &TableDef) -> Self {
        let ddl = TableDdl::<B>::new(table);
        let mut columns = vec![
            format!(
                "{} {} NOT NULL PRIMARY KEY",
                B::quote_identifier("id"),
                B::ID_SQL
            ),
            format!("{} {} NOT NULL", B::quote_identifier("data"), B::DATA_SQL),
            format!(
                "{} {} NOT NULL",
                B::quote_identifier("expiry_date"),
                B::EXPIRY_SQL
            ),
        ];
        columns.extend(
            table
                .columns
                .iter()
                .map(|column| ddl.column_definition(column, None)),
        );
        let mut after_table = Vec::new();
        for column in ddl.indexed_columns() {
            if B::DIALECT == Dialect::Mysql {
                columns.push(format!(
                    "INDEX {} ({})",
                    ddl.index_name(column),
                    B::quote_identifier(column)
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
            "CREATE TABLE IF NOT EXISTS {} (\n    {}\n){}",
            ddl.name,
            columns.join(",\n    "),
            B::TABLE_OPTIONS
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

/// How a backend's DDL differs from the others' where a constant flag
/// would not say enough: altering a live table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `ADD COLUMN` takes a `REFERENCES` clause, but a foreign key
    /// cannot be added to or dropped from an existing column, and a column's
    /// type cannot change, without rebuilding the table.
    Sqlite,
    /// PostgreSQL: transactional DDL; every change is an `ALTER TABLE`.
    Postgres,
    /// MySQL and MariaDB: DDL commits by itself; no `IF NOT EXISTS` on
    /// indexes in MySQL.
    Mysql,
}

/// The statements that build or alter one table on backend `B`, piece by
/// piece: what `Migration` and a schema change are made of.
pub(crate) struct TableDdl<B> {
    table: TableDef,
    /// The table's quoted name.
    pub name: String,
    backend: std::marker::PhantomData<B>,
}

impl<B: Backend> TableDdl<B> {
    pub fn new(table: &TableDef) -> Self {
        TableDdl {
            table: *table,
            name: B::quote_identifier(table.name),
            backend: std::marker::PhantomData,
        }
    }

    /// `expiry_date`, then every column with an index of its own.
    pub fn indexed_columns(&self) -> impl Iterator<Item = &'static str> {
        let columns: &'static [ColumnDef] = self.table.columns;
        std::iter::once("expiry_date").chain(
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
        B::quote_identifier(&self.raw_index_name(column))
    }

    pub fn foreign_key_name(&self, column: &str) -> String {
        B::quote_identifier(&format!("{}_{column}_fkey", self.table.name))
    }

    /// `"name" TYPE NULL` or `"name" TYPE NOT NULL DEFAULT value`.
    pub fn column_definition(&self, column: &ColumnDef, default: Option<&str>) -> String {
        let null = if column.nullable { "NULL" } else { "NOT NULL" };
        let mut definition = format!(
            "{} {} {null}",
            B::quote_identifier(column.name),
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
            B::quote_identifier(column),
            B::quote_identifier(key.table),
            B::quote_identifier(key.column),
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
        if let (Dialect::Sqlite, Some(key)) = (B::DIALECT, &column.references) {
            statement.push_str(&format!(
                " CONSTRAINT {} REFERENCES {} ({}) ON DELETE {}",
                self.foreign_key_name(column.name),
                B::quote_identifier(key.table),
                B::quote_identifier(key.column),
                key.on_delete.sql()
            ));
        }
        statement
    }

    pub fn drop_column(&self, column: &str) -> String {
        let if_exists = if B::DIALECT == Dialect::Postgres {
            "IF EXISTS "
        } else {
            ""
        };
        format!(
            "ALTER TABLE {} DROP COLUMN {if_exists}{}",
            self.name,
            B::quote_identifier(column)
        )
    }

    pub fn create_index(&self, column: &str) -> String {
        // MySQL has no `CREATE INDEX IF NOT EXISTS`.
        let if_not_exists = if B::DIALECT == Dialect::Mysql {
            ""
        } else {
            "IF NOT EXISTS "
        };
        format!(
            "CREATE INDEX {if_not_exists}{} ON {} ({})",
            self.index_name(column),
            self.name,
            B::quote_identifier(column)
        )
    }

    pub fn drop_index(&self, column: &str) -> String {
        match B::DIALECT {
            Dialect::Mysql => format!("DROP INDEX {} ON {}", self.index_name(column), self.name),
            Dialect::Sqlite | Dialect::Postgres => {
                format!("DROP INDEX IF EXISTS {}", self.index_name(column))
            }
        }
    }

    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`, or `None` on SQLite,
    /// which only takes a foreign key with a new column.
    pub fn add_foreign_key(&self, column: &str, key: &ForeignKey) -> Option<String> {
        (B::DIALECT != Dialect::Sqlite).then(|| {
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
        let verb = match B::DIALECT {
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
        let quoted = B::quote_identifier(column);
        let null = |nullable| if nullable { "NULL" } else { "NOT NULL" };
        match B::DIALECT {
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

/// The DDL name of a Diesel SQL type on a backend.
///
/// Implemented for the SQL types the derive picks for the supported field
/// types. A field with `#[session(sql_type = ...)]` needs its SQL type to
/// implement this for the struct's backend.
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use diesel::sql_types::BigInt;
/// use session_runtime::backend::Sqlite;
/// use session_runtime::ColumnType;
///
/// assert_eq!(<BigInt as ColumnType<Sqlite>>::SQL, "BIGINT");
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no column type on the `{B}` backend",
    label = "no DDL for this SQL type",
    note = "implement `session_runtime::ColumnType<{B}>` for `{Self}` to name its column type"
)]
pub trait ColumnType<B: Backend> {
    /// The column type in `CREATE TABLE`.
    const SQL: &'static str;
    /// The column type when the column is indexed or a foreign key, for
    /// backends that cannot index their unbounded types.
    const INDEXED_SQL: &'static str = Self::SQL;
}

/// Declares [`ColumnType`] for a backend: `SqlType => "DDL"` or
/// `SqlType => "DDL", indexed "DDL"`.
macro_rules! column_types {
    ($backend:ty { $($sql_type:ty => $ddl:literal $(, indexed $indexed:literal)?;)* }) => {
        $(
            impl $crate::ddl::ColumnType<$backend> for $sql_type {
                const SQL: &'static str = $ddl;
                $(const INDEXED_SQL: &'static str = $indexed;)?
            }
        )*
    };
}
pub(crate) use column_types;
