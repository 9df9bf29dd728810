//! The SQL dialect of a backend, as a value: what the DDL and the schema
//! diff need to know about a database, so that they are plain functions of
//! it, testable without one. The catalog queries stay with each backend.

/// The SQL a database speaks, as far as a session table's DDL is concerned.
///
/// Every backend names its dialect; the DDL and the schema diff are
/// functions of this value alone.
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

/// How long `migrate()` waits for another server's migration of the same
/// MySQL table; the statement timeout bounds it as well.
const MYSQL_MIGRATION_LOCK_WAIT_SECONDS: u32 = 60;

/// The advisory lock every PostgreSQL `migrate()` takes, which serialises
/// the migrations of every session table: `CREATE TABLE IF NOT EXISTS`
/// races on the catalog when two servers start at once, and two servers
/// adding the same column would both read it as missing.
const POSTGRES_MIGRATION_LOCK: &str = "BEGIN; SELECT pg_advisory_xact_lock(7436932058137104719)";

impl Dialect {
    /// The database's name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
        }
    }

    /// The column type of `id`, which holds a 32-byte digest.
    pub const fn id_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BLOB",
            Dialect::Postgres => "BYTEA",
            Dialect::Mysql => "BINARY(32)",
        }
    }

    /// The column type of `data` unless the struct chooses another.
    pub const fn data_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => "TEXT",
            Dialect::Postgres => "JSONB",
            Dialect::Mysql => "JSON",
        }
    }

    /// The column type of `data` when it is encrypted: the backend's
    /// binary string, large enough for any session.
    pub const fn sealed_data_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BLOB",
            Dialect::Postgres => "BYTEA",
            Dialect::Mysql => "LONGBLOB",
        }
    }

    /// The column type of `expiry_date`.
    pub const fn expiry_sql(self) -> &'static str {
        match self {
            // Unix microseconds: compared as integers, whatever the text.
            Dialect::Sqlite => "BIGINT",
            Dialect::Postgres => "TIMESTAMPTZ",
            Dialect::Mysql => "DATETIME(6)",
        }
    }

    /// The SQL function of the later of two values: `GREATEST` on
    /// PostgreSQL and MySQL, the scalar `MAX` on SQLite.
    pub const fn greatest(self) -> &'static str {
        match self {
            Dialect::Sqlite => "MAX",
            Dialect::Postgres | Dialect::Mysql => "GREATEST",
        }
    }

    /// The SQL function of the earlier of two values: `LEAST` on
    /// PostgreSQL and MySQL, the scalar `MIN` on SQLite.
    pub const fn least(self) -> &'static str {
        match self {
            Dialect::Sqlite => "MIN",
            Dialect::Postgres | Dialect::Mysql => "LEAST",
        }
    }

    /// What goes before and after a timestamp expression of
    /// [`expiry_sql`](Self::expiry_sql)'s type to add `micros`
    /// microseconds to it: the end of a session's absolute timeout,
    /// `created_at` plus the limit. The limit is the store's own setting,
    /// an integer, so it is written into the SQL rather than bound: each
    /// store's statement text stays one and the same.
    pub fn plus_microseconds(self, micros: i64) -> (&'static str, String) {
        match self {
            // Unix microseconds.
            Dialect::Sqlite => ("(", format!(" + {micros})")),
            Dialect::Postgres => ("(", format!(" + INTERVAL '{micros} microseconds')")),
            Dialect::Mysql => ("DATE_ADD(", format!(", INTERVAL {micros} MICROSECOND)")),
        }
    }

    /// What follows the closing parenthesis of `CREATE TABLE`.
    ///
    /// SQLite's is a rowid table, not `WITHOUT ROWID`: a session row (200 B
    /// to many KB) is far above the twentieth of a page below which SQLite
    /// advises clustering on the key, and large rows in a clustered key's
    /// B-tree make every save and load walk overflow pages. The
    /// `schema_choices` benchmark measures both.
    pub const fn table_options(self) -> &'static str {
        match self {
            Dialect::Sqlite | Dialect::Postgres => "",
            Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        }
    }

    /// Whether `expiry_date` gets an index, for `delete_expired`.
    ///
    /// Every save moves a session's expiry, so the index costs every save
    /// an index update. SQLite goes without: one connection saved 61 % more
    /// 200-byte sessions a second without it, and `delete_expired` of
    /// 10 000 rows among a million was no slower, since deleting the rows
    /// costs more than scanning the table (`schema_choices`); tables made
    /// with the index keep it, since it costs saves, not correctness. InnoDB locks
    /// every row a statement reads: without the index, `delete_expired`
    /// would lock the whole table against saves.
    pub const fn expiry_index(self) -> bool {
        !matches!(self, Dialect::Sqlite)
    }

    /// Quotes a table or column name.
    pub fn quote_identifier(self, name: &str) -> String {
        match self {
            Dialect::Sqlite | Dialect::Postgres => quote_with('"', name),
            Dialect::Mysql => quote_with('`', name),
        }
    }

    /// A string literal.
    pub fn quote_string(self, text: &str) -> String {
        match self {
            Dialect::Sqlite | Dialect::Postgres => quote_with('\'', text),
            // Without `NO_BACKSLASH_ESCAPES`, MySQL reads a backslash in a
            // string literal as an escape.
            Dialect::Mysql => quote_with('\'', &text.replace('\\', "\\\\")),
        }
    }

    /// The table's name as the catalog queries take it.
    pub fn catalog_name(self, table: &str) -> String {
        match self {
            // `to_regclass` parses its argument as SQL, where an unquoted
            // name would be folded to lower case.
            Dialect::Postgres => quote_with('"', table),
            Dialect::Sqlite | Dialect::Mysql => table.to_owned(),
        }
    }

    /// A column type in one spelling, so that the type a struct declares
    /// and the one the catalog reports compare equal when they are the same.
    pub fn canonical_type(self, sql_type: &str) -> String {
        let spelling = canonical_spelling(sql_type);
        match self {
            Dialect::Sqlite => spelling,
            Dialect::Postgres => postgres_full_name(spelling),
            Dialect::Mysql => mysql_reported_name(spelling),
        }
    }

    /// What `migrate()` runs around its reading and altering of a table, so
    /// that servers migrating at once take turns.
    pub fn migration_lock(self, table: &str) -> MigrationLock {
        match self {
            // IMMEDIATE takes the write lock up front, so two servers
            // migrating at once wait on the busy timeout instead of failing
            // on an upgrade.
            Dialect::Sqlite => MigrationLock {
                begin: "BEGIN IMMEDIATE".to_owned(),
                commit: "COMMIT".to_owned(),
                rollback: "ROLLBACK".to_owned(),
            },
            Dialect::Postgres => MigrationLock {
                begin: POSTGRES_MIGRATION_LOCK.to_owned(),
                commit: "COMMIT".to_owned(),
                rollback: "ROLLBACK".to_owned(),
            },
            // DDL commits by itself in MySQL, so a transaction would not
            // hold; a named lock, one per database and table, makes servers
            // take turns. It is the connection's: a connection that dies
            // frees it.
            Dialect::Mysql => {
                let name = format!(
                    "LEFT(CONCAT('session-runtime migrate ', DATABASE(), '.', {}), 64)",
                    self.quote_string(table)
                );
                MigrationLock {
                    begin: format!("DO GET_LOCK({name}, {MYSQL_MIGRATION_LOCK_WAIT_SECONDS})"),
                    commit: format!("DO RELEASE_LOCK({name})"),
                    rollback: format!("DO RELEASE_LOCK({name})"),
                }
            }
        }
    }
}

/// The statements `migrate()` runs before its work, and after it on
/// success or on failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLock {
    /// Takes the lock (and, where DDL is transactional, opens the transaction).
    pub begin: String,
    /// Ends a migration that succeeded.
    pub commit: String,
    /// Ends a migration that failed.
    pub rollback: String,
}

/// Quotes an identifier or a literal by doubling the quote character
/// inside it.
fn quote_with(quote: char, text: &str) -> String {
    let doubled: String = [quote, quote].iter().collect();
    format!("{quote}{}{quote}", text.replace(quote, &doubled))
}

/// A type name in lower case with single spaces.
fn canonical_spelling(sql_type: &str) -> String {
    sql_type
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A PostgreSQL type as the catalog's `format_type` spells it: in full.
fn postgres_full_name(spelling: String) -> String {
    let full = match spelling.as_str() {
        "int2" => "smallint",
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" | "double" => "double precision",
        "bool" => "boolean",
        "timestamptz" => "timestamp with time zone",
        "timestamp" => "timestamp without time zone",
        "time" => "time without time zone",
        _ => {
            return match spelling.strip_prefix("varchar") {
                Some(length) => format!("character varying{length}"),
                None => spelling,
            }
        }
    };
    full.to_owned()
}

/// A MySQL type as both MySQL and MariaDB report it: MariaDB and MySQL
/// before 8.0.19 report integer display widths, `bigint(20)`; MariaDB's
/// JSON is a LONGTEXT with a check.
fn mysql_reported_name(spelling: String) -> String {
    let integer = ["bigint", "int", "mediumint", "smallint"]
        .into_iter()
        .find(|name| spelling.starts_with(&format!("{name}(")));
    match (integer, spelling.as_str()) {
        (Some(name), _) => name.to_owned(),
        (None, "integer") => "int".to_owned(),
        (None, "boolean" | "bool") => "tinyint(1)".to_owned(),
        (None, "json") => "longtext".to_owned(),
        _ => spelling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(Dialect::Sqlite.quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Postgres.quote_identifier("users"), "\"users\"");
        assert_eq!(Dialect::Mysql.quote_identifier("a`b"), "`a``b`");
        assert_eq!(Dialect::Postgres.quote_string("it's"), "'it''s'");
        assert_eq!(Dialect::Mysql.quote_string("a\\'b"), "'a\\\\''b'");
    }

    #[test]
    fn declared_and_reported_types_compare_equal() {
        let postgres = Dialect::Postgres;
        assert_eq!(
            postgres.canonical_type("INT8"),
            postgres.canonical_type("bigint")
        );
        assert_eq!(
            postgres.canonical_type("TIMESTAMPTZ"),
            "timestamp with time zone"
        );
        assert_eq!(
            postgres.canonical_type("VARCHAR(255)"),
            "character varying(255)"
        );
        let mysql = Dialect::Mysql;
        assert_eq!(
            mysql.canonical_type("bigint(20)"),
            mysql.canonical_type("BIGINT")
        );
        assert_eq!(mysql.canonical_type("BOOLEAN"), "tinyint(1)");
        assert_eq!(mysql.canonical_type("JSON"), "longtext");
        assert_eq!(
            Dialect::Sqlite.canonical_type("DOUBLE  PRECISION"),
            "double precision"
        );
    }

    #[test]
    fn the_end_of_a_lifetime_adds_microseconds_in_each_dialect() {
        let end = |dialect: Dialect| {
            let (before, after) = dialect.plus_microseconds(3_600_000_000);
            format!("{before}created_at{after}")
        };
        assert_eq!(end(Dialect::Sqlite), "(created_at + 3600000000)");
        assert_eq!(
            end(Dialect::Postgres),
            "(created_at + INTERVAL '3600000000 microseconds')"
        );
        assert_eq!(
            end(Dialect::Mysql),
            "DATE_ADD(created_at, INTERVAL 3600000000 MICROSECOND)"
        );
        assert_eq!(Dialect::Sqlite.least(), "MIN");
        assert_eq!(Dialect::Mysql.greatest(), "GREATEST");
    }

    #[test]
    fn the_mysql_migration_lock_is_named_after_the_table() {
        let lock = Dialect::Mysql.migration_lock("http_sessions");
        assert!(lock.begin.starts_with("DO GET_LOCK(LEFT(CONCAT("));
        assert!(lock.begin.contains("'http_sessions'"));
        assert_eq!(lock.commit, lock.rollback);
        assert_eq!(Dialect::Sqlite.migration_lock("t").begin, "BEGIN IMMEDIATE");
    }
}
