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
    fn sql(self) -> &'static str {
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
        let quote = |name: &str| B::quote_identifier(name);
        let name = quote(table.name);
        let mut columns = vec![
            format!("{} {} NOT NULL PRIMARY KEY", quote("id"), B::ID_SQL),
            format!("{} {} NOT NULL", quote("data"), B::DATA_SQL),
            format!("{} {} NOT NULL", quote("expiry_date"), B::EXPIRY_SQL),
        ];
        for column in table.columns {
            let null = if column.nullable { "NULL" } else { "NOT NULL" };
            columns.push(format!("{} {} {null}", quote(column.name), column.sql_type));
        }
        let mut indexes = vec![("expiry_date", "expiry_date")];
        indexes.extend(
            table
                .columns
                .iter()
                .filter(|column| column.indexed || column.references.is_some())
                .map(|column| (column.name, column.name)),
        );
        let index_name = |column: &str| quote(&format!("{}_{column}_idx", table.name));
        let mut after_table = Vec::new();
        for (_, column) in &indexes {
            if B::INLINE_INDEXES {
                columns.push(format!("INDEX {} ({})", index_name(column), quote(column)));
            } else {
                after_table.push(format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {name} ({})",
                    index_name(column),
                    quote(column)
                ));
            }
        }
        for column in table.columns {
            if let Some(key) = column.references {
                columns.push(format!(
                    "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}",
                    quote(&format!("{}_{}_fkey", table.name, column.name)),
                    quote(column.name),
                    quote(key.table),
                    quote(key.column),
                    key.on_delete.sql()
                ));
            }
        }
        let mut up = vec![format!(
            "CREATE TABLE IF NOT EXISTS {name} (\n    {}\n){}",
            columns.join(",\n    "),
            B::TABLE_OPTIONS
        )];
        up.extend(after_table);
        Migration {
            up,
            down: format!("DROP TABLE IF EXISTS {name};\n"),
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
