//! What stands in for `tls.rs` in a build without circuit-runtime's `tls`
//! feature: no certificate is ever loaded, and asking for one (a
//! `--tls-cert`, a `--ca`, a `wss://` peer) says which feature is missing.

use std::io;

use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;

use crate::base::features::{missing, Feature};
use crate::base::options::TlsFiles;

/// A secured connection is never made in this build: one would be the stream itself.
pub(crate) type Secure<T> = T;

/// No TLS acceptor exists in this build: the type has no values.
#[derive(Clone, Debug)]
pub enum TlsAcceptor {}

impl TlsAcceptor {
    /// Never called: there is no acceptor to call it on.
    ///
    /// # Errors
    /// None: it cannot run.
    pub async fn accept<T>(&self, _stream: T) -> io::Result<T> {
        match *self {}
    }
}

/// No acceptor; an error naming the feature when a certificate is given.
///
/// # Errors
/// Any of `--tls-cert`, `--tls-key`, `--client-ca` given.
pub fn acceptor(files: &TlsFiles) -> Result<Option<TlsAcceptor>, String> {
    if files.cert.is_some() || files.key.is_some() || files.client_ca.is_some() {
        return Err(missing(Feature::Tls, "--tls-cert"));
    }
    Ok(None)
}

/// Nothing to set up; an error naming the feature when a file is given.
///
/// # Errors
/// Any of `--ca`, `--tls-cert`, `--tls-key` given.
pub fn use_client(files: &TlsFiles) -> Result<(), String> {
    if files.ca.is_some() || files.cert.is_some() || files.key.is_some() {
        return Err(missing(
            Feature::Tls,
            if files.ca.is_some() {
                "--ca"
            } else {
                "--tls-cert"
            },
        ));
    }
    Ok(())
}

/// Why a TLS handshake failed, in words; here always a refusal.
pub(crate) struct Failed {
    /// What went wrong.
    pub(crate) reason: String,
    /// Whether it is a refusal rather than an absence.
    pub(crate) refused: bool,
}

/// A `wss://` peer cannot be reached without TLS: a refusal, never retried.
pub(crate) async fn connect(
    _tcp: TcpStream,
    _name: &str,
) -> Result<MaybeTlsStream<TcpStream>, Failed> {
    Err(Failed {
        reason: missing(Feature::Tls, "wss://"),
        refused: true,
    })
}
