//! Accounts: what a login form may contain, and how passwords are kept.

use std::fmt;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// The longest login accepted; it also fits MySQL's `VARCHAR(255)`.
pub const MAX_LOGIN_CHARS: usize = 64;
/// The shortest password a new account may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, so that hashing stays cheap.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// An account as stored in `demo_users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The primary key that sessions reference.
    pub id: i64,
    /// The unique login name.
    pub login: String,
    /// The stored password hash, see [`PasswordHash`].
    pub password: String,
}

/// The fields of the login and register forms, as posted.
#[derive(Debug, Clone, Deserialize)]
pub struct Credentials {
    /// The login name.
    pub login: String,
    /// The password in clear, as typed.
    pub password: String,
}

/// Why a form's credentials were refused before reaching the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    /// The login is empty after trimming.
    EmptyLogin,
    /// The login is longer than [`MAX_LOGIN_CHARS`].
    LongLogin,
    /// The login contains control characters.
    InvalidLogin,
    /// A new password is shorter than [`MIN_PASSWORD_CHARS`].
    ShortPassword,
    /// The password is empty or longer than [`MAX_PASSWORD_BYTES`].
    InvalidPassword,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::EmptyLogin => f.write_str("the login is empty"),
            CredentialsError::LongLogin => {
                write!(f, "the login is longer than {MAX_LOGIN_CHARS} characters")
            }
            CredentialsError::InvalidLogin => f.write_str("the login contains control characters"),
            CredentialsError::ShortPassword => write!(
                f,
                "the password must have at least {MIN_PASSWORD_CHARS} characters"
            ),
            CredentialsError::InvalidPassword => write!(
                f,
                "the password must have between 1 and {MAX_PASSWORD_BYTES} bytes"
            ),
        }
    }
}

impl Credentials {
    /// Checks a login attempt; the login comes back trimmed.
    pub fn for_login(self) -> Result<Credentials, CredentialsError> {
        let login = normalize_login(&self.login)?;
        if self.password.is_empty() || self.password.len() > MAX_PASSWORD_BYTES {
            return Err(CredentialsError::InvalidPassword);
        }
        Ok(Credentials {
            login,
            password: self.password,
        })
    }

    /// Checks a new account, which must also have a long enough password.
    pub fn for_registration(self) -> Result<Credentials, CredentialsError> {
        let credentials = self.for_login()?;
        if credentials.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(CredentialsError::ShortPassword);
        }
        Ok(credentials)
    }
}

fn normalize_login(login: &str) -> Result<String, CredentialsError> {
    let login = login.trim();
    if login.is_empty() {
        Err(CredentialsError::EmptyLogin)
    } else if login.chars().count() > MAX_LOGIN_CHARS {
        Err(CredentialsError::LongLogin)
    } else if login.chars().any(char::is_control) {
        Err(CredentialsError::InvalidLogin)
    } else {
        Ok(login.to_owned())
    }
}

/// A salted SHA-256 password hash, stored as `sha256$<salt>$<digest>` in hex.
///
/// The salt makes equal passwords hash differently, so one precomputed
/// table does not crack every account. SHA-256 is still far too fast to
/// resist guessing once the table leaks: a real app uses a slow,
/// memory-hard function such as argon2 (the `argon2` crate). This demo
/// keeps to `sha2` to stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

const SCHEME: &str = "sha256";

impl PasswordHash {
    /// Hashes a password with a fresh random salt.
    pub fn new(password: &str) -> Self {
        let salt: [u8; 16] = rand::random();
        PasswordHash(format!(
            "{SCHEME}${}${}",
            hex(&salt),
            hex(&salted_digest(&salt, password))
        ))
    }

    /// The text stored in the `password` column.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` matches a stored hash. A stored value that is
    /// not a hash of this scheme matches nothing.
    ///
    /// ```
    /// use example_axum_demo::users::PasswordHash;
    ///
    /// let stored = PasswordHash::new("correct horse");
    /// assert!(PasswordHash::verify(stored.as_str(), "correct horse"));
    /// assert!(!PasswordHash::verify(stored.as_str(), "wrong horse"));
    /// assert!(!PasswordHash::verify("correct horse", "correct horse"));
    /// ```
    pub fn verify(stored: &str, password: &str) -> bool {
        let mut parts = stored.split('$');
        let (Some(SCHEME), Some(salt), Some(digest), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let (Some(salt), Some(digest)) = (unhex(salt), unhex(digest)) else {
            return false;
        };
        constant_time_eq(&salted_digest(&salt, password), &digest)
    }

    /// Spends the time of a verification without an account, so that an
    /// unknown login is not told apart from a wrong password by timing.
    pub fn verify_nothing(password: &str) {
        let _ = salted_digest(&[0; 16], password);
    }
}

fn salted_digest(salt: &[u8], password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

/// Compares without stopping at the first difference, so the time taken
/// does not reveal how much of a digest an attacker got right.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0, |difference, (l, r)| difference | (l ^ r))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let nibble = |digit: u8| {
        char::from(digit)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(nibble(*high)? << 4 | nibble(*low)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(login: &str, password: &str) -> Credentials {
        Credentials {
            login: login.into(),
            password: password.into(),
        }
    }

    #[test]
    fn equal_passwords_hash_differently_and_both_verify() {
        let first = PasswordHash::new("hunter22");
        let second = PasswordHash::new("hunter22");
        assert_ne!(first, second);
        assert!(PasswordHash::verify(first.as_str(), "hunter22"));
        assert!(PasswordHash::verify(second.as_str(), "hunter22"));
        assert!(!first.as_str().contains("hunter22"));
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for stored in [
            "",
            "sha256$",
            "sha256$zz$00",
            "md5$00$00",
            "sha256$00$00$00",
        ] {
            assert!(!PasswordHash::verify(stored, ""), "{stored}");
        }
    }

    #[test]
    fn forms_are_checked() {
        assert_eq!(credentials("  ada ", "x").for_login().unwrap().login, "ada");
        assert_eq!(
            credentials(" ", "x").for_login().unwrap_err(),
            CredentialsError::EmptyLogin
        );
        assert_eq!(
            credentials("a\u{7}", "x").for_login().unwrap_err(),
            CredentialsError::InvalidLogin
        );
        assert_eq!(
            credentials(&"a".repeat(65), "x").for_login().unwrap_err(),
            CredentialsError::LongLogin
        );
        assert_eq!(
            credentials("ada", "").for_login().unwrap_err(),
            CredentialsError::InvalidPassword
        );
        assert_eq!(
            credentials("ada", "short").for_registration().unwrap_err(),
            CredentialsError::ShortPassword
        );
    }
}
