//! Static assertions whose failure is a compile error at the user's own
//! tokens, worded by `#[diagnostic::on_unimplemented]`.
//!
//! The derive asserts through an associated constant,
//! `const _: () = <T as Trait<..>>::OK;`, and not through a where clause
//! or a generic function: a bound without generic parameters is a trivial
//! bound, to which rustc adds `see issue #48214`, and a generic function
//! adds a `required by a bound` note that points into this file.

use diesel::sql_types;

/// Asserts that a foreign key column of a built-in field type has the SQL
/// type of the key it references. `Self` is the field's SQL type, `Key`
/// the key's, and `Rust` the field type that fits the key, from
/// [`KeyRustType`]: the note names it.
#[diagnostic::on_unimplemented(
    message = "the foreign key has SQL type `{Self}`, but the key it references is `{Key}`",
    label = "the field's type does not match the referenced key",
    note = "the Rust type of a `{Key}` key is `{Rust}`: give the field that type, or an `Option` of it for a nullable column"
)]
pub trait ReferencesKey<Key, Rust> {
    /// Named by the assertion.
    const OK: () = ();
}
impl<T, Rust: BuiltinFieldType> ReferencesKey<T, Rust> for T {}
/// A key of a SQL type that [`KeyRustType`] does not know: that error is
/// the one reported, and this impl keeps [`ReferencesKey`] from adding a
/// second one about a Rust type `_`. It cannot overlap the impl above:
/// `UnknownKey` is no [`BuiltinFieldType`].
impl<T, Key> ReferencesKey<Key, UnknownKey<Key>> for T {}

/// See the impls of [`ReferencesKey`].
pub struct UnknownKey<Key>(core::marker::PhantomData<Key>);

/// The Rust types that [`KeyRustType`] names.
pub trait BuiltinFieldType {}
impl BuiltinFieldType for i16 {}
impl BuiltinFieldType for i32 {}
impl BuiltinFieldType for i64 {}
impl BuiltinFieldType for f32 {}
impl BuiltinFieldType for f64 {}
impl BuiltinFieldType for bool {}
impl BuiltinFieldType for String {}
impl BuiltinFieldType for Vec<u8> {}
impl BuiltinFieldType for serde_json::Value {}
impl BuiltinFieldType for time::OffsetDateTime {}

/// The field type that fits a key of SQL type `Self`, for the note of
/// [`ReferencesKey`]: every SQL type a built-in field type has. A key of
/// another SQL type is reported here, as one no built-in field can
/// reference.
#[diagnostic::on_unimplemented(
    message = "the key this foreign key references has SQL type `{Self}`, which no built-in field type has",
    label = "the field's type does not match the referenced key",
    note = "name the key's SQL type with `#[session(sql_type = ...)]`, and give the field a Rust type that Diesel maps to it (such as `uuid::Uuid` for `diesel::sql_types::Uuid`, with diesel's `uuid` feature)"
)]
pub trait KeyRustType {
    /// The field type.
    type Rust;
}

impl KeyRustType for sql_types::SmallInt {
    type Rust = i16;
}
impl KeyRustType for sql_types::Integer {
    type Rust = i32;
}
impl KeyRustType for sql_types::BigInt {
    type Rust = i64;
}
impl KeyRustType for sql_types::Float {
    type Rust = f32;
}
impl KeyRustType for sql_types::Double {
    type Rust = f64;
}
impl KeyRustType for sql_types::Bool {
    type Rust = bool;
}
impl KeyRustType for sql_types::Text {
    type Rust = String;
}
impl KeyRustType for sql_types::Binary {
    type Rust = Vec<u8>;
}
impl KeyRustType for sql_types::Json {
    type Rust = serde_json::Value;
}
#[cfg(feature = "sqlite")]
impl KeyRustType for sql_types::TimestamptzSqlite {
    type Rust = time::OffsetDateTime;
}
#[cfg(feature = "postgres")]
impl KeyRustType for sql_types::Timestamptz {
    type Rust = time::OffsetDateTime;
}
#[cfg(feature = "mysql")]
impl KeyRustType for sql_types::Datetime {
    type Rust = time::OffsetDateTime;
}

/// Asserts that a foreign key column and the key it references have the
/// same SQL type, for a field with `sql_type = ...`, whose SQL type the
/// runtime may not know.
#[diagnostic::on_unimplemented(
    message = "the foreign key has SQL type `{Self}`, but the key it references is `{Referenced}`",
    label = "the field's type does not match the referenced key",
    note = "give `sql_type` the SQL type of the referenced key, and the field a Rust type that Diesel maps to it"
)]
pub trait SameSqlType<Referenced> {
    /// Named by the assertion.
    const OK: () = ();
}
impl<T> SameSqlType<T> for T {}

/// Asserts that Diesel can write a field's value to its column and read
/// it back, for a field with `sql_type = ...`. `Bind` is
/// [`BindsAs<B>`] when the queries also compare the column with a
/// `&Self` of SQL type `B`, else [`NotBound`].
#[diagnostic::on_unimplemented(
    message = "Diesel cannot store `{Self}` in a column of SQL type `{ST}`",
    label = "Diesel has no `ToSql<{ST}, {DB}>` and `FromSql<{ST}, {DB}>` for this type, or no `AsExpression` for a reference to it",
    note = "derive diesel's `AsExpression` and `FromSqlRow` for `{Self}` with `#[diesel(sql_type = {ST})]` and implement `ToSql<{ST}, DB>` and `FromSql<{ST}, DB>`, or give `sql_type` the SQL type that Diesel maps `{Self}` to"
)]
pub trait ColumnValue<ST, DB, Bind> {
    /// Named by the assertion.
    const OK: () = ();
}
/// See [`ColumnValue`].
pub struct NotBound;
/// See [`ColumnValue`].
pub struct BindsAs<SqlType>(core::marker::PhantomData<SqlType>);
impl<T, ST, DB> ColumnValue<ST, DB, NotBound> for T
where
    DB: diesel::backend::Backend,
    T: diesel::serialize::ToSql<ST, DB> + diesel::deserialize::FromSql<ST, DB>,
{
}
impl<T, ST, DB, B> ColumnValue<ST, DB, BindsAs<B>> for T
where
    DB: diesel::backend::Backend,
    T: diesel::serialize::ToSql<ST, DB> + diesel::deserialize::FromSql<ST, DB>,
    for<'a> &'a T: diesel::expression::AsExpression<B>,
    B: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
}
