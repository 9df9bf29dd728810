//! The `with_*` builders of [`AnyStore`], each the [`DieselStore`]'s of
//! the same name on the store of the URL's backend.

use std::time::Duration;

use super::{map, AnyIndexedColumn, AnyStore, AnyTable};
use crate::encryption::EncryptionKeys;
use crate::store::encryption::EncryptedTable;
#[cfg(doc)]
use crate::store::DieselStore;
use crate::touch_after::TouchAfter;
use crate::undecodable::Undecodable;

/// `fn builder(self, arg: Type) -> Self` for each `builder(arg: Type)`,
/// forwarded to the [`DieselStore`] inside.
macro_rules! forward_builders {
    ($($builder:ident($arg:ident: $type:ty)),* $(,)?) => {
        $(
            #[doc = concat!("See [`DieselStore::", stringify!($builder), "`].")]
            #[must_use]
            pub fn $builder(self, $arg: $type) -> Self {
                map!(self, |store| store.$builder($arg))
            }
        )*
    };
}

impl<S: AnyTable> AnyStore<S> {
    forward_builders! {
        with_statement_timeout(timeout: Duration),
        with_retry_budget(budget: Duration),
        with_slow_statement_threshold(threshold: Duration),
        with_touch_after(touch_after: TouchAfter),
        with_max_lifetime(max_lifetime: Option<Duration>),
        with_undecodable(undecodable: Undecodable),
        with_max_session_bytes(bytes: usize),
        with_load_memo_bytes(bytes: usize),
    }

    /// See [`DieselStore::with_max_sessions_per`].
    #[must_use]
    pub fn with_max_sessions_per<C: AnyIndexedColumn<S>>(self, column: C, limit: u32) -> Self {
        map!(self, |store| store.with_max_sessions_per(column, limit))
    }

    /// See [`DieselStore::with_encryption_keys`].
    #[must_use]
    pub fn with_encryption_keys(self, keys: EncryptionKeys) -> Self
    where
        S: EncryptedTable,
    {
        map!(self, |store| store.with_encryption_keys(keys))
    }
}
