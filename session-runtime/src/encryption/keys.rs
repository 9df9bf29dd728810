//! The keys an app gives its store at run time: parsed from text as it
//! loads them, shown only by fingerprint, wiped from memory when dropped.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine as _};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

/// The length of a key's id, the first bytes of its fingerprint.
pub(super) const KEY_ID_LEN: usize = 4;
/// What a key's fingerprint is a hash of, after this label.
const FINGERPRINT_LABEL: &[u8] = b"session-runtime data key\0";

/// One 256-bit key of [`EncryptionKeys`].
///
/// Build it from the 32 bytes, or parse it from text as an app loads it
/// from its environment or a secret store: 64 hex digits, or base64
/// (standard or URL-safe, padded or not). Generate one with
/// `openssl rand -base64 32`.
///
/// ```
/// use session_runtime::DataKey;
///
/// let key: DataKey = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=".parse()?;
/// let same = DataKey::from_bytes([
///     0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56,
///     0x78, 0x90, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x12,
///     0x34, 0x56, 0x78, 0x90,
/// ]);
/// assert_eq!(key.fingerprint(), same.fingerprint());
/// // Its `Debug` shows the fingerprint, never the key.
/// assert_eq!(format!("{key:?}"), format!("DataKey({})", key.fingerprint()));
/// # Ok::<_, session_runtime::ParseKeyError>(())
/// ```
///
/// The key is wiped from memory when the last store holding it is
/// dropped; the copy you built it from is yours to wipe.
pub struct DataKey {
    pub(super) cipher: XChaCha20Poly1305,
    pub(super) id: [u8; KEY_ID_LEN],
}

impl DataKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let fingerprint = Sha256::new()
            .chain_update(FINGERPRINT_LABEL)
            .chain_update(bytes)
            .finalize();
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&fingerprint[..KEY_ID_LEN]);
        let mut key = chacha20poly1305::Key::from(bytes);
        let cipher = XChaCha20Poly1305::new(&key);
        key.as_mut_slice().zeroize();
        bytes.zeroize();
        DataKey { cipher, id }
    }

    /// The key's fingerprint, 8 hex digits: what each sealed `data` names
    /// its key by, and what errors and logs name a key by. It reveals
    /// nothing of the key.
    pub fn fingerprint(&self) -> String {
        hex(&self.id)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({})", self.fingerprint())
    }
}

impl FromStr for DataKey {
    type Err = ParseKeyError;

    /// Parses 64 hex digits, or 32 bytes in base64 (standard or URL-safe,
    /// padded or not); whitespace around the key is ignored. The error
    /// never quotes the text.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; 32]);
        if text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            return Ok(DataKey::from_bytes(*bytes));
        }
        let config = GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(false);
        // Room for a few bytes more than a key, so that a longer text
        // reports its length instead of overflowing.
        let mut decoded = Zeroizing::new([0u8; 48]);
        let length = [base64::alphabet::STANDARD, base64::alphabet::URL_SAFE]
            .iter()
            .find_map(|alphabet| {
                GeneralPurpose::new(alphabet, config)
                    .decode_slice(text, &mut decoded[..])
                    .ok()
            });
        match length {
            Some(32) => {
                bytes.copy_from_slice(&decoded[..32]);
                Ok(DataKey::from_bytes(*bytes))
            }
            Some(length) => Err(ParseKeyError(format!(
                "a data key is 32 bytes, and this base64 text holds {length}"
            ))),
            None => Err(ParseKeyError(format!(
                "a data key is 32 bytes written as 64 hex digits or in base64 (43 or 44 \
                 characters, e.g. from `openssl rand -base64 32`); this text of {} characters \
                 is neither",
                text.chars().count()
            ))),
        }
    }
}

/// The keys a store seals `data` with: the first seals every write, and
/// every one of them opens what it sealed.
///
/// To rotate, put a new key first and keep the old ones after it: a
/// session sealed with an old key is read with it, and sealed with the new
/// one at its next save, even one that changes nothing. See the
/// [security](crate::guide::security) chapter for the steps.
///
/// ```
/// use session_runtime::{DataKey, EncryptionKeys};
///
/// // As an app reads them from one environment variable: the current key
/// // first, then the old ones, separated by commas or whitespace.
/// let text = format!("{},{}", "02".repeat(32), "01".repeat(32));
/// let keys: EncryptionKeys = text.parse()?;
///
/// let current = DataKey::from_bytes([2; 32]);
/// let old = DataKey::from_bytes([1; 32]);
/// let same = EncryptionKeys::new(current).with_old_key(old);
/// assert_eq!(keys.fingerprints(), same.fingerprints());
/// // Its `Debug` names the keys by fingerprint.
/// assert!(format!("{keys:?}").contains(&same.fingerprints()[0]));
/// # Ok::<_, session_runtime::ParseKeyError>(())
/// ```
pub struct EncryptionKeys {
    /// Never empty: the current key first.
    pub(super) keys: Vec<DataKey>,
}

impl EncryptionKeys {
    /// The keys of a store that seals with `current`.
    pub fn new(current: DataKey) -> Self {
        EncryptionKeys {
            keys: vec![current],
        }
    }

    /// Opens what `old` sealed too; sealing stays with the current key.
    /// Keys added later are tried later, but each sealed value names its
    /// key, so their order only matters for the first.
    #[must_use]
    pub fn with_old_key(mut self, old: DataKey) -> Self {
        self.keys.push(old);
        self
    }

    /// The fingerprint of each key, the current one first.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(DataKey::fingerprint).collect()
    }
}

impl fmt::Debug for EncryptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKeys")
            .field("current", &self.keys.first().map(DataKey::fingerprint))
            .field(
                "old",
                &self
                    .keys
                    .iter()
                    .skip(1)
                    .map(DataKey::fingerprint)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl FromStr for EncryptionKeys {
    type Err = ParseKeyError;

    /// Parses keys separated by commas or whitespace, each as
    /// [`DataKey`] parses it: the current key first.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let texts: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|key| !key.is_empty())
            .collect();
        if texts.is_empty() {
            return Err(ParseKeyError(
                "no key: give at least one, e.g. from `openssl rand -base64 32`".to_owned(),
            ));
        }
        let count = texts.len();
        let keys = texts
            .into_iter()
            .enumerate()
            .map(|(index, text)| {
                text.parse::<DataKey>().map_err(|ParseKeyError(why)| {
                    ParseKeyError(format!("key {} of {count}: {why}", index + 1))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(EncryptionKeys { keys })
    }
}

/// Text that is no key, or no list of keys. Its message never quotes the
/// text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseKeyError(String);

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The value of an ASCII hex digit, already checked as one.
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64_and_never_show_in_errors_or_debug() {
        let hex = "ab".repeat(32);
        let base64 = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
        let from_hex: DataKey = hex.parse().unwrap();
        let from_base64: DataKey = base64.parse().unwrap();
        let unpadded: DataKey = base64.trim_end_matches('=').parse().unwrap();
        let url_safe: DataKey = format!(" {} \n", base64.replace('+', "-")).parse().unwrap();
        let bytes = DataKey::from_bytes([0xab; 32]);
        for key in [&from_hex, &from_base64, &unpadded, &url_safe] {
            assert_eq!(key.fingerprint(), bytes.fingerprint());
        }
        assert_eq!(bytes.fingerprint().len(), 8);
        assert!(!format!("{bytes:?}").contains("ab".repeat(4).as_str()));
        for bad in [
            "",
            "abc",
            &"ab".repeat(31),
            &"ab".repeat(33),
            "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur",
        ] {
            let error = bad.parse::<DataKey>().unwrap_err().to_string();
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        let list: EncryptionKeys = format!("{hex}, {}", "cd".repeat(32)).parse().unwrap();
        assert_eq!(list.fingerprints()[0], bytes.fingerprint());
        let debug = format!("{list:?}");
        assert!(
            debug.contains(&bytes.fingerprint()) && !debug.contains("abab"),
            "{debug}"
        );
        let error = format!("{hex},nope").parse::<EncryptionKeys>().unwrap_err();
        assert!(error.to_string().starts_with("key 2 of 2:"), "{error}");
        assert!(" , ".parse::<EncryptionKeys>().is_err());
    }
}
