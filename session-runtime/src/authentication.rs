//! When the session's user last proved who they are.
//!
//! The store keeps it in a column of its own, `authenticated_at`, and the
//! session map carries it under a reserved key, [`KEY`]. The map is what
//! tower-sessions hands from the old id to the new one in `cycle_id`, so
//! the time follows the session through every id change until the app
//! marks a new login; the column is what SQL reads, for the absolute
//! timeout and for the devices page.

use serde_json::Value;
use time::OffsetDateTime;

use crate::session_data::SessionData;
use crate::Error;

/// The session key that carries the authentication time: the instant as
/// Unix microseconds, the precision every backend keeps. The store moves it
/// into its `authenticated_at` column and never into `data`.
pub(crate) const KEY: &str = "session_runtime.authenticated_at";

/// The authentication time `data` carries, if any.
///
/// Anything but an integer of Unix microseconds under [`KEY`] is
/// [`Error::Encode`]: the key is the store's, and only
/// [`mark_authenticated`](crate::TypedSessionExt::mark_authenticated)
/// writes it.
pub(crate) fn read(data: &SessionData) -> Result<Option<OffsetDateTime>, Error> {
    data.get(KEY).map(instant_of).transpose()
}

/// The authentication time a value under [`KEY`] stands for.
pub(crate) fn instant_of(value: &Value) -> Result<OffsetDateTime, Error> {
    value
        .as_i64()
        .and_then(|micros| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
        })
        .ok_or_else(|| {
            Error::Encode(format!(
                "session key `{KEY}` is the store's authentication time, Unix microseconds \
                 written by `TypedSessionExt::mark_authenticated`; the session holds {} there",
                crate::session_data::describe(value)
            ))
        })
}

/// The value under [`KEY`] for the instant `at`, cut to microseconds.
pub(crate) fn value_of(at: OffsetDateTime) -> Value {
    let micros = at.unix_timestamp_nanos() / 1_000;
    // An `OffsetDateTime` spans ±9999 years: some 3.2e17 microseconds,
    // well inside an `i64`.
    Value::from(i64::try_from(micros).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_round_trips_to_the_microsecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_765_000_000_123_456_789).unwrap();
        let data = SessionData::from([(KEY.to_owned(), value_of(at))]);
        let back = read(&data).unwrap().unwrap();
        assert_eq!(back.unix_timestamp_nanos(), 1_765_000_000_123_456_000);
    }

    #[test]
    fn a_value_that_is_not_microseconds_is_refused_without_echoing_it() {
        for value in [
            Value::from("yesterday"),
            Value::from(1.5),
            Value::from(i64::MAX),
        ] {
            let data = SessionData::from([(KEY.to_owned(), value)]);
            let error = read(&data).unwrap_err().to_string();
            assert!(error.contains(KEY), "{error}");
            assert!(!error.contains("yesterday"), "{error}");
        }
    }

    #[test]
    fn a_session_without_the_key_has_no_authentication_time() {
        assert_eq!(read(&SessionData::new()).unwrap(), None);
    }
}
