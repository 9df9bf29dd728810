//! The derived struct read from and written to a request's session, with
//! no string keys in user code.

use crate::session_data::SessionData;
use crate::{Error, SessionFields};

/// Typed access to a `tower_sessions::Session` through a derived struct.
///
/// Implemented for the `Session` of every enabled tower-sessions version.
/// Reading gathers each field from its key; writing puts each field back
/// and removes the keys of `None` fields, leaving every other key of the
/// session alone.
///
/// ```
/// use session_runtime::{SessionStore, TypedSessionExt};
/// use tower_sessions::Session;
///
/// #[derive(SessionStore, Debug, Clone, PartialEq)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     pub user_id: Option<i64>,
///     pub theme: Option<String>,
/// }
///
/// async fn pick_theme(session: Session) -> Result<(), session_runtime::Error> {
///     let app: AppSession = session.typed().await?;
///     if app.theme.is_none() {
///         session.update_typed(|app: &mut AppSession| app.theme = Some("dark".into())).await?;
///     }
///     Ok(())
/// }
/// ```
#[async_trait::async_trait]
pub trait TypedSessionExt {
    /// Reads the struct. A value of the wrong shape under a field's key is
    /// [`Error::Decode`] naming the field.
    async fn typed<S: SessionFields>(&self) -> Result<S, Error>;

    /// Writes every field of the struct.
    async fn set_typed<S: SessionFields>(&self, value: S) -> Result<(), Error>;

    /// Reads the struct, lets `change` modify it, writes it back and returns
    /// it: how one field is set.
    async fn update_typed<S, F>(&self, change: F) -> Result<S, Error>
    where
        S: SessionFields + Clone,
        F: FnOnce(&mut S) + Send,
    {
        let mut value: S = self.typed().await?;
        change(&mut value);
        self.set_typed(value.clone()).await?;
        Ok(value)
    }

    /// Records that the session's user proved who they are just now: call
    /// it at login, and again after asking for the password before a
    /// sensitive action.
    ///
    /// The store keeps the time in its `authenticated_at` column, readable
    /// in [`SessionInfo::authenticated_at`](crate::SessionInfo), and the
    /// session carries it through [`cycle_id`] until the next mark, so the
    /// store's absolute timeout
    /// ([`with_max_lifetime`](crate::DieselStore::with_max_lifetime))
    /// counts from the last login, not from the last id change. See the
    /// [authentication](crate::guide::authentication) chapter.
    ///
    /// [`cycle_id`]: https://docs.rs/tower-sessions/latest/tower_sessions/struct.Session.html#method.cycle_id
    async fn mark_authenticated(&self) -> Result<(), Error>;

    /// When the session's user last proved who they are, if the app marked
    /// it with [`mark_authenticated`](Self::mark_authenticated).
    async fn authenticated_at(&self) -> Result<Option<time::OffsetDateTime>, Error>;

    /// Whether the session's user proved who they are within `recently`
    /// of now: what a sensitive route asks before it acts, sending the user
    /// to enter the password again when the answer is no (OWASP ASVS
    /// 3.7.1).
    ///
    /// ```
    /// use session_runtime::TypedSessionExt;
    /// use tower_sessions::Session;
    ///
    /// async fn change_password(session: Session) -> Result<&'static str, session_runtime::Error> {
    ///     if !session.authenticated_within(time::Duration::minutes(5)).await? {
    ///         return Ok("please enter your password again");
    ///     }
    ///     Ok("password changed")
    /// }
    /// ```
    async fn authenticated_within(&self, recently: time::Duration) -> Result<bool, Error> {
        let now = time::OffsetDateTime::now_utc();
        Ok(self
            .authenticated_at()
            .await?
            .is_some_and(|at| now - at <= recently))
    }
}

/// The distinct top-level keys of a struct's fields.
pub(crate) fn keys<S: SessionFields>() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = S::KEY_PATHS.iter().map(|path| path.key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The struct from the values of its keys.
pub(crate) fn read<S: SessionFields>(data: SessionData) -> Result<S, Error> {
    S::read_fields(&data).map_err(|error| match error {
        Error::Encode(message) => Error::Decode(message),
        other => other,
    })
}

/// The new values of the struct's keys: the current ones with the struct's
/// paths replaced by `value`. `None` under a key means remove it.
pub(crate) fn write<S: SessionFields>(
    mut data: SessionData,
    value: S,
) -> Result<SessionData, Error> {
    for path in S::KEY_PATHS {
        path.remove(&mut data);
    }
    value.put_fields(&mut data)?;
    Ok(data)
}

macro_rules! impl_typed_session {
    ($core:ident, $feature:literal) => {
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        #[async_trait::async_trait]
        impl $crate::TypedSessionExt for $core::Session {
            async fn typed<S: $crate::SessionFields>(&self) -> Result<S, $crate::Error> {
                let data = current_values(self, &$crate::typed_session::keys::<S>()).await?;
                $crate::typed_session::read(data)
            }

            async fn mark_authenticated(&self) -> Result<(), $crate::Error> {
                let now = $crate::authentication::value_of(time::OffsetDateTime::now_utc());
                self.insert_value($crate::authentication::KEY, now)
                    .await
                    .map(drop)
                    .map_err(session_error)
            }

            async fn authenticated_at(
                &self,
            ) -> Result<Option<time::OffsetDateTime>, $crate::Error> {
                let value = self
                    .get_value($crate::authentication::KEY)
                    .await
                    .map_err(session_error)?;
                value
                    .as_ref()
                    .map($crate::authentication::instant_of)
                    .transpose()
                    .map_err(|error| match error {
                        $crate::Error::Encode(message) => $crate::Error::Decode(message),
                        other => other,
                    })
            }

            async fn set_typed<S: $crate::SessionFields>(
                &self,
                value: S,
            ) -> Result<(), $crate::Error> {
                let keys = $crate::typed_session::keys::<S>();
                let current = current_values(self, &keys).await?;
                let mut next = $crate::typed_session::write(current, value)?;
                for key in keys {
                    match next.remove(key) {
                        Some(value) => {
                            self.insert_value(key, value).await.map_err(session_error)?;
                        }
                        None => {
                            self.remove_value(key).await.map_err(session_error)?;
                        }
                    }
                }
                Ok(())
            }
        }

        /// The session's values under `keys`; absent keys are left out.
        async fn current_values(
            session: &$core::Session,
            keys: &[&'static str],
        ) -> Result<$crate::SessionData, $crate::Error> {
            let mut data = $crate::SessionData::new();
            for key in keys {
                if let Some(value) = session.get_value(key).await.map_err(session_error)? {
                    data.insert((*key).to_owned(), value);
                }
            }
            Ok(data)
        }

        fn session_error(error: $core::session::Error) -> $crate::Error {
            $crate::Error::backend("the tower-sessions session failed", error)
        }
    };
}

#[cfg(feature = "tower-sessions-015")]
mod v015 {
    impl_typed_session!(tower_sessions_core, "tower-sessions-015");
}
#[cfg(feature = "tower-sessions-014")]
mod v014 {
    impl_typed_session!(tower_sessions_core_014, "tower-sessions-014");
}
