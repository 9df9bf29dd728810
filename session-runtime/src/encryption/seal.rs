//! Sealing and opening `data` with XChaCha20-Poly1305, in the format the
//! module's documentation lays out.

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{Tag, XNonce};
use rand::rngs::OsRng;
use rand::TryRngCore as _;
use zeroize::Zeroizing;

use crate::encryption::keys::{hex, EncryptionKeys, KEY_ID_LEN};
use crate::error::Error;

/// The format byte of what this version seals.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The format byte and the key id: the part of the header bound as
/// associated data (the nonce is bound by the cipher itself).
const PREFIX_LEN: usize = 1 + KEY_ID_LEN;
const HEADER_LEN: usize = PREFIX_LEN + NONCE_LEN;
/// What sealing adds to the JSON of `data`: 45 bytes.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

impl EncryptionKeys {
    /// `plaintext` sealed under the current key, bound to the row `id`.
    pub(crate) fn seal(&self, id: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let Some(key) = self.keys.first() else {
            return Err(Error::Config(
                "the store's list of keys is empty".to_owned(),
            ));
        };
        let mut nonce = [0u8; NONCE_LEN];
        // From the operating system, not a user-space generator that a
        // fork would leave in the same state in two processes.
        OsRng.try_fill_bytes(&mut nonce).map_err(|error| {
            Error::Config(format!(
                "the operating system gave no random nonce: {error}"
            ))
        })?;
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
        Ok(sealed)
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
            // A key the store lacks is a server deployed without a step of
            // the rotation, not a corrupt row: a configuration error, which
            // no `Undecodable` policy deletes for.
            return Err(Error::Config(format!(
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

/// What the tag binds besides the ciphertext: the format byte and key id,
/// then the row's id.
fn associated_data(prefix: &[u8], id: &[u8; 32]) -> [u8; PREFIX_LEN + 32] {
    let mut associated = [0; PREFIX_LEN + 32];
    associated[..PREFIX_LEN].copy_from_slice(prefix);
    associated[PREFIX_LEN..].copy_from_slice(id);
    associated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encryption::DataKey;

    const ID: [u8; 32] = [7; 32];

    fn keys(bytes: &[u8]) -> EncryptionKeys {
        let mut keys = bytes.iter().map(|byte| DataKey::from_bytes([*byte; 32]));
        let first = keys.next().expect("a key");
        keys.fold(EncryptionKeys::new(first), EncryptionKeys::with_old_key)
    }

    #[test]
    fn sealed_data_opens_with_its_key_and_id_only() {
        let plaintext = br#"{"cart":"secret marker"}"#;
        let sealed = keys(&[1]).seal(&ID, plaintext).unwrap();
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
        assert_ne!(keys(&[1]).seal(&ID, plaintext).unwrap(), sealed);
    }

    #[test]
    fn a_wrong_key_another_id_or_a_flipped_bit_is_a_decode_error() {
        let sealed = keys(&[1]).seal(&ID, b"{}").unwrap();
        let fingerprint = DataKey::from_bytes([1; 32]).fingerprint();
        let Err(Error::Config(message)) = keys(&[2, 3]).open(&ID, &sealed) else {
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
}
