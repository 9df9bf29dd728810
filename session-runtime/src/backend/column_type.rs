//! The column type each backend gives a Diesel SQL type in its DDL.

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
pub trait ColumnType<B: super::Backend> {
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
            impl $crate::backend::ColumnType<$backend> for $sql_type {
                const SQL: &'static str = $ddl;
                $(const INDEXED_SQL: &'static str = $indexed;)?
            }
        )*
    };
}
pub(crate) use column_types;
