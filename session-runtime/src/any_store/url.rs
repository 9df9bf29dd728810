//! Which backend a database URL names, among those this crate is built
//! with.

use crate::error::Error;

/// The backends a URL can name, and the cargo feature of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UrlBackend {
    Sqlite,
    Postgres,
    Mysql,
}

impl UrlBackend {
    /// The backend `url` names: `postgres://` or `postgresql://`,
    /// `mysql://` or `mariadb://`, and for SQLite `sqlite://`, `file:`,
    /// `:memory:` or a path. Another scheme names none.
    pub(super) fn of(url: &str) -> Result<Self, Error> {
        let Some((scheme, _)) = url.split_once("://") else {
            return Ok(UrlBackend::Sqlite);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(UrlBackend::Postgres),
            "mysql" | "mariadb" => Ok(UrlBackend::Mysql),
            "sqlite" | "file" => Ok(UrlBackend::Sqlite),
            // A Windows path such as `C:\sessions.db` has no `://`; a
            // scheme of one letter is a drive all the same.
            drive if drive.len() == 1 => Ok(UrlBackend::Sqlite),
            _ => Err(Error::backend_message(format!(
                "the database URL's scheme `{scheme}://` names no backend; a session store takes \
                 {}",
                enabled_schemes()
            ))),
        }
    }

    /// The error for a URL of a backend this crate is built without.
    pub(super) fn not_built(self) -> Error {
        let (name, feature) = match self {
            UrlBackend::Sqlite => ("SQLite", "sqlite"),
            UrlBackend::Postgres => ("PostgreSQL", "postgres"),
            UrlBackend::Mysql => ("MySQL", "mysql"),
        };
        Error::backend_message(format!(
            "the database URL names {name}, but session-runtime is built without its \
             `{feature}` feature; this build takes {}",
            enabled_schemes()
        ))
    }
}

/// The URLs this build takes, for messages.
fn enabled_schemes() -> String {
    let schemes: Vec<&str> = [
        (cfg!(feature = "sqlite"), "a SQLite path or `sqlite://`"),
        (cfg!(feature = "postgres"), "`postgres://`"),
        (cfg!(feature = "mysql"), "`mysql://` (or `mariadb://`)"),
    ]
    .into_iter()
    .filter_map(|(enabled, schemes)| enabled.then_some(schemes))
    .collect();
    match schemes.as_slice() {
        [] => "none: session-runtime is built without a backend feature".to_owned(),
        [only] => format!("{only} only"),
        [first, last] => format!("{first} or {last}"),
        [first @ .., last] => format!("{}, or {last}", first.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_names_the_backend() {
        for (url, backend) in [
            ("sessions.db", UrlBackend::Sqlite),
            ("/var/lib/app/sessions.db", UrlBackend::Sqlite),
            (":memory:", UrlBackend::Sqlite),
            ("sqlite://sessions.db", UrlBackend::Sqlite),
            ("file:sessions.db?mode=rwc", UrlBackend::Sqlite),
            ("C://sessions.db", UrlBackend::Sqlite),
            ("postgres://app@db/app", UrlBackend::Postgres),
            ("PostgreSQL://app@db/app", UrlBackend::Postgres),
            ("mysql://root@db/app", UrlBackend::Mysql),
            ("mariadb://root@db/app", UrlBackend::Mysql),
        ] {
            assert_eq!(UrlBackend::of(url).unwrap(), backend, "{url}");
        }
        let error = UrlBackend::of("redis://cache/0").unwrap_err().to_string();
        assert!(error.contains("`redis://` names no backend"), "{error}");
    }

    #[test]
    fn a_backend_built_without_names_its_feature() {
        let error = UrlBackend::Mysql.not_built().to_string();
        assert!(
            error.contains("the database URL names MySQL, but session-runtime is built without its `mysql` feature"),
            "{error}"
        );
        assert!(error.contains("this build takes"), "{error}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_postgres_url_without_the_feature_is_refused() {
        #[derive(crate::SessionStore, Debug)]
        #[session(crate = crate, table = http_sessions, backend = any)]
        pub struct AppSession {}

        let error = AppSessionStore::connect("postgres://localhost/app").unwrap_err();
        assert!(error.to_string().contains("`postgres` feature"), "{error}");
    }
}
