//! A derived session table as data: its name and typed columns, which
//! the derive writes as constants and everything else reads.

use crate::schema::dialect::Dialect;
use crate::session_data::SessionData;

/// A derived session table, as the DDL needs it.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    /// The table's SQL name.
    pub name: &'static str,
    /// One column per field of the struct; the fixed `id`, `data` and
    /// `expiry_date` columns come from the backend.
    pub columns: &'static [ColumnDef],
    /// PostgreSQL's `CREATE UNLOGGED TABLE` (`#[session(unlogged)]`): writes
    /// skip the write-ahead log, and a server crash empties the table.
    /// Always `false` on the other backends, which have no such tables.
    pub unlogged: bool,
    /// The type of the `data` column, as `#[session(data = ...)]` chose it.
    pub data: DataType,
    /// How PostgreSQL compresses large `data` values, as
    /// `#[session(compression = ...)]` chose it. The other backends store
    /// `data` as written.
    pub compression: Compression,
}

/// The SQL type of the `data` column. Whichever it is, the column holds the
/// session map as JSON text, in clear or, with [`DataType::Encrypted`],
/// sealed.
///
/// ```
/// # #[cfg(feature = "mysql")] {
/// use session_runtime::SessionStore;
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = mysql, data = blob)]
/// pub struct AppSession {}
///
/// assert!(AppSessionStore::migration().up().contains("`data` LONGBLOB NOT NULL"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// The backend's own JSON type: `JSONB` on PostgreSQL, `JSON` on
    /// MySQL/MariaDB, `TEXT` on SQLite.
    BackendDefault,
    /// PostgreSQL's `JSON` (`#[session(data = json)]`): the text is checked
    /// and stored as written, with no tree to build on save and none to
    /// print on load.
    Json,
    /// MySQL's `LONGBLOB` (`#[session(data = blob)]`): the server neither
    /// validates the JSON nor checks it as UTF-8 on every write, which
    /// MariaDB's `JSON` (a `LONGTEXT` with a `JSON_VALID` check) does. Its
    /// JSON functions still read the column.
    Blob,
    /// Opaque bytes (`#[session(data = encrypted)]`): `BLOB` on SQLite,
    /// `BYTEA` on PostgreSQL, `LONGBLOB` on MySQL, holding the session
    /// map's JSON sealed with XChaCha20-Poly1305 under the store's
    /// [`EncryptionKeys`](crate::EncryptionKeys). See the
    /// [security](crate::guide::security) chapter.
    Encrypted,
}

/// The method PostgreSQL compresses a `data` value with when it is over
/// about 2 KB (its TOAST compression), set on the column with
/// `COMPRESSION`. Both need PostgreSQL 14 or later.
///
/// ```
/// # #[cfg(feature = "postgres")] {
/// use session_runtime::SessionStore;
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = postgres, compression = pglz)]
/// pub struct AppSession {}
///
/// assert!(AppSessionStore::migration().up().contains("\"data\" JSONB COMPRESSION pglz NOT NULL"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `lz4`, the default: a 64 KB session is written in about half the
    /// time `pglz` takes, and read back as fast, for about a quarter more
    /// bytes on disk.
    Lz4,
    /// `pglz`, PostgreSQL's own default (`#[session(compression = pglz)]`):
    /// the smaller table, and the method of a server built without lz4.
    Pglz,
}

impl Compression {
    /// The method as `COMPRESSION` names it, and as the catalog reports it.
    pub fn sql_name(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
            Compression::Pglz => "pglz",
        }
    }
}

/// One typed column.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// The column's SQL name.
    pub name: &'static str,
    /// Where the column's value lives in the session map.
    pub path: crate::session_data::KeyPath,
    /// The column type, from [`ColumnType`](crate::ColumnType).
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

/// What a live table is compared with: a struct's table in its dialect.
pub(crate) struct Declared {
    pub dialect: Dialect,
    pub table: TableDef,
    /// The session map the struct's defaults write: the values its
    /// required columns start with in rows stored before them. An error
    /// when a default cannot be written.
    pub defaults: Result<SessionData, String>,
}
