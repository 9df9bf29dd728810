//! How a live session table differs from what its struct declares: the
//! changes `migrate()` makes by itself, and the drift it refuses to touch.

use std::fmt;

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
    pub(super) table: &'static str,
    pub(super) changes: Vec<SchemaChange>,
    pub(super) conflicts: Vec<SchemaConflict>,
    pub(super) kept_columns: Vec<String>,
    pub(super) missing_references: Vec<&'static str>,
    pub(super) up: Vec<String>,
    pub(super) down: Vec<String>,
    /// Whether `migrate()` applied it, so that it tells of what was done.
    pub(super) applied: bool,
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
    /// `NOT NULL` one starts out with the field's default. Also the
    /// store's own `created_at`, on a table made before it existed: every
    /// stored row gets the time of the migration.
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
#[non_exhaustive]
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
        if self.applied {
            write!(f, "`{}` was brought to its struct:", self.table)?;
            for statement in &self.up {
                write!(f, "\n- applied: {statement}")?;
            }
            return Ok(());
        }
        write!(f, "`{}` differs from its struct:", self.table)?;
        for table in &self.missing_references {
            write!(
                f,
                "\n- a foreign key references `{table}`, which does not exist"
            )?;
        }
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
    /// The diff after `migrate()` applied it.
    pub(crate) fn applied(mut self) -> Self {
        self.applied = true;
        self
    }

    /// Whether the live table already is what the struct declares.
    pub fn is_current(&self) -> bool {
        self.changes.is_empty() && self.conflicts.is_empty() && self.missing_references.is_empty()
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

    /// Records the tables the struct's foreign keys reference that do not
    /// exist: `migrate()` and `check_schema()` then fail, since every write
    /// of a session would fail on its foreign key.
    pub(crate) fn set_missing_references(&mut self, missing: Vec<&'static str>) {
        self.missing_references = missing;
    }

    /// The tables the foreign keys need and the database lacks, in one
    /// message naming them; `None` when all exist.
    pub(crate) fn missing_references_report(&self) -> Option<String> {
        if self.missing_references.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .missing_references
            .iter()
            .map(|name| format!("`{name}`"))
            .collect();
        Some(format!(
            "the table `{}` has foreign keys to {}, which do not exist in this database; \
             create them (with your own migrations) before migrate(), or fix \
             `references = ...` in #[session(...)]",
            self.table,
            names.join(", ")
        ))
    }

    /// Every conflict in one message, naming the table; `None` without any.
    pub(crate) fn conflict_report(&self) -> Option<String> {
        let missing = self.missing_references_report();
        if self.conflicts.is_empty() {
            return missing;
        }
        let conflicts: Vec<String> = self.conflicts.iter().map(|c| format!("\n- {c}")).collect();
        let report = format!(
            "the table `{}` differs from its struct in ways migrate() does not change by itself, \
             so it changed nothing:{}",
            self.table,
            conflicts.concat()
        );
        Some(match missing {
            Some(missing) => format!("{missing}; and {report}"),
            None => report,
        })
    }
}

fn script(statements: &[String]) -> String {
    statements
        .iter()
        .map(|statement| format!("{statement};\n"))
        .collect()
}
