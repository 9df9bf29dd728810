//! Connecting to MySQL and MariaDB: the URL's `ssl-mode` and `ssl-ca`,
//! read as the MySQL clients and sqlx read them, TLS through mysql_async's
//! rustls, and errors that say whether trying again can help.

use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncMysqlConnection;
use mysql_async::{DriverError, IoError, Opts, OptsBuilder, SslOpts};

use crate::backend::connect_error::{unknown_host, ConnectFailure};
use crate::backend::connect_url::{last, take_parameters};
use crate::backend::tls::{describe_tls_error, root_certificates, TrustedRoots, Verification};
use crate::error::with_causes;

/// How the store connects: the driver's options, TLS included, read once
/// from the URL.
#[derive(Debug, Clone)]
pub(super) struct ConnectSettings {
    opts: Opts,
    /// `preferred`: TLS when the server offers it, plain otherwise.
    fall_back_to_plain: bool,
    roots: TrustedRoots,
    /// The `ssl-mode` as the URL spelled it, for messages.
    ssl_mode: String,
}

/// Reads `url`: a URL the driver cannot read, an unknown `ssl-mode` or an
/// unreadable `ssl-ca` is an error here, before any connection is tried.
pub(super) fn read_url(url: &str) -> Result<ConnectSettings, String> {
    let (rest, taken) = take_parameters(url, &["ssl-mode", "ssl-ca"])
        .map_err(|error| format!("cannot read the MySQL URL: {error}"))?;
    let opts = Opts::from_url(&rest)
        .map_err(|error| format!("cannot read the MySQL URL: {}", with_causes(&error)))?;
    let roots = match last(&taken, "ssl-ca") {
        None | Some("") => None,
        Some(path) => Some(TrustedRoots::File(path.into())),
    };
    // Without `ssl-mode`, connections stay plain, as they were before the
    // store read it; the `mysql` client would prefer TLS.
    let ssl_mode = last(&taken, "ssl-mode").unwrap_or("disabled").to_owned();
    let verification = match ssl_mode.to_ascii_lowercase().as_str() {
        "disabled" => None,
        "preferred" => Some(Verification::None),
        // As libpq's `require`: a CA given is a CA to check against.
        "required" if roots.is_some() => Some(Verification::Chain),
        "required" => Some(Verification::None),
        "verify_ca" => Some(Verification::Chain),
        "verify_identity" => Some(Verification::ChainAndName),
        _ => {
            return Err(format!(
                "ssl-mode={ssl_mode} is not one of disabled, preferred, required, verify_ca, \
                 verify_identity"
            ))
        }
    };
    let roots = roots.unwrap_or(TrustedRoots::Platform);
    let tls = match verification {
        None => None,
        Some(verification) => Some(
            ssl_opts(verification, &roots)
                .map_err(|error| format!("ssl-mode={ssl_mode}: {error}"))?,
        ),
    };
    let opts = OptsBuilder::from_opts(opts)
        // As diesel-async's own `establish`: it caches statements itself,
        // and counts matched rows, not changed ones, as PostgreSQL does.
        .stmt_cache_size(0)
        .client_found_rows(true)
        .ssl_opts(tls)
        .into();
    Ok(ConnectSettings {
        opts,
        fall_back_to_plain: ssl_mode.eq_ignore_ascii_case("preferred"),
        roots,
        ssl_mode,
    })
}

/// mysql_async's TLS options for `verification` against `roots`.
fn ssl_opts(verification: Verification, roots: &TrustedRoots) -> Result<SslOpts, String> {
    Ok(match verification {
        // mysql_async builds its verifier, unused here, even so, and that
        // needs a root: its built-in ones serve.
        Verification::None => SslOpts::default().with_danger_accept_invalid_certs(true),
        Verification::Chain => {
            // mysql_async skips the name check by looking for
            // "NotValidForName" in the error's text, which rustls 0.23
            // no longer prints; it would refuse every certificate that
            // does not name the host.
            return Err(
                "verify_ca is not supported on MySQL: its driver cannot check the \
                        certificate's chain without its name; use verify_identity, with a \
                        certificate that names the host"
                    .to_owned(),
            );
        }
        Verification::ChainAndName => SslOpts::default()
            .with_disable_built_in_roots(true)
            .with_root_certs(
                root_certificates(roots)?
                    .into_iter()
                    .map(|certificate| certificate.to_vec().into())
                    .collect(),
            ),
    })
}

/// Opens one connection as `settings` say.
pub(super) async fn open(
    settings: &ConnectSettings,
) -> Result<AsyncMysqlConnection, ConnectionError> {
    install_crypto_provider();
    let connection = match mysql_async::Conn::new(settings.opts.clone()).await {
        Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer))
            if settings.fall_back_to_plain =>
        {
            let plain = OptsBuilder::from_opts(settings.opts.clone()).ssl_opts(None);
            mysql_async::Conn::new(plain).await
        }
        connected => connected,
    }
    .map_err(|error| classify(&error, settings).into_connection_error())?;
    AsyncMysqlConnection::try_from(connection).await
}

/// mysql_async builds its TLS configuration with rustls's process-wide
/// provider, which rustls picks by itself only when one provider is
/// compiled in: an app that also links aws-lc-rs would panic there.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile; either serves.
        let _ = Arc::unwrap_or_clone(crate::backend::tls::provider()).install_default();
    }
}

/// Whether a failed connection attempt can succeed if tried again.
fn classify(error: &mysql_async::Error, settings: &ConnectSettings) -> ConnectFailure {
    let message = with_causes(error);
    match error {
        mysql_async::Error::Server(server) => match server.code {
            // Access denied (1044, 1045, 1698), unknown database (1049),
            // host not allowed (1130), an auth plugin the client lacks
            // (1251), secure transport required (MySQL 3159, MariaDB 4031).
            // MariaDB answers a plain login to a server that requires TLS
            // with 1045, as it does a wrong password.
            1045 if settings.opts.ssl_opts().is_none() => ConnectFailure::permanent(format!(
                "{message} (if the server requires TLS, add ssl-mode=REQUIRED or stronger to \
                 the URL)"
            )),
            1044 | 1045 | 1049 | 1130 | 1251 | 1698 | 3159 | 4031 => {
                ConnectFailure::permanent(message)
            }
            _ => ConnectFailure::transient(message),
        },
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => {
            ConnectFailure::permanent(format!(
                "the server does not accept TLS, which ssl-mode={} requires",
                settings.ssl_mode
            ))
        }
        mysql_async::Error::Io(IoError::Io(io)) => {
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                ConnectFailure::permanent(format!(
                    "TLS with the server: {}",
                    describe_tls_error(tls, &settings.roots)
                ))
            } else if unknown_host(io) {
                ConnectFailure::permanent(format!("unknown host: {message}"))
            } else {
                ConnectFailure::transient(message)
            }
        }
        mysql_async::Error::Io(IoError::Tls(_)) | mysql_async::Error::Url(_) => {
            ConnectFailure::permanent(message)
        }
        _ => ConnectFailure::transient(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modes_are_read_in_any_case() {
        for url in [
            "mysql://root@h/d",
            "mysql://root@h/d?ssl-mode=DISABLED",
            "mysql://root@h/d?ssl-mode=Preferred",
            "mysql://root@h/d?ssl-mode=required",
        ] {
            read_url(url).unwrap_or_else(|error| panic!("{url}: {error}"));
        }
        let settings = read_url("mysql://root@h/d?ssl-mode=REQUIRED").unwrap();
        assert!(settings.opts.ssl_opts().is_some());
        assert!(!settings.fall_back_to_plain);
        let settings = read_url("mysql://root@h/d").unwrap();
        assert!(settings.opts.ssl_opts().is_none());
    }

    #[test]
    fn an_unknown_mode_or_parameter_or_a_missing_ca_file_is_refused() {
        let error = read_url("mysql://root@h/d?ssl-mode=strict").unwrap_err();
        assert!(error.contains("ssl-mode=strict is not one of"), "{error}");
        let error =
            read_url("mysql://root@h/d?ssl-mode=verify_identity&ssl-ca=/nonexistent/ca.pem")
                .unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let error = read_url("mysql://root@h/d?sslmode=require").unwrap_err();
        assert!(error.contains("cannot read the MySQL URL"), "{error}");
    }
}
