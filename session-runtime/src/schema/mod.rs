//! The session table as a schema, with no database: its definition from
//! the struct, the SQL dialect of each backend, the DDL that creates it,
//! the live table as the catalog reports it, and the difference between
//! the two. `migrate()`, which reads the catalog and closes the difference
//! where that is safe, runs statements, so it is the store's
//! (`store::migrate`).

pub(crate) mod compare;
pub(crate) mod ddl;
pub(crate) mod dialect;
pub(crate) mod diff;
pub(crate) mod live_table;
pub(crate) mod table_def;

#[cfg(test)]
mod tests;
