//! TLS to PostgreSQL and MySQL through rustls, with ring as its crypto
//! provider: what each `sslmode` / `ssl-mode` checks of the server's
//! certificate, the roots it checks against, and messages that say which
//! certificate failed and why.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

#[cfg(feature = "postgres")]
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
#[cfg(feature = "postgres")]
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
#[cfg(feature = "postgres")]
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
#[cfg(feature = "postgres")]
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{CertificateError, OtherError};
#[cfg(feature = "postgres")]
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore};

/// What a TLS connection checks of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Encrypts, and takes any certificate (`require`, `required`).
    None,
    /// The certificate chains to a trusted CA; any host name
    /// (`verify-ca`, `verify_ca`).
    Chain,
    /// The certificate chains to a trusted CA and names the host
    /// (`verify-full`, `verify_identity`).
    ChainAndName,
}

/// The CAs a verifying connection trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrustedRoots {
    /// The platform's store (`/etc/ssl/certs` and the like).
    Platform,
    /// Only the CAs in this PEM file (`sslrootcert`, `ssl-ca`).
    File(PathBuf),
}

impl fmt::Display for TrustedRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedRoots::Platform => f.write_str("a CA this system trusts"),
            TrustedRoots::File(path) => write!(f, "the CA in `{}`", path.display()),
        }
    }
}

/// The crypto provider of every TLS connection the crate makes.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    // rustls 0.23.48 deprecates ring's provider for its lack of
    // post-quantum key exchange. ring stays: its build is small and needs
    // only a C compiler; aws-lc-rs, which has that key exchange, builds
    // the whole aws-lc C library.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of the platform's store, read once per process: it
/// is hundreds of files, and every pooled connection would read them again.
fn platform_roots() -> Result<&'static [CertificateDer<'static>], String> {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err(
            "this system's certificate store holds no CA certificate; name the CA \
                    that signed the server's certificate in the URL"
                .to_owned(),
        );
    }
    Ok(roots)
}

/// The certificates of a PEM file, or what is wrong with it.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|error| format!("cannot read the CA file `{}`: {error}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("the CA file `{}` is not PEM: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "the CA file `{}` holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The trusted certificates themselves, DER-encoded.
pub(crate) fn root_certificates(
    roots: &TrustedRoots,
) -> Result<Vec<CertificateDer<'static>>, String> {
    match roots {
        TrustedRoots::Platform => Ok(platform_roots()?.to_vec()),
        TrustedRoots::File(path) => read_ca_file(path),
    }
}

#[cfg(feature = "postgres")]
/// A rustls client configuration that checks what `verification` asks
/// against `roots`, and says which certificate failed and why.
pub(crate) fn client_config(
    verification: Verification,
    roots: &TrustedRoots,
) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let chain = match verification {
        Verification::None => None,
        Verification::Chain | Verification::ChainAndName => {
            let mut store = RootCertStore::empty();
            for certificate in root_certificates(roots)? {
                store.add(certificate).map_err(|error| {
                    format!("a CA certificate of {roots} cannot be used: {error}")
                })?;
            }
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                    .build()
                    .map_err(|error| {
                        format!("cannot check certificates against {roots}: {error}")
                    })?;
            Some(verifier)
        }
    };
    let verifier = ExplainingVerifier {
        chain,
        check_name: verification == Verification::ChainAndName,
        roots: roots.clone(),
        provider: provider.clone(),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(feature = "postgres")]
/// Checks the server's certificate as its mode asks, and turns a refusal
/// into a [`CertificateRejected`] that names the certificate.
#[derive(Debug)]
struct ExplainingVerifier {
    /// The chain check against the trusted roots; `None` takes any
    /// certificate.
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    roots: TrustedRoots,
    provider: Arc<CryptoProvider>,
}

#[cfg(feature = "postgres")]
impl ServerCertVerifier for ExplainingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            // webpki checks the name only once the chain holds.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(problem)) => {
                let rejected = CertificateRejected::new(end_entity, &problem, &self.roots);
                Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                    OtherError(Arc::new(rejected)),
                )))
            }
            Err(other) => Err(other),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The server's certificate failed its check: which one, and why.
#[derive(Debug, Clone)]
pub(crate) struct CertificateRejected(String);

#[cfg(feature = "postgres")]
impl CertificateRejected {
    fn new(
        certificate: &CertificateDer<'_>,
        problem: &CertificateError,
        roots: &TrustedRoots,
    ) -> Self {
        let named = match certificate_names(certificate) {
            Some(names) => format!(
                "the server's certificate (subject `{}`, issuer `{}`)",
                names.subject, names.issuer
            ),
            None => "the server's certificate".to_owned(),
        };
        CertificateRejected(explain_certificate_problem(&named, problem, roots))
    }
}

impl fmt::Display for CertificateRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertificateRejected {}

/// `certificate` (words naming it) failed `problem`, said for a reader
/// who must fix it.
fn explain_certificate_problem(
    certificate: &str,
    problem: &CertificateError,
    roots: &TrustedRoots,
) -> String {
    match problem {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            format!("{certificate} is not signed by {roots}")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("{certificate} does not name the host: {problem}")
        }
        other => format!("{certificate} is refused: {other}"),
    }
}

#[cfg(feature = "postgres")]
/// Why a TLS handshake failed, in words a reader can act on, with whether
/// trying again could help: a certificate or protocol refusal stays until
/// someone changes the server or the URL; a broken socket may not.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeFailure {
    pub(crate) message: String,
    pub(crate) permanent: bool,
}

#[cfg(feature = "postgres")]
/// Reads the failure of a handshake out of the I/O error rustls's streams
/// return, whose inner error is the `rustls::Error`.
pub(crate) fn handshake_failure(error: &std::io::Error, roots: &TrustedRoots) -> HandshakeFailure {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => HandshakeFailure {
            message: describe_tls_error(tls, roots),
            permanent: true,
        },
        None => HandshakeFailure {
            message: format!("the TLS handshake failed: {error}"),
            permanent: false,
        },
    }
}

/// A rustls error in words: the certificate problem a verifier of this
/// module described, or rustls's own.
pub(crate) fn describe_tls_error(error: &rustls::Error, roots: &TrustedRoots) -> String {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other))) => {
            match other.downcast_ref::<CertificateRejected>() {
                Some(rejected) => rejected.to_string(),
                None => format!("the server's certificate is refused: {other}"),
            }
        }
        rustls::Error::InvalidCertificate(problem) => {
            explain_certificate_problem("the server's certificate", problem, roots)
        }
        other => format!("the TLS handshake failed: {other}"),
    }
}

#[cfg(feature = "postgres")]
/// The subject and issuer of a certificate, as `CN=…, O=…`.
struct CertificateNames {
    subject: String,
    issuer: String,
}

#[cfg(feature = "postgres")]
/// Reads the subject and issuer names out of a DER certificate:
/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
/// OPTIONAL, serialNumber, signature, issuer, validity, subject, … } … }`.
/// `None` for anything it cannot read; they only make a message clearer.
fn certificate_names(certificate: &[u8]) -> Option<CertificateNames> {
    let (_, certificate, _) = der_element(certificate)?;
    let (_, mut tbs, _) = der_element(certificate)?;
    let mut fields = Vec::new();
    while !tbs.is_empty() && fields.len() < 6 {
        let (tag, content, rest) = der_element(tbs)?;
        if tag != 0xA0 {
            fields.push(content);
        }
        tbs = rest;
    }
    // serialNumber, signature, issuer, validity, subject.
    Some(CertificateNames {
        issuer: distinguished_name(fields.get(2)?)?,
        subject: distinguished_name(fields.get(4)?)?,
    })
}

#[cfg(feature = "postgres")]
/// A `Name` (SEQUENCE OF SET OF SEQUENCE { type, value }) as `CN=…, O=…`,
/// with the attributes a reader recognises a certificate by.
fn distinguished_name(mut name: &[u8]) -> Option<String> {
    const LABELS: [(&[u8], &str); 4] = [
        (&[0x55, 0x04, 0x03], "CN"),
        (&[0x55, 0x04, 0x0A], "O"),
        (&[0x55, 0x04, 0x0B], "OU"),
        (&[0x55, 0x04, 0x06], "C"),
    ];
    let mut parts = Vec::new();
    while !name.is_empty() {
        let (_, mut set, rest) = der_element(name)?;
        name = rest;
        while !set.is_empty() {
            let (_, attribute, rest) = der_element(set)?;
            set = rest;
            let (_, oid, value) = der_element(attribute)?;
            let (_, text, _) = der_element(value)?;
            if let Some((_, label)) = LABELS.iter().find(|(known, _)| *known == oid) {
                parts.push(format!("{label}={}", String::from_utf8_lossy(text)));
            }
        }
    }
    Some(if parts.is_empty() {
        "(no common name)".to_owned()
    } else {
        parts.join(", ")
    })
}

#[cfg(feature = "postgres")]
/// One DER element at the start of `input`: its tag, its content and what
/// follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    /// A self-signed certificate, `CN=session test CA, O=session-runtime`.
    const CA_PEM: &str = include_str!("tls_test_ca.pem");

    #[cfg(feature = "postgres")]
    #[test]
    fn it_reads_the_subject_and_issuer_of_a_certificate() {
        let certificate = CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap();
        let names = certificate_names(&certificate).unwrap();
        assert_eq!(names.subject, "CN=session test CA, O=session-runtime");
        assert_eq!(names.issuer, names.subject);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn truncated_or_garbage_der_gives_no_names() {
        let certificate = CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap();
        for cut in [0, 1, 10, certificate.len() / 2] {
            assert!(certificate_names(&certificate[..cut]).is_none(), "{cut}");
        }
        assert!(certificate_names(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_none());
    }

    #[test]
    fn an_unreadable_ca_file_is_named() {
        let error = read_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }

    #[test]
    fn an_unknown_issuer_names_the_trusted_ca_file() {
        let message = explain_certificate_problem(
            "the server's certificate",
            &CertificateError::UnknownIssuer,
            &TrustedRoots::File("/etc/ca.pem".into()),
        );
        assert_eq!(
            message,
            "the server's certificate is not signed by the CA in `/etc/ca.pem`"
        );
    }
}
