//! How a live session table differs from what its struct declares: the
//! changes `migrate()` makes by itself, and the drift it refuses to touch.

use std::fmt;

use serde_json::Value;

use crate::backend::{Backend, Dialect};
use crate::ddl::{ColumnChange, Migration, TableDdl};
use crate::key_path::SessionData;
use crate::live_table::{LiveColumn, LiveTable};
use crate::session_table::SessionTable;
use crate::table_def::ColumnDef;

/// How a live session table differs from its struct.
///
/// [`DieselStore::check_schema`](crate::DieselStore::check_schema) reads it
/// without changing anything; [`DieselStore::migrate`](crate::DieselStore::migrate)
/// applies its [`changes`](SchemaDiff::changes) when it has no
/// [`conflicts`](SchemaDiff::conflicts), and fails naming every conflict when
/// it has some. [`up`](SchemaDiff::up) and [`down`](SchemaDiff::down) are the
/// changes as SQL, for a diesel migrations folder.
///
/// ```
/// use session_runtime::SessionStore;
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     pub theme: Option<String>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-diff-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// # let _ = std::fs::remove_file(&path);
/// let store = AppSessionStore::connect(path.to_str().unwrap())?;
/// let diff = store.check_schema().await?;
/// assert!(diff.up().starts_with("CREATE TABLE IF NOT EXISTS \"http_sessions\""));
/// store.migrate().await?;
/// assert!(store.check_schema().await?.is_current());
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDiff {
    table: &'static str,
    changes: Vec<SchemaChange>,
    conflicts: Vec<SchemaConflict>,
    kept_columns: Vec<String>,
    up: Vec<String>,
    down: Vec<String>,
}

/// A change that brings a live table closer to its struct without risk to
/// the rows in it; [`DieselStore::migrate`](crate::DieselStore::migrate)
/// makes these by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaChange {
    /// The table does not exist yet.
    CreateTable,
    /// A field has no column yet. A nullable column starts out NULL; a
    /// `NOT NULL` one starts out with the field's default.
    AddColumn {
        /// The column's name.
        column: &'static str,
    },
    /// An index the struct declares is missing.
    CreateIndex {
        /// The indexed column.
        column: &'static str,
    },
    /// A `references` field's column exists without its foreign key.
    AddForeignKey {
        /// The referencing column.
        column: &'static str,
    },
    /// `#[session(unlogged)]` was added to or removed from the struct, on
    /// PostgreSQL. `ALTER TABLE ... SET UNLOGGED` (or `SET LOGGED`) rewrites
    /// the table under an exclusive lock and keeps every row; setting it
    /// logged again writes the whole table to the write-ahead log.
    SetUnlogged {
        /// Whether the table becomes unlogged.
        unlogged: bool,
    },
    /// The `data` column of a PostgreSQL table has another compression
    /// method than the struct's: a table made before `compression`
    /// existed, or `#[session(compression = ...)]` changed.
    /// `ALTER COLUMN ... SET COMPRESSION` changes only the catalog; each
    /// stored value keeps its method until the session is next saved.
    SetDataCompression {
        /// The method values are written with from now on.
        method: &'static str,
    },
}

/// Drift that [`DieselStore::migrate`](crate::DieselStore::migrate) will
/// not fix by itself, because the fix could lose or refuse stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaConflict {
    /// The column concerned.
    pub column: String,
    /// What the database has.
    pub found: String,
    /// What the struct declares.
    pub expected: String,
    /// The SQL, or the step, that would fix it; run it out of band.
    pub fix: String,
}

impl fmt::Display for SchemaConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column `{}`: found {}, expected {}; to fix it: {}",
            self.column, self.found, self.expected, self.fix
        )
    }
}

impl fmt::Display for SchemaDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_current() {
            return write!(f, "`{}` matches its struct", self.table);
        }
        write!(f, "`{}` differs from its struct:", self.table)?;
        for conflict in &self.conflicts {
            write!(f, "\n- {conflict}")?;
        }
        for statement in &self.up {
            write!(f, "\n- to apply: {statement}")?;
        }
        Ok(())
    }
}

impl SchemaDiff {
    /// Whether the live table already is what the struct declares.
    pub fn is_current(&self) -> bool {
        self.changes.is_empty() && self.conflicts.is_empty()
    }

    /// The changes `migrate()` makes by itself.
    pub fn changes(&self) -> &[SchemaChange] {
        &self.changes
    }

    /// The drift `migrate()` refuses; while there is any, it changes nothing.
    pub fn conflicts(&self) -> &[SchemaConflict] {
        &self.conflicts
    }

    /// Columns the struct no longer declares (a field was removed). They
    /// stay, with their data: they are nullable or have a default, so
    /// inserts without them still work. Drop them by hand when you are sure.
    pub fn kept_columns(&self) -> &[String] {
        &self.kept_columns
    }

    /// The statements of [`changes`](SchemaDiff::changes), in order.
    pub fn up_statements(&self) -> &[String] {
        &self.up
    }

    /// The changes as one script, for an `up.sql`.
    pub fn up(&self) -> String {
        script(&self.up)
    }

    /// What undoes the changes, as one script, for a `down.sql`. Dropping a
    /// column drops its values.
    pub fn down(&self) -> String {
        script(&self.down)
    }

    /// Every conflict in one message, naming the table; `None` without any.
    pub(crate) fn conflict_report(&self) -> Option<String> {
        if self.conflicts.is_empty() {
            return None;
        }
        let conflicts: Vec<String> = self.conflicts.iter().map(|c| format!("\n- {c}")).collect();
        Some(format!(
            "the table `{}` differs from its struct in ways migrate() does not change by itself, \
             so it changed nothing:{}",
            self.table,
            conflicts.concat()
        ))
    }

    /// Compares the live table (`None`: it does not exist) with `S`.
    pub(crate) fn between<S: SessionTable>(live: Option<&LiveTable>) -> SchemaDiff {
        let mut diff = SchemaDiff {
            table: S::TABLE.name,
            changes: Vec::new(),
            conflicts: Vec::new(),
            kept_columns: Vec::new(),
            up: Vec::new(),
            down: Vec::new(),
        };
        match live {
            None => {
                let migration = Migration::for_table::<S::Backend>(&S::TABLE);
                diff.changes.push(SchemaChange::CreateTable);
                diff.up = migration.up_statements().to_vec();
                diff.down = vec![migration.down().trim_end().trim_end_matches(';').to_owned()];
            }
            Some(live) => Comparison::<S> {
                ddl: TableDdl::new(&S::TABLE),
                live,
                diff: &mut diff,
            }
            .run(),
        }
        diff
    }
}

fn script(statements: &[String]) -> String {
    statements
        .iter()
        .map(|statement| format!("{statement};\n"))
        .collect()
}

/// One comparison of a live table with the struct `S`, filling `diff`.
struct Comparison<'a, S: SessionTable> {
    ddl: TableDdl<S::Backend>,
    live: &'a LiveTable,
    diff: &'a mut SchemaDiff,
}

impl<S: SessionTable> Comparison<'_, S> {
    fn run(mut self) {
        self.fixed_columns();
        let mut new_columns = Vec::new();
        for column in S::TABLE.columns {
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
    }

    fn conflict(&mut self, column: &str, found: String, expected: String, fix: String) {
        self.diff.conflicts.push(SchemaConflict {
            column: column.to_owned(),
            found,
            expected,
            fix,
        });
    }

    /// `id`, `data` and `expiry_date` must be what the store binds to them.
    fn fixed_columns(&mut self) {
        let fixed = [
            ("id", S::Backend::ID_SQL),
            ("data", self.ddl.data_sql()),
            ("expiry_date", S::Backend::EXPIRY_SQL),
        ];
        for (name, sql_type) in fixed {
            let expected = format!("{sql_type} NOT NULL");
            let start_over = format!(
                "`{}` was not made by session-runtime for {}: name another table in \
                 #[session(table = ...)], or drop this one to start over: DROP TABLE {}",
                self.diff.table,
                S::Backend::NAME,
                self.ddl.name
            );
            match self.live.column(name) {
                None => self.conflict(name, "no such column".to_owned(), expected, start_over),
                Some(live) => {
                    let change = change_to::<S::Backend>(sql_type, false, live);
                    if change.is_none() {
                        continue;
                    }
                    let fix = match self.ddl.alter_column(name, change) {
                        Some(alter) => format!("{start_over}; or convert the column: {alter}"),
                        None => start_over,
                    };
                    self.conflict(name, describe(live), expected, fix);
                }
            }
        }
    }

    fn existing_column(&mut self, column: &ColumnDef, live: &LiveColumn) {
        let change = change_to::<S::Backend>(column.sql_type, column.nullable, live);
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
            match default_literal::<S>(column) {
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
        if S::Backend::DIALECT == Dialect::Sqlite && column.references.is_some() {
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
            ["id", "data", "expiry_date"].contains(&name)
                || S::TABLE.columns.iter().any(|column| column.name == name)
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
                change_to::<S::Backend>(&live.sql_type, true, live),
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
fn change_to<'a, B: Backend>(
    sql_type: &'a str,
    nullable: bool,
    live: &LiveColumn,
) -> ColumnChange<'a> {
    ColumnChange {
        sql_type,
        nullable,
        retype: B::canonical_type(sql_type) != B::canonical_type(&live.sql_type),
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
/// stored get in the new column: the value `S` takes for a session without
/// the field's key.
fn default_literal<S: SessionTable>(column: &ColumnDef) -> Result<String, String> {
    let defaults = S::read_fields(&SessionData::new()).map_err(|error| error.to_string())?;
    let mut written = SessionData::new();
    defaults
        .put_fields(&mut written)
        .map_err(|error| error.to_string())?;
    match column.path.get(&written) {
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(Value::Bool(true)) => Ok("TRUE".to_owned()),
        Some(Value::Bool(false)) => Ok("FALSE".to_owned()),
        Some(Value::String(text))
            if !S::Backend::canonical_type(column.sql_type).contains("json") =>
        {
            Ok(S::Backend::quote_string(text))
        }
        Some(value) => Err(format!(
            "its default, {value}, has no SQL literal that migrate() writes"
        )),
        None => Err("it has no default value".to_owned()),
    }
}
