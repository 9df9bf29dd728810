//! `SessionStore` and `ExpiredDeletion` of each enabled tower-sessions
//! version. The traits of 0.14 and 0.15 are distinct types with the same
//! shape, so one definition serves both.

macro_rules! impl_tower_sessions {
    ($core:ident) => {
        impl From<$crate::Error> for $core::session_store::Error {
            fn from(error: $crate::Error) -> Self {
                use $core::session_store::Error as Store;
                match error {
                    $crate::Error::Encode(message) => Store::Encode(message),
                    $crate::Error::Decode(message) => Store::Decode(message),
                    $crate::Error::Backend(message) => Store::Backend(message),
                    schema @ $crate::Error::Schema(_) => Store::Backend(schema.to_string()),
                }
            }
        }

        impl From<$core::session::Id> for $crate::SessionDigest {
            fn from(id: $core::session::Id) -> Self {
                $crate::SessionDigest::of_id(id.0)
            }
        }

        #[async_trait::async_trait]
        impl<S: $crate::SessionTable> $core::SessionStore for $crate::DieselStore<S> {
            async fn create(
                &self,
                record: &mut $core::session::Record,
            ) -> $core::session_store::Result<()> {
                let mut id = record.id.0;
                let created = self
                    .create_session(&mut id, &record.data, record.expiry_date)
                    .await;
                record.id = $core::session::Id(id);
                Ok(created?)
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
                let loaded = self.load_session(id.0).await?;
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

        #[async_trait::async_trait]
        impl<S: $crate::SessionTable> $core::ExpiredDeletion for $crate::DieselStore<S> {
            async fn delete_expired(&self) -> $core::session_store::Result<()> {
                self.delete_expired_sessions().await?;
                Ok(())
            }
        }
    };
}

#[cfg(feature = "tower-sessions-015")]
impl_tower_sessions!(tower_sessions_core);
#[cfg(feature = "tower-sessions-014")]
impl_tower_sessions!(tower_sessions_core_014);
