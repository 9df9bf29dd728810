//! `SessionStore` and `ExpiredDeletion` of each enabled tower-sessions
//! version. The traits of 0.14 and 0.15 are distinct types with the same
//! shape, so one definition serves both.

use crate::backend::Backend;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::DieselStore;

pub(crate) mod sealed {
    use crate::session_data::SessionData;

    /// What the store needs of a [`RecordId`](super::RecordId), out of
    /// reach of other crates so that none can implement it.
    pub trait Sealed {
        /// The id's 128 bits.
        fn raw(&self) -> i128;

        /// The record of this id.
        fn record(
            &self,
            data: SessionData,
            expiry_date: time::OffsetDateTime,
        ) -> <Self as super::RecordId>::Record
        where
            Self: super::RecordId;
    }
}

/// The session id of a tower-sessions version this crate supports:
/// `tower_sessions::session::Id` of 0.15 or of 0.14, whichever features are
/// on. It lets [`DieselStore::load_record`] serve both; it is sealed.
///
/// ```
/// use session_runtime::RecordId;
/// use tower_sessions::session::{Id, Record};
///
/// fn record_of<I: RecordId<Record = Record>>(_id: &I) {}
/// record_of(&Id::default());
/// ```
pub trait RecordId: sealed::Sealed {
    /// The `Record` of the same tower-sessions version.
    type Record;
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Loads a live session: `SessionStore::load` under a name that
    /// `diesel_async::RunQueryDsl`, which has a `load` of its own for every
    /// type, cannot shadow in a module that imports it for the app's own
    /// queries. Like `load`, it remembers what it read, so that a `save`
    /// of the record it returns, changed in place, writes only what
    /// changed; see the [writes](crate::guide::writes) chapter.
    ///
    /// ```
    /// use session_runtime::diesel_async::RunQueryDsl; // for your own queries
    /// use session_runtime::SessionStore;
    /// use tower_sessions::session::Id;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// async fn show(store: &AppSessionStore, id: Id) -> Result<(), session_runtime::Error> {
    ///     // `store.load(&id)` would be `RunQueryDsl::load` here.
    ///     let record = store.load_record(&id).await?;
    ///     // The trait's own, called through its path, works as well.
    ///     let same = tower_sessions::SessionStore::load(store, &id).await;
    ///     Ok(())
    /// }
    /// ```
    pub async fn load_record<I: RecordId>(&self, id: &I) -> Result<Option<I::Record>, Error> {
        let loaded = self.load_tracked(id.raw()).await?;
        Ok(loaded.map(|(data, expiry)| id.record(data, expiry)))
    }
}

macro_rules! impl_tower_sessions {
    ($core:ident, $feature:literal) => {
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        impl From<$crate::Error> for $core::session_store::Error {
            fn from(error: $crate::Error) -> Self {
                use $core::session_store::Error as Store;
                match error {
                    $crate::Error::Encode(message) => Store::Encode(message),
                    $crate::Error::Decode(message) => Store::Decode(message),
                    $crate::Error::Backend(error) => Store::Backend(error.message().to_owned()),
                    other => Store::Backend(other.to_string()),
                }
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        impl $crate::store::tower_sessions_impl::sealed::Sealed for $core::session::Id {
            fn raw(&self) -> i128 {
                self.0
            }

            fn record(
                &self,
                data: $crate::SessionData,
                expiry_date: time::OffsetDateTime,
            ) -> $core::session::Record {
                $core::session::Record {
                    id: *self,
                    data,
                    expiry_date,
                }
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        impl $crate::store::tower_sessions_impl::RecordId for $core::session::Id {
            type Record = $core::session::Record;
        }

        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        impl From<$core::session::Id> for $crate::SessionDigest {
            fn from(id: $core::session::Id) -> Self {
                $crate::SessionDigest::of_id(id.0)
            }
        }

        impl_session_store!($core, $feature, [S: $crate::SessionTable<B>, B: $crate::backend::Backend], $crate::DieselStore<S, B>);
    };
}

/// tower-sessions' `SessionStore` and `ExpiredDeletion` of one store type,
/// on the methods [`DieselStore`](crate::DieselStore) and
/// [`AnyStore`](crate::AnyStore) both have.
macro_rules! impl_session_store {
    ($core:ident, $feature:literal, [$($generics:tt)*], $store:ty) => {
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        #[async_trait::async_trait]
        impl<$($generics)*> $core::SessionStore for $store {
            async fn create(
                &self,
                record: &mut $core::session::Record,
            ) -> $core::session_store::Result<()> {
                let mut id = record.id.0;
                let created = self
                    .create_session(&mut id, &record.data, record.expiry_date)
                    .await;
                record.id = $core::session::Id(id);
                // The expiry stored, capped at the absolute timeout.
                record.expiry_date = created?;
                Ok(())
            }

            async fn save(
                &self,
                record: &$core::session::Record,
            ) -> $core::session_store::Result<()> {
                Ok(self
                    .save_session(record.id.0, &record.data, record.expiry_date)
                    .await?)
            }

            async fn load(
                &self,
                id: &$core::session::Id,
            ) -> $core::session_store::Result<Option<$core::session::Record>> {
                let loaded = self.load_tracked(id.0).await?;
                Ok(loaded.map(|(data, expiry_date)| $core::session::Record {
                    id: *id,
                    data,
                    expiry_date,
                }))
            }

            async fn delete(&self, id: &$core::session::Id) -> $core::session_store::Result<()> {
                Ok(self.delete_session(id.0).await?)
            }
        }

        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        #[async_trait::async_trait]
        impl<$($generics)*> $core::ExpiredDeletion for $store {
            async fn delete_expired(&self) -> $core::session_store::Result<()> {
                self.delete_expired_sessions().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_session_store;

#[cfg(feature = "tower-sessions-015")]
impl_tower_sessions!(tower_sessions_core, "tower-sessions-015");
#[cfg(feature = "tower-sessions-014")]
impl_tower_sessions!(tower_sessions_core_014, "tower-sessions-014");
