//! Static assertions whose failure is a compile error at the user's own
//! tokens, worded by `#[diagnostic::on_unimplemented]`.

/// Asserts that a foreign key column and the key it references have the
/// same SQL type.
#[diagnostic::on_unimplemented(
    message = "the foreign key has SQL type `{Self}`, but the key it references is `{Referenced}`",
    label = "the field's type does not match the referenced key",
    note = "give the field the Rust type of the referenced key, e.g. `Option<i64>` for a `BigInt` key"
)]
pub trait SameSqlType<Referenced> {}
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
pub trait ColumnValue<ST, DB, Bind> {}
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
