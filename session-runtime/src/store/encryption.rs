//! Encryption at rest of the `data` column (`#[session(data = encrypted)]`):
//! the keys an app gives its store at run time, the sealing of `data` on
//! every write of it, and its opening on every load.
//!
//! # The sealed format
//!
//! | bytes | what |
//! |---|---|
//! | 1 | the format, 1 |
//! | 4 | the key's id: the first 4 bytes of SHA-256 of a label and the key, which finds the key to open it with among the store's without trying them all |
//! | 24 | a random nonce |
//! | n | the JSON of `data`, encrypted with XChaCha20-Poly1305 |
//! | 16 | the Poly1305 tag |
//!
//! The associated data is the format byte and the key id, then the row's
//! `id`: the SHA-256 of the session id. A sealed value copied onto another
//! session's row does not authenticate there, so a database writer cannot
//! hand one user another user's session data. The table's name is not in
//! it, so that renaming the table keeps the sessions.
//!
//! XChaCha20-Poly1305 rather than AES-GCM: its 192-bit nonce can be drawn
//! at random for every write, by every server, with no counter to keep and
//! no birthday bound to track (AES-GCM's 96-bit random nonces must stop
//! well before 2^32 writes per key); and it runs in constant time in
//! software, on every CPU. `data` is not compressed before it is sealed:
//! the length of compressed secrets next to values a user chooses leaks
//! them (CRIME, BREACH).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine as _};
use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

use crate::backend::data_column::parse;
use crate::backend::sealed_column::{SealedData, StoredData};
use crate::backend::Backend;
use crate::schema::table_def::DataType;
use crate::session_table::{SessionFields, SessionRow, SessionTable};
use crate::store::key_path::SessionData;
use crate::{DieselStore, Error};

/// The format byte of what this version seals.
const FORMAT: u8 = 1;
/// The length of a key's id, the first bytes of its fingerprint.
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The format byte and the key id: the part of the header bound as
/// associated data (the nonce is bound by the cipher itself).
const PREFIX_LEN: usize = 1 + KEY_ID_LEN;
const HEADER_LEN: usize = PREFIX_LEN + NONCE_LEN;
/// What sealing adds to the JSON of `data`: 45 bytes.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
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
    cipher: XChaCha20Poly1305,
    id: [u8; KEY_ID_LEN],
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
    keys: Vec<DataKey>,
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
    pub fn with_old_key(mut self, old: DataKey) -> Self {
        self.keys.push(old);
        self
    }

    /// The fingerprint of each key, the current one first.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(DataKey::fingerprint).collect()
    }

    /// `plaintext` sealed under the current key, bound to the row `id`.
    pub(crate) fn seal(&self, id: &[u8; 32], plaintext: &[u8]) -> Result<SealedData, Error> {
        let Some(key) = self.keys.first() else {
            return Err(Error::Config(
                "the store's list of keys is empty".to_owned(),
            ));
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = Vec::with_capacity(OVERHEAD + plaintext.len());
        sealed.push(FORMAT);
        sealed.extend_from_slice(&key.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let associated = associated_data(&sealed[..PREFIX_LEN], id);
        let tag = key
            .cipher
            .encrypt_inout_detached(
                &XNonce::from(nonce),
                &associated,
                (&mut sealed[HEADER_LEN..]).into(),
            )
            .map_err(|_| Error::Encode("the session is too large to encrypt".to_owned()))?;
        sealed.extend_from_slice(&tag);
        Ok(SealedData(sealed))
    }

    /// The plaintext of `sealed`, the `data` of the row `id`, and whether
    /// an old key sealed it.
    ///
    /// Its errors name the key's fingerprint and what went wrong, never
    /// anything of the data.
    pub(crate) fn open(
        &self,
        id: &[u8; 32],
        sealed: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, bool), Error> {
        let format = sealed.first().copied();
        if format != Some(FORMAT) {
            let clear = if format == Some(b'{') {
                ": it starts like JSON text, a row stored in clear before the table was \
                 encrypted"
            } else {
                ""
            };
            return Err(Error::Decode(format!(
                "`data` is not sealed in a format this store reads{}{clear}",
                format.map_or_else(String::new, |byte| format!(" (format byte {byte:#04x})"))
            )));
        }
        if sealed.len() < OVERHEAD {
            return Err(Error::Decode(format!(
                "sealed `data` is {} bytes, shorter than the {OVERHEAD} that sealing adds",
                sealed.len()
            )));
        }
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let key_id = &header[1..PREFIX_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&header[PREFIX_LEN..]);
        let nonce = XNonce::from(nonce);
        let tag = Tag::try_from(tag).map_err(|_| Error::Decode("a truncated tag".to_owned()))?;
        let associated = associated_data(&header[..PREFIX_LEN], id);
        let mut named = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.id == key_id)
            .peekable();
        if named.peek().is_none() {
            return Err(Error::Decode(format!(
                "`data` was sealed with the key of fingerprint {}: no key with that fingerprint \
                 among the store's {} keys ({}); give the store that key with \
                 `EncryptionKeys::with_old_key`",
                hex(key_id),
                self.keys.len(),
                self.fingerprints().join(", ")
            )));
        }
        for (index, key) in named {
            let mut plaintext = Zeroizing::new(body.to_vec());
            let opened = key.cipher.decrypt_inout_detached(
                &nonce,
                &associated,
                plaintext.as_mut_slice().into(),
                &tag,
            );
            if opened.is_ok() {
                return Ok((plaintext, index > 0));
            }
        }
        Err(Error::Decode(format!(
            "the row does not authenticate under the key of fingerprint {}: altered, or copied \
             from another session",
            hex(key_id)
        )))
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

/// A session struct whose table encrypts `data`
/// (`#[session(data = encrypted)]`): the stores that take
/// [`EncryptionKeys`]. `#[derive(SessionStore)]` implements it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` stores its `data` in clear, so its store takes no encryption keys",
    label = "a store of a struct without `#[session(data = encrypted)]`",
    note = "add `data = encrypted` to the struct's `#[session(...)]` to encrypt `data` at rest"
)]
pub trait EncryptedTable: SessionFields {}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Sets the keys that seal and open the `data` of every session: the
    /// first seals, every one opens (see [`EncryptionKeys`]).
    ///
    /// A store of an encrypted struct without keys still deletes, counts,
    /// lists, cleans up and migrates, so that a job doing only that need
    /// not hold them; its `create`, `save` and `load` fail with
    /// [`Error::Config`], and no row is touched. Keys given to the store of
    /// a struct that stores `data` in clear are a compile error
    /// (`EncryptedTable` is not implemented), not silently ignored.
    ///
    /// ```
    /// use session_runtime::{EncryptionKeys, SessionStore};
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite, data = encrypted)]
    /// pub struct AppSession {
    ///     /// Typed columns stay in clear: they exist to be queried.
    ///     pub user_id: Option<i64>,
    /// }
    ///
    /// # std::env::set_var("SESSION_KEYS", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=");
    /// // The current key first, then the old ones still to be read.
    /// let keys: EncryptionKeys = std::env::var("SESSION_KEYS").unwrap().parse()?;
    /// let store = AppSessionStore::connect("sessions.db")?.with_encryption_keys(keys);
    /// assert!(AppSessionStore::migration().up().contains("\"data\" BLOB NOT NULL"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    // The bound is the method's, not the impl's, so that a store of a
    // struct without encryption gets `EncryptedTable`'s own message.
    pub fn with_encryption_keys(mut self, keys: EncryptionKeys) -> Self
    where
        S: EncryptedTable,
    {
        self.encryption = Some(Arc::new(keys));
        self
    }

    /// Seals `row.data` into `row.sealed` with the row's id as associated
    /// data, when the table encrypts `data`. Sealing again after the id
    /// changed binds the new id.
    pub(crate) fn seal_row(&self, row: &mut SessionRow<S, B>) -> Result<(), Error> {
        if S::TABLE.data != DataType::Encrypted {
            return Ok(());
        }
        let keys = keys_of(S::TABLE.name, self.encryption.as_deref(), "seal")?;
        row.sealed = keys.seal(&row.id, row.data.0.as_bytes())?;
        Ok(())
    }

    /// The keys, for a read: `None` for a table that stores `data` in
    /// clear.
    pub(crate) fn opening_keys(&self) -> Option<&EncryptionKeys> {
        self.encryption.as_deref()
    }
}

/// The store's keys, or the error of a store of an encrypted struct that
/// was given none.
fn keys_of<'a>(
    table: &str,
    keys: Option<&'a EncryptionKeys>,
    verb: &str,
) -> Result<&'a EncryptionKeys, Error> {
    keys.ok_or_else(|| {
        Error::Config(format!(
            "`{}` encrypts `data` (#[session(data = encrypted)]), and this store has no keys to \
             {verb} it with: give them with `DieselStore::with_encryption_keys`",
            table
        ))
    })
}

/// The session map of the `data` of the row `id` as it was read: parsed
/// already, or sealed and opened here with `keys`. Says too whether an old
/// key sealed it, so that the next save seals it with the current one.
pub(crate) fn open_data<S: SessionTable<B>, B: Backend>(
    stored: StoredData,
    keys: Option<&EncryptionKeys>,
    id: &[u8; 32],
) -> Result<(SessionData, bool), Error> {
    match stored {
        StoredData::Map(data) => Ok((data, false)),
        StoredData::Sealed(sealed) => {
            let (plaintext, old_key) = keys_of(S::TABLE.name, keys, "open")?.open(id, &sealed.0)?;
            let data = parse(&plaintext).map_err(|error| Error::Decode(error.to_string()))?;
            Ok((data.0, old_key))
        }
    }
}

/// What the tag binds besides the ciphertext: the format byte and key id,
/// then the row's id.
fn associated_data(prefix: &[u8], id: &[u8; 32]) -> [u8; PREFIX_LEN + 32] {
    let mut associated = [0; PREFIX_LEN + 32];
    associated[..PREFIX_LEN].copy_from_slice(prefix);
    associated[PREFIX_LEN..].copy_from_slice(id);
    associated
}

fn hex(bytes: &[u8]) -> String {
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

    const ID: [u8; 32] = [7; 32];

    fn keys(bytes: &[u8]) -> EncryptionKeys {
        let mut keys = bytes.iter().map(|byte| DataKey::from_bytes([*byte; 32]));
        let first = keys.next().expect("a key");
        keys.fold(EncryptionKeys::new(first), EncryptionKeys::with_old_key)
    }

    #[test]
    fn sealed_data_opens_with_its_key_and_id_only() {
        let plaintext = br#"{"cart":"secret marker"}"#;
        let sealed = keys(&[1]).seal(&ID, plaintext).unwrap().0;
        assert_eq!(sealed.len(), plaintext.len() + OVERHEAD);
        assert!(!sealed.windows(6).any(|window| window == b"secret"));
        let (opened, old) = keys(&[1]).open(&ID, &sealed).unwrap();
        assert_eq!(&opened[..], plaintext);
        assert!(!old);
        // An old key opens it, and says so.
        let (opened, old) = keys(&[2, 1]).open(&ID, &sealed).unwrap();
        assert_eq!(&opened[..], plaintext);
        assert!(old);
        // Two seals of the same data differ: a fresh nonce each.
        assert_ne!(keys(&[1]).seal(&ID, plaintext).unwrap().0, sealed);
    }

    #[test]
    fn a_wrong_key_another_id_or_a_flipped_bit_is_a_decode_error() {
        let sealed = keys(&[1]).seal(&ID, b"{}").unwrap().0;
        let fingerprint = DataKey::from_bytes([1; 32]).fingerprint();
        let Err(Error::Decode(message)) = keys(&[2, 3]).open(&ID, &sealed) else {
            panic!("a key the store lacks");
        };
        assert!(message.contains(&fingerprint), "{message}");
        assert!(message.contains("among the store's 2 keys"), "{message}");
        let Err(Error::Decode(message)) = keys(&[1]).open(&[8; 32], &sealed) else {
            panic!("another session's id");
        };
        assert!(message.contains("copied from another session"), "{message}");
        for index in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[index] ^= 1;
            assert!(
                keys(&[1]).open(&ID, &altered).is_err(),
                "bit flipped at {index}"
            );
        }
        for length in 0..OVERHEAD {
            assert!(keys(&[1]).open(&ID, &sealed[..length]).is_err());
        }
        let Err(Error::Decode(message)) = keys(&[1]).open(&ID, br#"{"a":1}"#) else {
            panic!("clear JSON");
        };
        assert!(message.contains("stored in clear"), "{message}");
    }

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
