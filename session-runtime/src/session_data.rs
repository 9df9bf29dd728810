//! Where in the session map a typed field's value lives.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;

/// The session map of tower-sessions.
pub type SessionData = HashMap<String, Value>;

/// The location of a typed field's value: a top-level key of the session
/// map, and, for values nested inside that key's object, the member names
/// leading to it.
///
/// axum-login keeps `{"user_id": .., "auth_hash": ..}` under the key
/// `axum-login.data`; the field that stores its user id in a real column has
/// the path `axum-login.data` then `user_id`.
///
/// ```
/// use session_runtime::__private::KeyPath;
///
/// let path = KeyPath { field: "user_id", key: "axum-login.data", members: &["user_id"] };
/// assert_eq!(path.to_string(), "axum-login.data/user_id");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPath {
    /// The struct field that holds the value, for error messages.
    pub field: &'static str,
    /// The top-level key in the session map.
    pub key: &'static str,
    /// Object members below `key`, outermost first.
    pub members: &'static [&'static str],
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)?;
        self.members
            .iter()
            .try_for_each(|member| write!(f, "/{member}"))
    }
}

impl KeyPath {
    /// Decodes the value at this path into the field's type.
    ///
    /// An absent value, or a JSON `null`, gives `Ok(None)`: a NULL column
    /// means the key is absent. A value of the wrong shape gives
    /// [`Error::Encode`].
    pub fn read<T: DeserializeOwned>(&self, data: &SessionData) -> Result<Option<T>, Error> {
        let Some(value) = self.get(data).filter(|value| !value.is_null()) else {
            return Ok(None);
        };
        // Neither the value nor serde's words about it (which quote it) go
        // into the message: tower-sessions logs store errors, and the value
        // may be a secret.
        T::deserialize(value).map(Some).map_err(|_| {
            Error::Encode(format!(
                "field `{}` (session key `{self}`) is a `{}`, and the session holds {} there",
                self.field,
                std::any::type_name::<T>(),
                describe(value)
            ))
        })
    }

    /// Puts a column's value back at this path, creating the objects on the
    /// way when the session map no longer has them.
    pub fn put<T: Serialize>(&self, data: &mut SessionData, value: &T) -> Result<(), Error> {
        let value = serde_json::to_value(value).map_err(|cause| {
            Error::Decode(format!(
                "column `{}` cannot be encoded as JSON: {cause}",
                self.field
            ))
        })?;
        let Some((last, parents)) = self.members.split_last() else {
            data.insert(self.key.to_owned(), value);
            return Ok(());
        };
        let mut object = data
            .entry(self.key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        for member in parents {
            object = as_object(object, self)?
                .entry(*member)
                .or_insert_with(|| Value::Object(Map::new()));
        }
        as_object(object, self)?.insert((*last).to_owned(), value);
        Ok(())
    }

    /// The value at this path, if there is one.
    pub(crate) fn get<'a>(&self, data: &'a SessionData) -> Option<&'a Value> {
        let mut value = data.get(self.key)?;
        for member in self.members {
            value = value.as_object()?.get(*member)?;
        }
        Some(value)
    }

    /// Removes the value at this path, if there is one.
    pub(crate) fn remove(&self, data: &mut SessionData) -> Option<Value> {
        let Some((last, parents)) = self.members.split_last() else {
            return data.remove(self.key);
        };
        let mut object = data.get_mut(self.key)?;
        for member in parents {
            object = object.as_object_mut()?.get_mut(*member)?;
        }
        object.as_object_mut()?.remove(*last)
    }
}

fn as_object<'a>(
    value: &'a mut Value,
    path: &KeyPath,
) -> Result<&'a mut Map<String, Value>, Error> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::Decode(format!(
            "column `{}` belongs inside session key `{path}`, but the stored session has {} on that path",
            path.field,
            describe(other)
        ))),
    }
}

/// What an error says of a session value: its JSON type and size, never
/// its content.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(number) if number.is_f64() => "a fractional number".to_owned(),
        Value::Number(number) if number.is_i64() => "a negative integer".to_owned(),
        Value::Number(_) => "an integer".to_owned(),
        Value::String(text) => format!("a string of {} characters", text.chars().count()),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(members) => format!("an object of {} keys", members.len()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NESTED: KeyPath = KeyPath {
        field: "user_id",
        key: "axum-login.data",
        members: &["user_id"],
    };

    fn data(value: Value) -> SessionData {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn nested_value_is_read_removed_and_put_back_exactly() {
        let original =
            data(json!({"axum-login.data": {"user_id": 7, "auth_hash": [1, 2]}, "other": 1}));
        let read: Option<i64> = NESTED.read(&original).unwrap();
        assert_eq!(read, Some(7));
        let mut rest = original.clone();
        NESTED.remove(&mut rest);
        assert_eq!(
            rest,
            data(json!({"axum-login.data": {"auth_hash": [1, 2]}, "other": 1}))
        );
        NESTED.put(&mut rest, &7_i64).unwrap();
        assert_eq!(rest, original);
    }

    #[test]
    fn mistyped_value_is_an_encode_error() {
        let original = data(json!({"axum-login.data": {"user_id": "seven"}}));
        let error = NESTED.read::<i64>(&original).unwrap_err();
        assert!(
            matches!(error, Error::Encode(ref m) if m.contains("axum-login.data/user_id")),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_field_and_the_type_never_the_value() {
        let secret = "reset-token-4f1c9e";
        for value in [
            json!(secret),
            json!([secret]),
            json!({"token": secret}),
            json!(-4_231_987_123_i64),
            json!(18.0417),
        ] {
            let original = data(json!({"axum-login.data": {"user_id": value}}));
            let Err(error) = NESTED.read::<u8>(&original) else {
                panic!("{value} read as a u8");
            };
            let message = format!("{error} {error:?}");
            for quoted in [secret, "4231987123", "18.0417"] {
                assert!(!message.contains(quoted), "{message}");
            }
            assert!(
                message.contains("`u8`") && message.contains("user_id"),
                "{message}"
            );
        }
        let mut stored = data(json!({"axum-login.data": secret}));
        let error = NESTED.put(&mut stored, &1_i64).unwrap_err();
        assert!(!format!("{error} {error:?}").contains(secret), "{error}");
        assert!(
            error.to_string().contains("a string of 18 characters"),
            "{error}"
        );
    }

    #[test]
    fn absent_parent_is_created_on_put() {
        let mut rest = SessionData::new();
        NESTED.put(&mut rest, &1_i64).unwrap();
        assert_eq!(rest, data(json!({"axum-login.data": {"user_id": 1}})));
    }

    #[test]
    fn non_object_parent_is_a_decode_error() {
        let mut rest = data(json!({"axum-login.data": "text"}));
        assert!(matches!(
            NESTED.put(&mut rest, &1_i64),
            Err(Error::Decode(_))
        ));
    }
}
