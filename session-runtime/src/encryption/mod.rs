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
//!
//! The keys (`keys`) and the sealing (`seal`) need no store; the store
//! takes its keys and seals and opens rows in `store::encryption`.

mod keys;
mod seal;

pub use keys::{DataKey, EncryptionKeys, ParseKeyError};
