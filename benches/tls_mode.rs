//! The TLS mode: the echo sketch serving `wss://` (a certificate made here,
//! rcgen) against the same sketch serving `ws://`, driven by the same load
//! generator, alternating; and the rate of new connections (handshakes).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};

use crate::{block_on, connect_many, cores, drive, Kind, Server, TLS_CLIENT};

/// The echo sketch of the program, over TLS with `tls = Some((cert, key))`.
fn echo(tls: Option<&(PathBuf, PathBuf)>) -> Server {
    let mut command = Server::command(Kind::Circuit);
    if let Some((cert, key)) = tls {
        command
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key);
    }
    Server::spawn(command)
}

/// A CA and a certificate for 127.0.0.1 it signs, as files; the CA is what
/// the load generator trusts.
fn certificates() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("a key");
    let ca_cert = ca.self_signed(&ca_key).expect("the CA");
    let issuer = Issuer::new(ca, ca_key);
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let key = KeyPair::generate().expect("a key");
    let cert = params.signed_by(&key, &issuer).expect("a certificate");
    let (cert_file, key_file) = (dir.join("echo.pem"), dir.join("echo.key"));
    std::fs::write(&cert_file, cert.pem()).expect("written");
    std::fs::write(&key_file, key.serialize_pem()).expect("written");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_cert.der().clone()).expect("a root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let _ = TLS_CLIENT.set(tokio_tungstenite::Connector::Rustls(Arc::new(config)));
    (cert_file, key_file)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints messages/s over wss:// and ws:// at 100 and 1,000 clients, their
/// ratio, and new connections per second, medians of `runs`.
pub fn run(runs: usize, quick: bool) {
    let files = certificates();
    println!(
        "TLS: the echo over wss:// against ws://, {} cores, medians of {runs}",
        cores()
    );
    println!("| mode | ratio (wss / ws) | wss | ws |");
    println!("|---|---|---|---|");
    for (clients, each) in [(100, 200), (1_000, 50)] {
        let each = if quick { each / 5 } else { each };
        let (mut secure, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            for tls in [true, false] {
                let server = echo(tls.then_some(&files));
                let load = block_on(drive(&server.url, clients, each, None));
                assert_eq!(load.unacked, 0, "every message acknowledged");
                if tls { &mut secure } else { &mut plain }.push(load.rate());
            }
        }
        let (secure, plain) = (median(secure), median(plain));
        println!(
            "| {clients} clients × {each}: messages/s | {:.2}× | {secure:.0} | {plain:.0} |",
            secure / plain
        );
    }
    let connections = if quick { 200 } else { 1_000 };
    let (mut secure, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for tls in [true, false] {
            let server = echo(tls.then_some(&files));
            let started = Instant::now();
            let opened = block_on(connect_many(&server.url, connections));
            let rate = opened.iter().flatten().count() as f64 / started.elapsed().as_secs_f64();
            if tls { &mut secure } else { &mut plain }.push(rate);
        }
    }
    let (secure, plain) = (median(secure), median(plain));
    println!(
        "| new connections per second ({connections}, 200 at a time) | {:.2}× | {secure:.0} | {plain:.0} |",
        secure / plain
    );
    // One at a time: the handshake's own cost, without the listen backlog's.
    let one_by_one = if quick { 50 } else { 200 };
    let (mut secure, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for tls in [true, false] {
            let server = echo(tls.then_some(&files));
            let started = Instant::now();
            let opened = block_on(async {
                let mut opened = 0;
                for _ in 0..one_by_one {
                    opened += usize::from(connect_many(&server.url, 1).await[0].is_some());
                }
                opened
            });
            let rate = opened as f64 / started.elapsed().as_secs_f64();
            if tls { &mut secure } else { &mut plain }.push(rate);
        }
    }
    let (secure, plain) = (median(secure), median(plain));
    println!(
        "| new connections per second ({one_by_one}, one at a time) | {:.2}× | {secure:.0} | {plain:.0} |",
        secure / plain
    );
}
