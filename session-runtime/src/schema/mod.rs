//! The session table as a schema: its definition from the struct, the DDL
//! that creates it, the live table read from the catalog, the difference
//! between the two, and `migrate()`, which closes it where that is safe.

pub(crate) mod compare;
pub(crate) mod ddl;
pub(crate) mod diff;
pub(crate) mod live_table;
pub(crate) mod migrate;
pub(crate) mod table_def;

#[cfg(test)]
mod tests;
