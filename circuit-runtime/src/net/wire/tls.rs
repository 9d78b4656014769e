//! TLS with rustls (the `ring` provider): a server's certificate and key
//! (`--tls-cert`, `--tls-key`, and `--client-ca` to require client
//! certificates), the trust of clients (`--ca`, the system's roots
//! otherwise), and failed checks said in words (unknown issuer, a name
//! mismatch, an expired certificate). Built with the `tls` feature;
//! `tls_absent.rs` stands in for it without.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::MaybeTlsStream;

pub use tokio_rustls::TlsAcceptor;

/// A server's side of a connection once its TLS handshake is done.
pub(crate) type Secure<T> = tokio_rustls::server::TlsStream<T>;

use crate::base::options::TlsFiles;

/// The provider every configuration uses.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file, or why not, naming the file.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|err| format!("cannot read certificates from {}: {err}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|err| format!("{} is not a PEM certificate file: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// The private key of a PEM file, or why not, naming the file.
fn key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|err| format!("cannot read a private key from {}: {err}", path.display()))
}

/// A store of the CA certificates in `path`.
fn roots_of(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots
            .add(cert)
            .map_err(|err| format!("{} is not a CA certificate: {err}", path.display()))?;
    }
    Ok(roots)
}

/// The server's TLS acceptor, when it has a certificate.
///
/// # Errors
/// A file that cannot be read or is not what it should be, named; a key
/// that does not go with the certificate.
pub fn acceptor(files: &TlsFiles) -> Result<Option<TlsAcceptor>, String> {
    let (cert, key_file) = match (&files.cert, &files.key) {
        (None, None) => {
            if files.client_ca.is_some() {
                return Err("--client-ca needs --tls-cert and --tls-key: client certificates are checked over TLS".to_owned());
            }
            return Ok(None);
        }
        (Some(cert), Some(key_file)) => (cert, key_file),
        _ => return Err("--tls-cert and --tls-key go together".to_owned()),
    };
    let chain = certificates(cert)?;
    let key = key(key_file)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots_of(ca)?), provider())
                    .build()
                    .map_err(|err| format!("{}: {err}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(|err| {
        format!(
            "{} and {} do not make a certificate and its key: {err}",
            cert.display(),
            key_file.display()
        )
    })?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// The client configuration of this process, once chosen (`--ca`, a client certificate).
static CLIENT: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Chooses what this process's clients trust and present: `--ca` (else the
/// system's roots) and, for mutual TLS, `--tls-cert`/`--tls-key`. The
/// first choice stays.
///
/// # Errors
/// A file that cannot be read or is not what it should be, named.
pub fn use_client(files: &TlsFiles) -> Result<(), String> {
    // The system's roots are read at the first wss:// connection, if any.
    if files.ca.is_none() && files.cert.is_none() {
        return Ok(());
    }
    let config = client_config(files)?;
    let _ = CLIENT.set(Arc::new(config));
    Ok(())
}

/// The client configuration: the one chosen, or the system's roots.
pub(crate) fn client() -> Result<Arc<ClientConfig>, String> {
    if let Some(config) = CLIENT.get() {
        return Ok(Arc::clone(config));
    }
    let config = client_config(&TlsFiles::default())?;
    Ok(Arc::clone(CLIENT.get_or_init(|| Arc::new(config))))
}

/// A client configuration for `files`.
fn client_config(files: &TlsFiles) -> Result<ClientConfig, String> {
    let roots = match &files.ca {
        Some(ca) => roots_of(ca)?,
        None => {
            let mut roots = RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            roots
        }
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots);
    match (&files.cert, &files.key) {
        (Some(cert), Some(key_file)) => builder
            .with_client_auth_cert(certificates(cert)?, key(key_file)?)
            .map_err(|err| {
                format!(
                    "{} and {} do not make a certificate and its key: {err}",
                    cert.display(),
                    key_file.display()
                )
            }),
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// Why a TLS handshake failed, in words; `refused` when it was the other
/// side's certificate (or ours) that failed, which trying again cannot mend.
pub(crate) struct Failed {
    /// What went wrong.
    pub(crate) reason: String,
    /// Whether it is a refusal rather than an absence.
    pub(crate) refused: bool,
}

/// The TLS client side of `tcp`, the server's certificate checked against `name`.
pub(crate) async fn connect(
    tcp: TcpStream,
    name: &str,
) -> Result<MaybeTlsStream<TcpStream>, Failed> {
    let config = client().map_err(|reason| Failed {
        reason,
        refused: true,
    })?;
    let server_name = ServerName::try_from(name.to_owned()).map_err(|_| Failed {
        reason: format!("{name:?} is not a name a certificate can be for"),
        refused: true,
    })?;
    TlsConnector::from(config)
        .connect(server_name, tcp)
        .await
        .map(MaybeTlsStream::Rustls)
        .map_err(|err| explain(&err, name))
}

/// A handshake's I/O error in words.
fn explain(err: &std::io::Error, name: &str) -> Failed {
    let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return Failed {
            reason: format!("the TLS handshake failed: {err}"),
            refused: false,
        };
    };
    use rustls::CertificateError as Cert;
    let reason = match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer => "the server's certificate is not signed by a CA we trust (unknown issuer; give its CA with --ca)".to_owned(),
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                format!("the server's certificate is not for {name:?} (name mismatch)")
            }
            Cert::Expired | Cert::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".to_owned()
            }
            other => format!("the server's certificate was refused: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS handshake ({alert:?}; a client certificate may be required: --tls-cert, --tls-key)")
        }
        other => format!("the TLS handshake failed: {other}"),
    };
    Failed {
        reason,
        refused: true,
    }
}
