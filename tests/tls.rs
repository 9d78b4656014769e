//! Secure links on loopback: servers with a certificate made by the test (a
//! CA of its own, rcgen), clients that check it (`--ca`), the three ways a
//! check fails said in words, a plain client against a TLS server, mutual
//! TLS, a token kept from a plain connection beyond loopback, and refusals
//! that end at once instead of being retried.

mod support;

use std::path::{Path, PathBuf};

use support::certs::{Ca, Issued};
use support::{python, run, script, start, Running, PATIENCE};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}", std::process::id()))
}

/// A buzzer serving wss:// with `cert`, and its port.
fn tls_buzzer(cert: &Issued, extra: &[&str]) -> (Running, u16) {
    let mut args = vec![
        "buzzer",
        "-p",
        "0",
        "--tls-cert",
        cert.cert.to_str().unwrap(),
        "--tls-key",
        cert.key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut buzzer = start(&args);
    let line = buzzer.wait_for(PATIENCE, |line| line.contains("serving on "));
    assert!(line.contains("serving on wss://"), "{line}");
    let port = line.rsplit(':').next().unwrap().parse().unwrap();
    (buzzer, port)
}

/// `probe URL --count 2` with `extra` flags.
fn probe(url: &str, extra: &[&str]) -> support::Finished {
    let mut args = vec!["probe", url, "--count", "2", "--every", "0"];
    args.extend_from_slice(extra);
    run(&args)
}

fn stop(running: Running) -> support::Finished {
    running.signal("INT");
    running.finish(PATIENCE)
}

#[test]
fn a_link_a_clock_and_the_probe_speak_wss_to_servers_their_ca_signed() {
    let ca = Ca::new(&dir(), "circuit-ca");
    let cert = ca.issue("local", &["localhost", "127.0.0.1"], false);
    let ca_pem = ca.pem.to_str().unwrap();
    let (buzzer, buzzer_port) = tls_buzzer(&cert, &[]);
    // The probe.
    let url = format!("wss://localhost:{buzzer_port}/pin");
    let probed = probe(&url, &["--ca", ca_pem]);
    assert_eq!(probed.code(), 0, "{probed:?}");
    assert!(probed.lines_of("probe").contains(&"< bzzz"), "{probed:?}");
    // A pin serving wss:// too, whose link goes to the buzzer over wss://.
    let mut iopin = start(&[
        "iopin",
        "-p",
        "0",
        "--buzzer",
        &url,
        "--ca",
        ca_pem,
        "--tls-cert",
        cert.cert.to_str().unwrap(),
        "--tls-key",
        cert.key.to_str().unwrap(),
    ]);
    let line = iopin.wait_for(PATIENCE, |line| line.contains("serving on wss://"));
    let pin_port = line.rsplit(':').next().unwrap();
    // The clock, over wss:// to the pin.
    let clock = run(&[
        "clock",
        "--to",
        &format!("wss://127.0.0.1:{pin_port}/datafeed"),
        "--ca",
        ca_pem,
        "-t",
        "3",
        "-d",
        "0",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    assert!(
        clock
            .lines_of("clock")
            .contains(&"3 ticks sent, 3 acknowledged, 0 resent"),
        "{clock:?}"
    );
    let iopin = stop(iopin);
    let delivered = format!("link to {url}: 9 delivered");
    assert!(
        iopin.lines_of("iopin").contains(&delivered.as_str()),
        "{iopin:?}"
    );
    let buzzer = stop(buzzer);
    assert!(
        buzzer
            .lines_of("buzzer")
            .contains(&"served 11 messages from 2 peers"),
        "the probe's 2 and the pin's 9: {buzzer:?}"
    );
}

#[test]
fn an_unknown_issuer_a_wrong_name_and_an_expired_certificate_are_refused_at_once() {
    let ca = Ca::new(&dir(), "checks-ca");
    let stranger = Ca::new(&dir(), "stranger-ca");
    let ca_pem = ca.pem.to_str().unwrap();
    let cases = [
        (
            stranger.issue("stranger", &["localhost"], false),
            "unknown issuer",
        ),
        (
            ca.issue("other", &["other.example"], false),
            "name mismatch",
        ),
        (ca.issue("old", &["localhost"], true), "has expired"),
    ];
    for (cert, reason) in cases {
        let (buzzer, port) = tls_buzzer(&cert, &[]);
        let probed = probe(&format!("wss://localhost:{port}/pin"), &["--ca", ca_pem]);
        assert_eq!(probed.code(), 1, "{probed:?}");
        let said = probed.err.join("\n");
        assert!(said.contains(reason), "{reason}: {said}");
        assert!(
            !said.contains("retrying"),
            "a refusal is not retried: {said}"
        );
        // Never silently downgraded: the plain URL is refused too.
        let plain = probe(&format!("ws://localhost:{port}/pin"), &[]);
        assert_eq!(plain.code(), 1, "{plain:?}");
        stop(buzzer);
    }
}

#[test]
fn a_plain_client_against_a_tls_server_fails_clearly_and_the_server_keeps_serving() {
    let ca = Ca::new(&dir(), "plain-ca");
    let cert = ca.issue("local", &["localhost"], false);
    let (buzzer, port) = tls_buzzer(&cert, &[]);
    let plain = probe(&format!("ws://localhost:{port}/pin"), &[]);
    assert_eq!(plain.code(), 1, "{plain:?}");
    let said = plain.err.join("\n");
    assert!(said.contains("is it a wss:// server?"), "{said}");
    let secure = probe(
        &format!("wss://localhost:{port}/pin"),
        &["--ca", ca.pem.to_str().unwrap()],
    );
    assert_eq!(secure.code(), 0, "still serving: {secure:?}");
    let buzzer = stop(buzzer);
    assert!(
        buzzer
            .err
            .iter()
            .chain(&buzzer.out)
            .any(|line| line.contains("spoke plain ws:// to this wss:// server")),
        "{buzzer:?}"
    );
}

#[test]
fn mutual_tls_admits_a_client_certificate_of_its_ca_and_refuses_none() {
    let ca = Ca::new(&dir(), "mutual-ca");
    let clients = Ca::new(&dir(), "clients-ca");
    let cert = ca.issue("local", &["localhost"], false);
    let client = clients.issue("probe", &["probe"], false);
    let (buzzer, port) = tls_buzzer(&cert, &["--client-ca", clients.pem.to_str().unwrap()]);
    let url = format!("wss://localhost:{port}/pin");
    let ca_pem = ca.pem.to_str().unwrap();
    let with = probe(
        &url,
        &[
            "--ca",
            ca_pem,
            "--tls-cert",
            client.cert.to_str().unwrap(),
            "--tls-key",
            client.key.to_str().unwrap(),
        ],
    );
    assert_eq!(with.code(), 0, "{with:?}");
    let without = probe(&url, &["--ca", ca_pem]);
    assert_eq!(without.code(), 1, "{without:?}");
    stop(buzzer);
}

#[test]
fn a_token_never_crosses_the_network_over_plain_ws() {
    // 198.51.100.1 (TEST-NET-2) is beyond loopback: nothing is even dialed.
    let refused = probe("ws://198.51.100.1:9/pin", &["--token", "s3cret"]);
    assert_eq!(refused.code(), 1, "{refused:?}");
    let said = refused.err.join("\n");
    assert!(said.contains("in the clear"), "{said}");
    assert!(said.contains("--allow-plaintext-token"), "{said}");
    // Allowed, it is dialed (and nobody is there).
    let allowed = probe(
        "ws://198.51.100.1:9/pin",
        &["--token", "s3cret", "--allow-plaintext-token"],
    );
    assert_eq!(allowed.code(), 1, "{allowed:?}");
    assert!(
        allowed.err.join("\n").contains("no server answered"),
        "{allowed:?}"
    );
}

#[test]
fn a_wrong_token_ends_the_clock_at_once() {
    let mut iopin = start(&["iopin", "-p", "0", "--token", "right"]);
    let port = iopin.port().to_string();
    let clock = run(&[
        "clock", "-p", &port, "--token", "wrong", "-t", "2", "-d", "0",
    ]);
    assert_eq!(clock.code(), 1, "{clock:?}");
    let said = clock.err.join("\n");
    assert!(said.contains("the server refused our token"), "{said}");
    assert!(!said.contains("retrying"), "{said}");
    iopin.signal("INT");
    let _ = iopin.finish(PATIENCE);
}

#[test]
fn a_certificate_file_that_cannot_be_used_stops_the_start_naming_it() {
    let missing = dir().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let buzzer = run(&[
        "buzzer",
        "-p",
        "0",
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
    ]);
    assert_eq!(buzzer.code(), 1, "{buzzer:?}");
    assert!(buzzer.err.join("\n").contains(missing), "{buzzer:?}");
    let ca = Ca::new(&dir(), "mismatch-ca");
    let one = ca.issue("one", &["localhost"], false);
    let two = ca.issue("two", &["localhost"], false);
    let mixed = run(&[
        "buzzer",
        "-p",
        "0",
        "--tls-cert",
        one.cert.to_str().unwrap(),
        "--tls-key",
        two.key.to_str().unwrap(),
    ]);
    assert_eq!(mixed.code(), 1, "{mixed:?}");
    assert!(
        mixed
            .err
            .join("\n")
            .contains("do not make a certificate and its key"),
        "{mixed:?}"
    );
    let alone = run(&[
        "buzzer",
        "-p",
        "0",
        "--tls-cert",
        one.cert.to_str().unwrap(),
    ]);
    assert_eq!(alone.code(), 1, "{alone:?}");
}

#[test]
fn python_websockets_over_ssl_talks_to_us_and_we_to_it() {
    let Some(python) = python() else {
        return;
    };
    let ca = Ca::new(&dir(), "python-ca");
    let cert = ca.issue("local", &["localhost", "127.0.0.1"], false);
    // Python's client, trusting our CA, against our wss:// buzzer.
    let (buzzer, port) = tls_buzzer(&cert, &[]);
    let client = std::process::Command::new(&python)
        .args([
            &script("tls_client.py"),
            &format!("wss://localhost:{port}/pin"),
            ca.pem.to_str().unwrap(),
            "1",
            "0",
        ])
        .output()
        .expect("python runs");
    assert!(client.status.success(), "{client:?}");
    assert_eq!(String::from_utf8_lossy(&client.stdout), "bzzz\nn/a\n");
    stop(buzzer);
    // Our probe, trusting the CA, against Python's TLS server.
    let mut server = start_python(&python, &cert);
    let line = server.wait_for(PATIENCE, |line| line.starts_with("serving"));
    let port = line.rsplit(' ').next().unwrap();
    let probed = probe(
        &format!("wss://localhost:{port}/any"),
        &["--ca", ca.pem.to_str().unwrap()],
    );
    assert_eq!(probed.code(), 0, "{probed:?}");
    assert!(probed.lines_of("probe").contains(&"< got 1"), "{probed:?}");
    server.signal("TERM");
    let _ = server.finish(PATIENCE);
}

/// Python's TLS server with `cert`, its lines read like the binary's.
fn start_python(python: &str, cert: &Issued) -> Running {
    support::start_program(
        python,
        &[
            &script("tls_server.py"),
            cert.cert.to_str().unwrap(),
            cert.key.to_str().unwrap(),
        ],
    )
}

#[test]
fn the_analyzer_page_beyond_loopback_is_served_over_https_with_the_same_certificate() {
    let ca = Ca::new(&dir(), "web-ca");
    let cert = ca.issue("local", &["localhost"], false);
    let file = dir().join("one.toml");
    std::fs::write(&file, "[sketches.buzzer]\nhost = \"here\"\n").unwrap();
    let mut up = start(&[
        "up",
        file.to_str().unwrap(),
        "--host",
        "here",
        "--web",
        "0.0.0.0:0",
        "--tls-cert",
        cert.cert.to_str().unwrap(),
        "--tls-key",
        cert.key.to_str().unwrap(),
    ]);
    let line = up.wait_for(PATIENCE, |line| line.contains("logic analyzer on "));
    assert!(line.contains("https://0.0.0.0:"), "{line}");
    let port = line
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let page = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "--cacert",
            ca.pem.to_str().unwrap(),
        ])
        .arg(format!("https://localhost:{port}/"))
        .output()
        .expect("curl runs");
    assert!(
        String::from_utf8_lossy(&page.stdout).starts_with("<!doctype html>"),
        "{page:?}"
    );
    stop(up);
}

#[test]
fn a_link_refused_by_its_peer_dead_letters_instead_of_retrying() {
    let mut buzzer = start(&["buzzer", "-p", "0", "--token", "right"]);
    let buzzer_port = buzzer.port();
    // The pin's token (which the clock presents to it) is not the buzzer's.
    let mut iopin = start(&[
        "iopin",
        "-p",
        "0",
        "--token",
        "other",
        "--buzzer",
        &format!("ws://127.0.0.1:{buzzer_port}/pin"),
    ]);
    let pin_port = iopin.port().to_string();
    let clock = run(&[
        "clock", "-p", &pin_port, "--token", "other", "-t", "3", "-d", "0",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let iopin = stop(iopin);
    let lines = iopin
        .out
        .iter()
        .chain(&iopin.err)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        lines.contains("was refused (the server refused our token (HTTP 401))"),
        "{lines}"
    );
    assert!(
        lines.contains("9 dead-lettered"),
        "every level dead-lettered, none held: {lines}"
    );
    assert_eq!(
        lines.matches("was refused").count(),
        1,
        "said once: {lines}"
    );
    stop(buzzer);
}
