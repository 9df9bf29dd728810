//! The `with_*` methods of the options structs, which are
//! `#[non_exhaustive]` so that a new setting is not a breaking change:
//! outside this crate they are built from `default()` and these methods.

/// `with_name(value)` for each `with_name => field: Type`: sets the field
/// and returns the options, to chain from `default()`.
macro_rules! setters {
    ($($setter:ident => $field:ident: $type:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
            #[must_use]
            pub fn $setter(mut self, $field: $type) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}
pub(crate) use setters;
