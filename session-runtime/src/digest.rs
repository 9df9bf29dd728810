use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// The SHA-256 digest of a session id: what the `id` column holds.
///
/// The cookie value never reaches the database, so a dump of the session
/// table lets no one in. Session ids carry 128 random bits, which is why an
/// unsalted hash is enough: there is nothing to guess a preimage from.
///
/// A digest is also the handle with which one session of a user's list is
/// revoked, since it identifies the row without revealing the cookie. It
/// prints and parses as 64 lowercase hex digits.
///
/// ```
/// use session_runtime::SessionDigest;
///
/// let digest = SessionDigest::of_id(42);
/// let text = digest.to_string();
/// assert_eq!(text.len(), 64);
/// assert_eq!(text.parse::<SessionDigest>(), Ok(digest));
/// assert!("not hex".parse::<SessionDigest>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionDigest([u8; 32]);

impl SessionDigest {
    /// The digest of a tower-sessions id (`Id.0`).
    pub fn of_id(id: i128) -> Self {
        SessionDigest(Sha256::digest(id.to_le_bytes()).into())
    }

    /// The raw 32 bytes, as stored.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A digest read back from the `id` column.
    ///
    /// ```
    /// use session_runtime::SessionDigest;
    ///
    /// assert!(SessionDigest::from_slice(&[0; 32]).is_some());
    /// assert!(SessionDigest::from_slice(&[0; 16]).is_none());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(SessionDigest)
    }
}

impl fmt::Display for SessionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for SessionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionDigest({self})")
    }
}

/// The text was not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session digest is 64 hex digits")]
#[non_exhaustive]
pub struct ParseDigestError;

impl FromStr for SessionDigest {
    type Err = ParseDigestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.as_bytes();
        if text.len() != 64 || !text.iter().all(u8::is_ascii_hexdigit) {
            return Err(ParseDigestError);
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| ParseDigestError)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| ParseDigestError)?;
        }
        Ok(SessionDigest(bytes))
    }
}

/// A digest serializes as its 64 hex digits, so it can travel in a form or
/// a JSON body.
///
/// ```
/// use session_runtime::SessionDigest;
///
/// let digest = SessionDigest::of_id(7);
/// let json = serde_json::to_string(&digest).unwrap();
/// assert_eq!(serde_json::from_str::<SessionDigest>(&json).unwrap(), digest);
/// assert!(serde_json::from_str::<SessionDigest>("\"zz\"").is_err());
/// ```
impl serde::Serialize for SessionDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SessionDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
