//! Command-line and environment configuration, parsed by hand.

use std::fmt;
use std::net::SocketAddr;

/// The usage text printed for `--help` and after a bad argument.
pub const USAGE: &str = "\
usage: example-axum-demo [--database-url <url>] [--listen <addr>]

  --database-url <url>  postgres://... runs on PostgreSQL, mysql://... or
                        mariadb://... on MySQL or MariaDB, a file path or
                        sqlite://... on SQLite
                        (default: $DATABASE_URL, else demo.db)
  --listen <addr>       the address to serve on (default: 127.0.0.1:3000)
  -h, --help            print this text";

/// The SQLite file used when no database is named.
pub const DEFAULT_DATABASE: &str = "demo.db";
/// The address served on when none is named.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// What the server runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The database holding users and sessions; its scheme picks the
    /// backend when the store connects.
    pub database_url: String,
    /// The address to serve on.
    pub listen: SocketAddr,
}

/// Why the arguments were not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for; not a failure, but nothing to run.
    Help,
    /// A flag came without its value.
    MissingValue(&'static str),
    /// An argument that is not a known flag.
    UnknownArgument(String),
    /// `--listen` is not an `ip:port` address.
    InvalidListen(String),
    /// The database URL is empty.
    EmptyDatabaseUrl,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Help => f.write_str("help requested"),
            ConfigError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            ConfigError::UnknownArgument(argument) => write!(f, "unknown argument `{argument}`"),
            ConfigError::InvalidListen(value) => {
                write!(
                    f,
                    "--listen `{value}` is not an address like 127.0.0.1:3000"
                )
            }
            ConfigError::EmptyDatabaseUrl => f.write_str("the database URL is empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process's arguments and `DATABASE_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        Self::parse(std::env::args().skip(1), database_url)
    }

    /// Parses arguments (without the program name). `--database-url` wins
    /// over `database_url_env`, which wins over [`DEFAULT_DATABASE`].
    ///
    /// ```
    /// use example_axum_demo::Config;
    ///
    /// let args = ["--database-url", "postgres://postgres@127.0.0.1/test"].map(String::from);
    /// let config = Config::parse(args, Some("ignored.db".into())).unwrap();
    /// assert_eq!(config.database_url, "postgres://postgres@127.0.0.1/test");
    /// ```
    pub fn parse<I>(args: I, database_url_env: Option<String>) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut database_url = None;
        let mut listen = None;
        let mut args = args.into_iter();
        while let Some(argument) = args.next() {
            let (flag, inline_value) = match argument.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (argument.as_str(), None),
            };
            let (flag, slot) = match flag {
                "-h" | "--help" => return Err(ConfigError::Help),
                "--database-url" => ("--database-url", &mut database_url),
                "--listen" => ("--listen", &mut listen),
                _ => return Err(ConfigError::UnknownArgument(argument)),
            };
            let value = inline_value
                .or_else(|| args.next())
                .ok_or(ConfigError::MissingValue(flag))?;
            *slot = Some(value);
        }
        let database_url = database_url
            .or(database_url_env)
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        if database_url.trim().is_empty() {
            return Err(ConfigError::EmptyDatabaseUrl);
        }
        let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen
            .parse()
            .map_err(|_| ConfigError::InvalidListen(listen))?;
        Ok(Config {
            database_url,
            listen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<Config, ConfigError> {
        Config::parse(args.iter().map(|a| a.to_string()), env.map(String::from))
    }

    #[test]
    fn defaults_to_a_sqlite_file_on_localhost() {
        let config = parse(&[], None).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE);
        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
    }

    #[test]
    fn flag_beats_environment() {
        let config = parse(
            &["--database-url=mysql://root@127.0.0.1:3306/test"],
            Some("postgres://x/y"),
        )
        .unwrap();
        assert_eq!(config.database_url, "mysql://root@127.0.0.1:3306/test");
        let config = parse(&[], Some("postgresql://x/y")).unwrap();
        assert_eq!(config.database_url, "postgresql://x/y");
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert_eq!(
            parse(&["--listen"], None),
            Err(ConfigError::MissingValue("--listen"))
        );
        assert_eq!(
            parse(&["--database-url"], None),
            Err(ConfigError::MissingValue("--database-url"))
        );
        assert_eq!(
            parse(&["--listen", "nowhere"], None),
            Err(ConfigError::InvalidListen("nowhere".into()))
        );
        assert_eq!(
            parse(&["--verbose"], None),
            Err(ConfigError::UnknownArgument("--verbose".into()))
        );
        assert_eq!(
            parse(&["--database-url", ""], None),
            Err(ConfigError::EmptyDatabaseUrl)
        );
        assert_eq!(parse(&["--help"], None), Err(ConfigError::Help));
    }
}
