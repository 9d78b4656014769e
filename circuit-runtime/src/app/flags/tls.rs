//! Certificates: `--tls-cert`, `--tls-key`, on a server `--client-ca`, and on
//! a side that dials `--ca` and `--allow-plaintext-token`.

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgMatches};

use crate::app::flags::{flag, optional, switch, switched};
use crate::base::error::{Error, Result};
use crate::base::features::{require, Feature};
use crate::base::options::TlsFiles;
use crate::net::wire::{auth, tls};

/// `--tls-cert FILE`.
pub(crate) const TLS_CERT: &str = "tls-cert";
/// `--tls-key FILE`.
pub(crate) const TLS_KEY: &str = "tls-key";
/// `--client-ca FILE`.
pub(crate) const CLIENT_CA: &str = "client-ca";
/// `--ca FILE`.
pub(crate) const CA: &str = "ca";
/// `--allow-plaintext-token`.
pub(crate) const ALLOW_PLAINTEXT_TOKEN: &str = "allow-plaintext-token";

/// A flag naming a PEM file.
fn file(long: &'static str, help: &'static str) -> Arg {
    flag(long)
        .value_name("FILE")
        .value_parser(value_parser!(PathBuf))
        .help(help)
}

/// The TLS flags of a side that serves, dials, or both.
pub(crate) fn tls_args(serves: bool, dials: bool) -> Vec<Arg> {
    let mut args = vec![
        file(
            TLS_CERT,
            if serves {
                "Serve wss:// with this certificate chain (PEM); with --tls-key"
            } else {
                "Present this certificate (PEM) to servers that ask for one (mutual TLS); with --tls-key"
            },
        ),
        file(TLS_KEY, "The private key (PEM) of --tls-cert"),
    ];
    if serves {
        args.push(file(
            CLIENT_CA,
            "Require client certificates signed by this CA (PEM): mutual TLS",
        ));
    }
    if dials {
        args.push(file(
            CA,
            "Trust servers whose certificates this CA (PEM) signed, instead of the system's roots",
        ));
        args.push(switch(ALLOW_PLAINTEXT_TOKEN).help(
            "Send the token over plain ws:// to a peer beyond loopback (it crosses the network in the clear)",
        ));
    }
    args
}

/// Whether `--tls-cert` was given (a command may refuse it before reading the rest).
pub(crate) fn cert_given(matches: &ArgMatches) -> bool {
    matches
        .try_get_one::<PathBuf>(TLS_CERT)
        .ok()
        .flatten()
        .is_some()
}

/// The TLS flags given, of those the command has.
pub(crate) fn tls_files(matches: &mut ArgMatches) -> TlsFiles {
    TlsFiles {
        cert: optional(matches, TLS_CERT),
        key: optional(matches, TLS_KEY),
        client_ca: optional(matches, CLIENT_CA),
        ca: optional(matches, CA),
        allow_plaintext_token: switched(matches, ALLOW_PLAINTEXT_TOKEN),
    }
}

/// Applies a side's TLS choices to this process's clients.
///
/// # Errors
/// [`Error::Setup`] (exit 2) for a file given to a build without the `tls`
/// feature; [`Error::Tls`] (exit 1) for a file that cannot be used, named.
pub(crate) fn apply_tls(files: &TlsFiles) -> Result<()> {
    let given = [
        (TLS_CERT, files.cert.is_some()),
        (TLS_KEY, files.key.is_some()),
        (CLIENT_CA, files.client_ca.is_some()),
        (CA, files.ca.is_some()),
    ];
    if let Some((long, _)) = given.iter().find(|(_, given)| *given) {
        require(Feature::Tls, &format!("--{long}")).map_err(Error::Setup)?;
    }
    auth::allow_plaintext_token(files.allow_plaintext_token);
    tls::use_client(files).map_err(Error::Tls)
}
