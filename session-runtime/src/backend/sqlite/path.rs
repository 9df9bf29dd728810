//! Which values a store reads as a SQLite database: only those that look
//! like one, so that a server URL missing its scheme, or a stray word, is
//! an error that says so instead of a new database file of that name.

use crate::error::Error;

/// The file names SQLite databases are usually given.
const EXTENSIONS: [&str; 3] = [".db", ".sqlite", ".sqlite3"];

/// The SQLite database `url` names, as SQLite opens it: the path of
/// `sqlite://PATH`, a `file:` URI or `:memory:` as written, or a value
/// that looks like a path (it has a `/` or `\`, or ends in `.db`,
/// `.sqlite` or `.sqlite3`). Anything else is an error that quotes it,
/// without any user name or password, and lists the accepted forms.
///
/// ```text
/// sqlite://sessions.db  -> sessions.db
/// /var/lib/app/s.db     -> /var/lib/app/s.db
/// test                  -> error: not a path
/// postgres@db:5432/app  -> error: a server URL without its scheme
/// ```
pub(crate) fn sqlite_path(url: &str) -> Result<&str, Error> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return if path.is_empty() {
            Err(refused(url, "`sqlite://` names no file"))
        } else {
            Ok(path)
        };
    }
    if url == ":memory:" || url.starts_with("file:") {
        return Ok(url);
    }
    // A server URL without its scheme: `user@host:port/database`.
    let before_path = url.split(['/', '\\']).next().unwrap_or(url);
    if before_path.contains('@') {
        return Err(refused(
            url,
            "it looks like a server URL without its scheme: write `postgres://` or `mysql://` \
             before it",
        ));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        // `C://sessions.db`: a Windows drive, not a scheme.
        if !(scheme.len() == 1 && scheme.chars().all(|c| c.is_ascii_alphabetic())) {
            return Err(refused(url, "its scheme names no database"));
        }
    }
    let lowercase = url.to_ascii_lowercase();
    let looks_like_a_path = url.contains(['/', '\\'])
        || EXTENSIONS
            .iter()
            .any(|extension| lowercase.len() > extension.len() && lowercase.ends_with(extension));
    if looks_like_a_path {
        Ok(url)
    } else {
        Err(refused(url, "it is neither a URL nor a path"))
    }
}

/// The error of a value read as no database, quoting it with any user
/// name and password cut off.
fn refused(url: &str, why: &str) -> Error {
    let shown = match url.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => url.to_owned(),
    };
    Error::Config(format!(
        "the database URL `{shown}` is not one the session store reads: {why}. A SQLite \
         database is `sqlite://PATH`, `file:PATH`, `:memory:`, or a path that has a `/` or ends \
         in `.db`, `.sqlite` or `.sqlite3`; a server is `postgres://…` or `mysql://…`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sqlite_urls_are_read_as_sqlite() {
        for (url, path) in [
            ("sqlite://sessions.db", "sessions.db"),
            ("sessions.db", "sessions.db"),
            ("Sessions.SQLite3", "Sessions.SQLite3"),
            ("data/sessions", "data/sessions"),
            ("/var/lib/app/sessions", "/var/lib/app/sessions"),
            ("C:\\app\\sessions", "C:\\app\\sessions"),
            ("C://sessions.db", "C://sessions.db"),
            (":memory:", ":memory:"),
            ("file:sessions.db?mode=rwc", "file:sessions.db?mode=rwc"),
        ] {
            assert_eq!(sqlite_path(url).unwrap(), path, "{url}");
        }
    }

    #[test]
    fn other_values_are_refused_naming_the_value_and_the_forms() {
        for (url, why) in [
            ("test", "neither a URL nor a path"),
            (".db", "neither a URL nor a path"),
            ("postgres@127.0.0.1:5432/test", "without its scheme"),
            ("app:secret@db.example.com/app", "without its scheme"),
            ("redis://cache/0", "names no database"),
            ("sqlite://", "names no file"),
        ] {
            let Err(Error::Config(message)) = sqlite_path(url) else {
                panic!("{url} was read as a path");
            };
            assert!(message.contains(why), "{url}: {message}");
            assert!(message.contains("`sqlite://PATH`"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
        let Err(error) = sqlite_path("test") else {
            unreachable!()
        };
        assert!(error.to_string().contains("`test`"), "{error}");
    }
}
