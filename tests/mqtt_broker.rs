//! The MQTT test broker itself (tests/support/mosquitto.rs) with the real
//! tools on both sides: paho-mqtt (tests/python) and mosquitto's own
//! clients. Messages arrive in order, a kept session's queued QoS 1 messages
//! survive a stop and restart, a wrong password and a denied subscription
//! are refused, and the TLS listener is verified with the test's CA.

mod support;

use std::path::Path;

use support::certs::Ca;
use support::mosquitto::{client, messages, Broker};
use support::{python, script, start_program, Running, PATIENCE};

/// The Python of the venv, or `None` (said) when the test must skip.
fn ready() -> Option<String> {
    if Broker::skip_reason().is_some() {
        return None;
    }
    python()
}

/// `tests/python/NAME ARGS…` with the venv's Python.
fn peer(python: &str, name: &str, args: &[&str]) -> Running {
    let mut all = vec![script(name)];
    all.extend(args.iter().map(|arg| arg.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    start_program(python, &all)
}

#[test]
fn paho_publishes_and_mosquitto_sub_receives_in_order() {
    let Some(python) = ready() else { return };
    let broker = Broker::start();
    assert_eq!(
        broker.url("home/light"),
        format!("mqtt://127.0.0.1:{}/home/light", broker.port())
    );
    let sub = broker.counting_sub("home/#", 3);
    let port = broker.port().to_string();
    let publish = [
        "--port",
        &port,
        "--topic",
        "home/light",
        "one",
        "two",
        "three",
    ];
    let published = peer(&python, "mqtt_pub.py", &publish).finish(PATIENCE);
    assert_eq!(published.code(), 0, "{published:?}; {}", broker.log());
    let sub = sub.finish(PATIENCE);
    assert_eq!(sub.code(), 0, "{sub:?}");
    assert_eq!(
        messages(&sub.out),
        ["home/light one", "home/light two", "home/light three"],
        "{}",
        broker.log()
    );
}

#[test]
fn a_kept_session_gets_its_queued_messages_after_a_restart() {
    let Some(python) = ready() else { return };
    let mut broker = Broker::start();
    let port = broker.port().to_string();
    let session = [
        "--port",
        &port,
        "--topic",
        "queued/#",
        "--client-id",
        "kept",
        "--no-clean",
    ];
    // Subscribe, then leave the session behind.
    let args = [&session[..], &["--count", "0"]].concat();
    let left = peer(&python, "mqtt_sub.py", &args).finish(PATIENCE);
    assert_eq!(left.code(), 0, "{left:?}; {}", broker.log());
    assert_eq!(left.out, ["ready"]);

    let publish = ["--port", &port, "--topic", "queued/a", "1", "2", "3"];
    let published = peer(&python, "mqtt_pub.py", &publish).finish(PATIENCE);
    assert_eq!(published.code(), 0, "{published:?}; {}", broker.log());

    broker.stop();
    broker.restart();
    assert_eq!(broker.port().to_string(), port);
    let args = [&session[..], &["--count", "3"]].concat();
    let back = peer(&python, "mqtt_sub.py", &args).finish(PATIENCE);
    assert_eq!(back.code(), 0, "{back:?}; {}", broker.log());
    let got: Vec<&str> = back
        .out
        .iter()
        .map(String::as_str)
        .filter(|line| *line != "ready")
        .collect();
    assert_eq!(
        got,
        ["queued/a 1", "queued/a 2", "queued/a 3"],
        "{}",
        broker.log()
    );
}

#[test]
fn users_log_in_and_a_wrong_password_is_refused() {
    let Some(python) = ready() else { return };
    let broker = Broker::builder().users(&[("alice", "secret")]).start();
    let port = broker.port().to_string();
    let login = |password: &str| {
        let args = [
            "--port",
            &port,
            "--topic",
            "t",
            "--username",
            "alice",
            "--password",
            password,
            "x",
        ];
        peer(&python, "mqtt_pub.py", &args).finish(PATIENCE)
    };
    let wrong = login("guess");
    assert_eq!(wrong.code(), 1, "{wrong:?}");
    assert!(
        wrong.err.join("\n").contains("connect refused"),
        "{wrong:?}"
    );
    let right = login("secret");
    assert_eq!(right.code(), 0, "{right:?}; {}", broker.log());
    // No user at all is refused too.
    let anonymous = peer(
        &python,
        "mqtt_pub.py",
        &["--port", &port, "--topic", "t", "x"],
    )
    .finish(PATIENCE);
    assert_eq!(anonymous.code(), 1, "{anonymous:?}");
}

#[test]
fn a_denied_subscription_is_refused_in_the_suback() {
    let Some(python) = ready() else { return };
    let broker = Broker::builder().deny_subscribe(&["secret/#"]).start();
    let port = broker.port().to_string();
    for (protocol, code) in [("3", "128"), ("5", "135")] {
        let args = [
            "--port",
            &port,
            "--protocol",
            protocol,
            "--topic",
            "secret/x",
            "--topic",
            "open/x",
            "--count",
            "0",
        ];
        let sub = peer(&python, "mqtt_sub.py", &args).finish(PATIENCE);
        assert_eq!(sub.code(), 0, "{sub:?}; {}", broker.log());
        assert_eq!(
            sub.out,
            [format!("refused secret/x {code}"), "ready".to_string()]
        );
    }
}

#[test]
fn the_tls_listener_is_verified_with_the_test_ca() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mqtt-tls-{}", std::process::id()));
    let ca = Ca::new(&dir, "mqtt-ca");
    let cert = ca.issue("broker", &["127.0.0.1"], false);
    let broker = Broker::builder().tls(&cert, &ca.pem).start();
    let tls_port = broker.tls_port().to_string();
    let cafile = broker.tls_ca().to_str().unwrap().to_string();
    let tls = ["-h", "127.0.0.1", "-p", &tls_port, "--cafile", &cafile];
    let sub_args = [&tls[..], &["-d", "-C", "1", "-q", "1", "-t", "s/#", "-v"]].concat();
    let mut sub = client("mosquitto_sub", &sub_args);
    sub.wait_for(PATIENCE, |line| line.starts_with("Subscribed (mid"));
    let pub_args = [&tls[..], &["-q", "1", "-t", "s/1", "-m", "sealed"]].concat();
    let published = client("mosquitto_pub", &pub_args).finish(PATIENCE);
    assert_eq!(published.code(), 0, "{published:?}; {}", broker.log());
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), ["s/1 sealed"], "{}", broker.log());

    // A client trusting another CA is refused by its own check.
    let other = Ca::new(&dir, "other-ca");
    let other_pem = other.pem.to_str().unwrap();
    let wrong = [
        "-h",
        "127.0.0.1",
        "-p",
        &tls_port,
        "--cafile",
        other_pem,
        "-t",
        "s/1",
        "-m",
        "x",
    ];
    let refused = client("mosquitto_pub", &wrong).finish(PATIENCE);
    assert_ne!(refused.code(), 0, "{refused:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
