//! The comparison of a live table with the one a struct declares, which
//! fills a [`SchemaDiff`]: a pure function of the dialect, the declared
//! table and the live one read from the catalog.

use serde_json::Value;

use crate::schema::ddl::{ColumnChange, Migration, TableDdl};
use crate::schema::dialect::Dialect;
use crate::schema::diff::{SchemaChange, SchemaConflict, SchemaDiff};
use crate::schema::live_table::{LiveColumn, LiveTable};
use crate::schema::table_def::{ColumnDef, DataType, Declared};

// The store's own columns: `id`, `data`, `expiry_date` and the two
// timestamps.
mod store_columns;

impl SchemaDiff {
    /// Compares the live table (`None`: it does not exist) with the
    /// declared one.
    pub(crate) fn between(declared: &Declared, live: Option<&LiveTable>) -> SchemaDiff {
        let mut diff = SchemaDiff {
            table: declared.table.name,
            changes: Vec::new(),
            conflicts: Vec::new(),
            kept_columns: Vec::new(),
            missing_references: Vec::new(),
            up: Vec::new(),
            down: Vec::new(),
            applied: false,
        };
        match live {
            None => {
                let migration = Migration::for_table(declared.dialect, &declared.table);
                diff.changes.push(SchemaChange::CreateTable);
                diff.up = migration.up_statements().to_vec();
                diff.down = vec![migration.down().trim_end().trim_end_matches(';').to_owned()];
            }
            Some(live) => Comparison {
                declared,
                ddl: TableDdl::new(declared.dialect, &declared.table),
                live,
                diff: &mut diff,
            }
            .run(),
        }
        diff
    }
}

/// One comparison of a live table with the declared one, filling `diff`.
struct Comparison<'a> {
    declared: &'a Declared,
    ddl: TableDdl,
    live: &'a LiveTable,
    diff: &'a mut SchemaDiff,
}

impl Comparison<'_> {
    fn run(mut self) {
        self.fixed_columns();
        let created_at = self.created_at();
        let authenticated_at = self.authenticated_at();
        let mut new_columns = Vec::new();
        for column in self.declared.table.columns {
            match self.live.column(column.name) {
                None => new_columns.push(column),
                Some(live) => self.existing_column(column, live),
            }
        }
        // The down script undoes in reverse; the columns go last, after
        // their indexes and foreign keys.
        let mut down_columns = Vec::new();
        for column in new_columns {
            if let Some(down) = self.new_column(column) {
                down_columns.push(down);
            }
        }
        self.indexes();
        self.removed_columns();
        self.persistence();
        self.data_compression();
        self.diff.down.reverse();
        down_columns.reverse();
        self.diff.down.extend(down_columns);
        self.diff.down.extend(authenticated_at);
        self.diff.down.extend(created_at);
    }

    fn conflict(&mut self, column: &str, found: String, expected: String, fix: String) {
        self.diff.conflicts.push(SchemaConflict {
            column: column.to_owned(),
            found,
            expected,
            fix,
        });
    }

    /// Whether the live `data` column is of the other side of encryption
    /// than the struct: sealed bytes where the struct stores JSON, or the
    /// reverse.
    fn encryption_switch(&self, live: &LiveColumn) -> bool {
        let dialect = self.declared.dialect;
        let sealed = dialect.canonical_type(dialect.sealed_data_sql());
        let live_sealed = dialect.canonical_type(&live.sql_type) == sealed;
        live_sealed != (self.declared.table.data == DataType::Encrypted)
    }

    /// What to do when a struct starts or stops encrypting `data` on a
    /// table that has rows: SQL cannot convert them, as the keys are not in
    /// the database.
    fn encryption_fix(&self) -> String {
        format!(
            "`data` cannot be encrypted or decrypted in place: the keys are not in the database, \
             so no SQL converts the stored sessions. Start a new table (name it in \
             #[session(table = ...)]), or drop this one and run migrate() again: DROP TABLE {} \
             (either way every user logs in again)",
            self.ddl.name
        )
    }

    fn existing_column(&mut self, column: &ColumnDef, live: &LiveColumn) {
        let change = change_to(
            self.declared.dialect,
            column.sql_type,
            column.nullable,
            live,
        );
        if !change.is_none() {
            let fix = self.retype_fix(column.name, change);
            self.conflict(column.name, describe(live), declared(column), fix);
            return;
        }
        let Some(key) = &column.references else {
            return;
        };
        let expected = format!(
            "a foreign key to `{}`.`{}` ON DELETE {}",
            key.table,
            key.column,
            key.on_delete.sql()
        );
        match self.live.foreign_key(column.name) {
            Some(live_key)
                if live_key.referenced_table == key.table
                    && live_key.referenced_column == key.column
                    && live_key.on_delete.eq_ignore_ascii_case(key.on_delete.sql()) => {}
            Some(live_key) => {
                let found = format!(
                    "a foreign key to `{}`.`{}` ON DELETE {}",
                    live_key.referenced_table, live_key.referenced_column, live_key.on_delete
                );
                let fix = match (
                    self.ddl.drop_foreign_key(column.name),
                    self.ddl.add_foreign_key(column.name, key),
                ) {
                    (Some(drop), Some(add)) => {
                        format!("{drop}; {add} (if the key has another name, drop it by that name)")
                    }
                    _ => sqlite_rebuild(column.name),
                };
                self.conflict(column.name, found, expected, fix);
            }
            None => match self.ddl.add_foreign_key(column.name, key) {
                Some(add) => self.foreign_key_added(column.name, add),
                None => {
                    let fix = format!(
                        "{}; or drop the column, losing its values, and run migrate() again, \
                         which adds it with its foreign key: {}",
                        sqlite_rebuild(column.name),
                        self.ddl.drop_column(column.name)
                    );
                    self.conflict(column.name, "no foreign key".to_owned(), expected, fix);
                }
            },
        }
    }

    /// Adds a field's column; returns the statement that drops it again.
    fn new_column(&mut self, column: &'static ColumnDef) -> Option<String> {
        let default = if column.nullable {
            None
        } else if column.references.is_some() {
            let fix = format!(
                "make the field an `Option`, so that rows already stored can hold NULL; or \
                 add the column by hand with a value every stored row can reference: {}",
                self.ddl.add_column(column, Some("..."))
            );
            self.conflict(
                column.name,
                "no such column".to_owned(),
                declared(column),
                fix,
            );
            return None;
        } else {
            match default_literal(self.declared, column) {
                Ok(literal) => Some(literal),
                Err(why) => {
                    let fix = format!(
                        "make the field an `Option`, or add the column by hand with a default \
                         for the rows already stored: {}",
                        self.ddl.add_column(column, Some("..."))
                    );
                    self.conflict(
                        column.name,
                        "no such column".to_owned(),
                        format!("{} ({why})", declared(column)),
                        fix,
                    );
                    return None;
                }
            }
        };
        self.diff.changes.push(SchemaChange::AddColumn {
            column: column.name,
        });
        self.diff
            .up
            .push(self.ddl.add_column(column, default.as_deref()));
        if let Some(key) = &column.references {
            if let Some(add) = self.ddl.add_foreign_key(column.name, key) {
                self.foreign_key_added(column.name, add);
            }
        }
        if self.declared.dialect == Dialect::Sqlite && column.references.is_some() {
            // SQLite refuses to drop a column that has a foreign key.
            return Some(format!("-- {}", sqlite_rebuild(column.name)));
        }
        Some(self.ddl.drop_column(column.name))
    }

    /// Records adding `column`'s foreign key with the statement `add`.
    fn foreign_key_added(&mut self, column: &'static str, add: String) {
        self.diff
            .changes
            .push(SchemaChange::AddForeignKey { column });
        self.diff.up.push(add);
        self.diff.down.extend(self.ddl.drop_foreign_key(column));
    }

    fn indexes(&mut self) {
        let missing: Vec<&'static str> = self
            .ddl
            .indexed_columns()
            .filter(|column| !self.live.has_index(&self.ddl.raw_index_name(column)))
            .collect();
        for column in missing {
            self.diff.changes.push(SchemaChange::CreateIndex { column });
            self.diff.up.push(self.ddl.create_index(column));
            self.diff.down.push(self.ddl.drop_index(column));
        }
    }

    /// Makes the table unlogged, or logged again, as the struct says.
    fn persistence(&mut self) {
        let unlogged = self.ddl.unlogged();
        if self.live.unlogged == unlogged {
            return;
        }
        self.diff
            .changes
            .push(SchemaChange::SetUnlogged { unlogged });
        self.diff.up.push(self.ddl.set_unlogged(unlogged));
        self.diff.down.push(self.ddl.set_unlogged(!unlogged));
    }

    /// Gives `data` the struct's compression method.
    fn data_compression(&mut self) {
        let (Some(wanted), Some(live)) = (
            self.ddl.data_compression(),
            self.live.data_compression.as_deref(),
        ) else {
            return;
        };
        let method = wanted.sql_name();
        if live == method {
            return;
        }
        self.diff
            .changes
            .push(SchemaChange::SetDataCompression { method });
        self.diff.up.push(self.ddl.set_data_compression(method));
        self.diff.down.push(self.ddl.set_data_compression(live));
    }

    /// Columns of removed fields stay, unless inserts would fail on them.
    fn removed_columns(&mut self) {
        let declared = |name: &str| {
            [
                "id",
                "data",
                "expiry_date",
                "created_at",
                "authenticated_at",
            ]
            .contains(&name)
                || self
                    .declared
                    .table
                    .columns
                    .iter()
                    .any(|column| column.name == name)
        };
        let removed: Vec<&LiveColumn> = self
            .live
            .columns
            .iter()
            .filter(|live| !declared(&live.name))
            .collect();
        for live in removed {
            if live.nullable() || live.has_default() {
                self.diff.kept_columns.push(live.name.clone());
                continue;
            }
            let fix = match self.ddl.alter_column(
                &live.name,
                change_to(self.declared.dialect, &live.sql_type, true, live),
            ) {
                Some(alter) => format!(
                    "{alter} (keeps its values), or {} (drops them)",
                    self.ddl.drop_column(&live.name)
                ),
                None => self.ddl.drop_column(&live.name),
            };
            self.conflict(
                &live.name,
                format!(
                    "{}, which no field fills, so every insert would fail",
                    describe(live)
                ),
                "no such column, or a nullable one".to_owned(),
                fix,
            );
        }
    }

    /// The statement that gives a column another type or nullability.
    fn retype_fix(&self, column: &str, change: ColumnChange<'_>) -> String {
        match self.ddl.alter_column(column, change) {
            Some(alter) => format!(
                "{alter} (if some values do not convert, the statement fails and you \
                 decide what to do with them)"
            ),
            None => format!(
                "{}; or drop the column, losing its values, and run migrate() again, \
                 which adds it as declared: {}",
                sqlite_rebuild(column),
                self.ddl.drop_column(column)
            ),
        }
    }
}

fn sqlite_rebuild(column: &str) -> String {
    format!(
        "SQLite cannot change the column `{column}` in place: rebuild the table as \
         https://www.sqlite.org/lang_altertable.html#otheralter describes"
    )
}

/// What `live` must become to be `sql_type`, nullable or not.
fn change_to<'a>(
    dialect: Dialect,
    sql_type: &'a str,
    nullable: bool,
    live: &LiveColumn,
) -> ColumnChange<'a> {
    ColumnChange {
        sql_type,
        nullable,
        retype: dialect.canonical_type(sql_type) != dialect.canonical_type(&live.sql_type),
        renull: live.nullable() != nullable,
    }
}

fn describe(live: &LiveColumn) -> String {
    let null = if live.nullable() { "NULL" } else { "NOT NULL" };
    format!("{} {null}", live.sql_type)
}

fn declared(column: &ColumnDef) -> String {
    let null = if column.nullable { "NULL" } else { "NOT NULL" };
    format!("{} {null}", column.sql_type)
}

/// The SQL literal of a required field's default, which the rows already
/// stored get in the new column: the value the struct takes for a session
/// without the field's key.
fn default_literal(declared: &Declared, column: &ColumnDef) -> Result<String, String> {
    let dialect = declared.dialect;
    match column.path.get(declared.defaults.as_ref()?) {
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(Value::Bool(true)) => Ok("TRUE".to_owned()),
        Some(Value::Bool(false)) => Ok("FALSE".to_owned()),
        Some(Value::String(text)) if !dialect.canonical_type(column.sql_type).contains("json") => {
            Ok(dialect.quote_string(text))
        }
        Some(value) => Err(format!(
            "its default, {value}, has no SQL literal that migrate() writes"
        )),
        None => Err("it has no default value".to_owned()),
    }
}
