//! Connecting to PostgreSQL: the URL's `sslmode` and `sslrootcert`, read
//! as libpq reads them, TLS through rustls, the `pgbouncer` switch, and
//! errors that say whether trying again can help.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr as _;
use std::sync::Arc;
use std::task::{Context, Poll};

use diesel::connection::CacheSize;
use diesel::ConnectionError;
use diesel_async::pooled_connection::SetupCallback;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;

use crate::backend::connect_error::{unknown_host, ConnectFailure};
use crate::backend::connect_url::{last, take_parameters};
use crate::backend::tls::{client_config, handshake_failure, TrustedRoots, Verification};
use crate::backend::PoolOptions;
use crate::error::with_causes;
use crate::Error;

/// How the store connects: the driver's configuration, without the
/// parameters it does not know, and the TLS the URL asks for.
#[derive(Clone)]
struct ConnectSettings {
    config: tokio_postgres::Config,
    tls: RustlsConnector,
    /// The `sslmode` as written, for messages.
    sslmode: &'static str,
    /// Whether a transaction-mode pooler stands between the store and the
    /// server: see [`PoolOptions::pgbouncer`].
    pgbouncer: bool,
}

/// The pool's connection setup for `url`, read once: a URL the store
/// cannot read, an unknown `sslmode` or an unreadable `sslrootcert` fails
/// here, before any connection is tried.
pub(super) fn setup(
    url: &str,
    options: &PoolOptions,
) -> Result<SetupCallback<AsyncPgConnection>, Error> {
    let mut settings = read_url(url).map_err(Error::backend_message)?;
    settings.pgbouncer |= options.pgbouncer;
    let settings = Arc::new(settings);
    Ok(Box::new(move |_url| {
        let settings = Arc::clone(&settings);
        Box::pin(async move { establish(&settings).await })
    }))
}

/// What the store adds to an error that a transaction-mode pooler most
/// likely caused.
pub(super) const PGBOUNCER_HINT: &str =
    "behind a transaction-mode pooler? add `pgbouncer=true` to the URL";

/// Whether the server's message is the one of a prepared statement that a
/// transaction-mode pooler sent to another server connection than the one
/// that prepared it, or to one where another client left its own.
pub(super) fn names_a_pooler(message: &str) -> bool {
    message.starts_with("prepared statement \"")
        && (message.ends_with("does not exist") || message.ends_with("already exists"))
}

/// Whether `url`, or `options`, says that a transaction-mode pooler stands
/// in front of the server.
pub(super) fn behind_pgbouncer(url: &str, options: &PoolOptions) -> Result<bool, Error> {
    let settings = read_url(url).map_err(Error::backend_message)?;
    Ok(settings.pgbouncer || options.pgbouncer)
}

fn read_url(url: &str) -> Result<ConnectSettings, String> {
    let (rest, taken) = take_parameters(url, &["sslmode", "sslrootcert", "pgbouncer"])
        .map_err(|error| format!("cannot read the PostgreSQL URL: {error}"))?;
    let pgbouncer = match last(&taken, "pgbouncer") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(format!("pgbouncer={other} is not `true` or `false`")),
    };
    let mut config = tokio_postgres::Config::from_str(&rest)
        .map_err(|error| format!("cannot read the PostgreSQL URL: {}", with_causes(&error)))?;
    let roots = match last(&taken, "sslrootcert") {
        None | Some("") => None,
        // libpq 16's word for the platform's store.
        Some("system") => Some(TrustedRoots::Platform),
        Some(path) => Some(TrustedRoots::File(path.into())),
    };
    // Without `sslmode`, connections stay plain, as they were before the
    // store read it; libpq would `prefer` TLS.
    let sslmode = last(&taken, "sslmode").unwrap_or("disable");
    let (mode, verification, sslmode) = match sslmode {
        "disable" => (SslMode::Disable, Verification::None, "disable"),
        "prefer" => (SslMode::Prefer, Verification::None, "prefer"),
        // libpq: `require` with a root certificate checks the chain, as
        // `verify-ca` does.
        "require" if roots.is_some() => (SslMode::Require, Verification::Chain, "require"),
        "require" => (SslMode::Require, Verification::None, "require"),
        "verify-ca" => (SslMode::Require, Verification::Chain, "verify-ca"),
        "verify-full" => (SslMode::Require, Verification::ChainAndName, "verify-full"),
        "allow" => {
            return Err(
                "sslmode=allow (plain first, TLS if refused) is not supported; \
                        use `prefer` or a stronger mode"
                    .to_owned(),
            )
        }
        other => {
            return Err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
            ))
        }
    };
    config.ssl_mode(mode);
    let roots = roots.unwrap_or(TrustedRoots::Platform);
    // A plain connection never uses the configuration; building it would
    // read the platform's store for nothing.
    let config_tls = if mode == SslMode::Disable {
        client_config(Verification::None, &roots)
    } else {
        client_config(verification, &roots)
    }
    .map_err(|error| format!("sslmode={sslmode}: {error}"))?;
    Ok(ConnectSettings {
        config,
        tls: RustlsConnector {
            connector: tokio_rustls::TlsConnector::from(config_tls),
            roots,
        },
        sslmode,
        pgbouncer,
    })
}

/// Connects through tokio-postgres itself: diesel-async's `establish`
/// keeps only the top of its error ("error connecting to server"), and a
/// failover's log line needs the reason below it ("Connection refused",
/// "session is read-only").
async fn establish(settings: &ConnectSettings) -> Result<AsyncPgConnection, ConnectionError> {
    let (client, connection) = settings
        .config
        .connect(settings.tls.clone())
        .await
        .map_err(|error| classify(&error, settings.sslmode).into_connection_error())?;
    if !settings.pgbouncer {
        return AsyncPgConnection::try_from_client_and_connection(client, connection)
            .await
            .map_err(|error| match error.to_string() {
                message if names_a_pooler(&message) => {
                    ConnectionError::BadConnection(format!("{message} ({PGBOUNCER_HINT})"))
                }
                _ => error,
            });
    }
    // diesel-async sets the time zone and encoding with prepared
    // statements as it takes the client over. Through a transaction-mode
    // pooler, a statement's prepare and its execution may reach different
    // server connections unless a transaction holds one: so a transaction
    // is opened first, and the statement cache, whose statements would
    // outlive it, is turned off before it commits. The connection's task
    // is spawned here, since the transaction starts before diesel-async
    // would spawn it. Its error needs no report of its own: the client's
    // next statement fails as a lost connection, which the store handles.
    tokio::spawn(async move {
        let _ended = connection.await;
    });
    let setup_failed = |error: tokio_postgres::Error| {
        ConnectionError::CouldntSetupConfiguration(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UnableToSendCommand,
            Box::new(with_causes(&error)),
        ))
    };
    client.batch_execute("BEGIN").await.map_err(setup_failed)?;
    let mut connection = AsyncPgConnection::try_from(client).await?;
    connection.set_prepared_statement_cache_size(CacheSize::Disabled);
    connection
        .batch_execute("COMMIT")
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(connection)
}

/// Whether a failed connection attempt can succeed if tried again.
fn classify(error: &tokio_postgres::Error, sslmode: &str) -> ConnectFailure {
    let message = with_causes(error);
    if let Some(code) = error.code() {
        // Class 28 is a refused login: a wrong password, a role that does
        // not exist, no `pg_hba.conf` entry. 3D000: no such database.
        let permanent = code.code().starts_with("28") || *code == SqlState::INVALID_CATALOG_NAME;
        return if permanent {
            ConnectFailure::permanent(message)
        } else {
            ConnectFailure::transient(message)
        };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(failure) = cause.downcast_ref::<ConnectFailure>() {
            return failure.clone();
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if unknown_host(io) {
                return ConnectFailure::permanent(format!("unknown host: {message}"));
            }
        }
        source = cause.source();
    }
    if message.contains("server does not support TLS") {
        return ConnectFailure::permanent(format!(
            "the server does not accept TLS, which sslmode={sslmode} requires: {message}"
        ));
    }
    ConnectFailure::transient(message)
}

/// tokio-postgres's TLS through rustls.
#[derive(Clone)]
struct RustlsConnector {
    connector: tokio_rustls::TlsConnector,
    roots: TrustedRoots,
}

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = ConnectFailure;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, ConnectFailure> {
        // A Unix socket has no host name: the server refuses TLS on it,
        // and the handshake is never tried; `None` fails it if it were.
        Ok(RustlsConnect {
            connector: self.connector.clone(),
            server_name: ServerName::try_from(host.to_owned()).ok(),
            host: host.to_owned(),
            roots: self.roots.clone(),
        })
    }
}

/// One TLS handshake, with one host.
struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
    host: String,
    roots: TrustedRoots,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream, ConnectFailure>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let Some(server_name) = self.server_name else {
                return Err(ConnectFailure::permanent(format!(
                    "`{}` is not a host name TLS can check",
                    self.host
                )));
            };
            match self.connector.connect(server_name, stream).await {
                Ok(stream) => Ok(RustlsStream(Box::new(stream))),
                Err(error) => {
                    let failure = handshake_failure(&error, &self.roots);
                    let message = format!("TLS with `{}`: {}", self.host, failure.message);
                    Err(if failure.permanent {
                        ConnectFailure::permanent(message)
                    } else {
                        ConnectFailure::transient(message)
                    })
                }
            }
        })
    }
}

/// A TLS connection to the server.
struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM's `tls-server-end-point` binding hashes the certificate
        // with its signature's hash, which would take an X.509 parser;
        // without it, SCRAM authenticates as it does over a plain socket.
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(context, buffer)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(url: &str) -> String {
        match read_url(url) {
            Ok(_) => panic!("{url} was read"),
            Err(error) => error,
        }
    }

    #[test]
    fn the_modes_map_onto_what_they_check() {
        for (url, mode) in [
            ("postgres://h/d", SslMode::Disable),
            ("postgres://h/d?sslmode=prefer", SslMode::Prefer),
            ("postgres://h/d?sslmode=require", SslMode::Require),
            ("postgres://h/d?sslmode=verify-full", SslMode::Require),
            ("host=h dbname=d sslmode=require", SslMode::Require),
        ] {
            let settings = read_url(url).unwrap_or_else(|error| panic!("{url}: {error}"));
            assert_eq!(settings.config.get_ssl_mode(), mode, "{url}");
        }
    }

    #[test]
    fn the_pgbouncer_switch_is_read_and_kept_from_the_driver() {
        let settings = read_url("postgres://h/d?pgbouncer=true&sslmode=disable").unwrap();
        assert!(settings.pgbouncer);
        assert!(
            !read_url("postgres://h/d?pgbouncer=false")
                .unwrap()
                .pgbouncer
        );
        assert!(!read_url("postgres://h/d").unwrap().pgbouncer);
        assert!(
            read_url("host=h dbname=d pgbouncer=true")
                .unwrap()
                .pgbouncer
        );
        let error = error_of("postgres://h/d?pgbouncer=yes");
        assert!(
            error.contains("pgbouncer=yes is not `true` or `false`"),
            "{error}"
        );
        let options = PoolOptions::default().with_pgbouncer(true);
        assert!(behind_pgbouncer("postgres://h/d", &options).unwrap());
    }

    #[test]
    fn an_unknown_mode_or_a_missing_ca_file_is_refused_at_once() {
        let error = error_of("postgres://h/d?sslmode=strict");
        assert!(error.contains("sslmode=strict is not one of"), "{error}");
        let error = error_of("postgres://h/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem");
        assert!(
            error.contains("cannot read the CA file `/nonexistent/ca.pem`"),
            "{error}"
        );
        let error = error_of("postgres://h/d?sslmode=require&sslrootcert=/nonexistent/ca.pem");
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let error = error_of("postgres://h/d?connect_timeout=soon");
        assert!(error.contains("cannot read the PostgreSQL URL"), "{error}");
    }
}
