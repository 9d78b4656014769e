//! Links and timers to a real MQTT broker (mosquitto, tests/support/mosquitto.rs):
//! the demo pin's levels published over an `mqtt://` link reach a
//! subscriber all and in order, over TLS too; a broker restarted mid-stream
//! loses nothing; a refused login dead-letters (said once) on a link and
//! ends a clock with exit 1; a wildcard topic is a usage error; the clock's
//! ticks reach a subscriber.

mod support;

use std::path::Path;
use std::time::Duration;

use circuit_runtime::base::LinkOptions;
use circuit_runtime::prelude::*;
use support::certs::Ca;
use support::mosquitto::{messages, Broker};
use support::{drawn_bits, start, PATIENCE};

/// A folder of this test's own, for password files and certificates.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mqtt-links-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a pin publishing its levels to `buzzer` (with `extra` flags) and a
/// clock ticking `ticks` times to it; returns the pin's and the clock's lines.
fn pin_and_clock(buzzer: &str, extra: &[&str], ticks: u64) -> (Vec<String>, Vec<String>) {
    let mut args = vec!["iopin", "-s", "127.0.0.1", "-p", "0", "--buzzer", buzzer];
    args.extend_from_slice(extra);
    let mut iopin = start(&args);
    let port = iopin.port().to_string();
    let ticks = ticks.to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        &ticks,
        "-d",
        "0",
    ])
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    let lines = iopin.out.iter().chain(&iopin.err).cloned().collect();
    (lines, clock.out)
}

/// The levels `lines` of a pin drew, as the payloads a subscriber gets.
fn drawn(lines: &[String], topic: &str) -> Vec<String> {
    let pin = support::lines_of(lines, "iopin");
    drawn_bits(&pin)
        .iter()
        .map(|bit| format!("{topic} {bit}"))
        .collect()
}

#[test]
fn the_pins_levels_reach_a_subscriber_through_an_mqtt_link_all_and_in_order() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let sub = broker.counting_sub("pin/levels", 15);
    let url = broker.url("pin/levels");
    let (pin, _) = pin_and_clock(&url, &[], 5);
    let expected = drawn(&pin, "pin/levels");
    assert_eq!(expected.len(), 15, "{pin:?}");
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), expected, "{}", broker.log());
    let delivered = format!("link to {url}: 15 delivered");
    assert!(
        pin.iter().any(|line| line.ends_with(&delivered)),
        "the end-of-run line counts the PUBACKs: {pin:?}"
    );
}

#[test]
fn a_paho_subscriber_gets_the_pins_levels_all_and_in_order() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let Some(python) = support::python() else {
        return;
    };
    let broker = Broker::start();
    let port = broker.port().to_string();
    // paho-mqtt, a client foreign to circuit, subscribed before the pin starts.
    let mut paho = support::start_program(
        &python,
        &[
            &support::script("mqtt_sub.py"),
            "--port",
            &port,
            "--topic",
            "pin/paho",
            "--qos",
            "1",
            "--count",
            "12",
        ],
    );
    paho.wait_for(PATIENCE, |line| line == "ready");
    let (pin, _) = pin_and_clock(&broker.url("pin/paho"), &[], 4);
    let expected = drawn(&pin, "pin/paho");
    assert_eq!(expected.len(), 12, "{pin:?}");
    let paho = paho.finish(PATIENCE);
    assert_eq!(paho.code(), 0, "{paho:?}");
    let got: Vec<&str> = paho
        .out
        .iter()
        .map(String::as_str)
        .filter(|line| *line != "ready")
        .collect();
    assert_eq!(got, expected, "{}", broker.log());
}

#[test]
fn mqtts_with_the_test_ca_carries_the_levels() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let dir = scratch("tls");
    let ca = Ca::new(&dir, "mqtt-ca");
    let cert = ca.issue("broker", &["127.0.0.1"], false);
    let broker = Broker::builder().tls(&cert, &ca.pem).start();
    let sub = broker.counting_sub("sealed", 6);
    let url = format!("mqtts://127.0.0.1:{}/sealed", broker.tls_port());
    let ca_file = broker.tls_ca().to_str().unwrap().to_owned();
    let (pin, _) = pin_and_clock(&url, &["--ca", &ca_file], 2);
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), drawn(&pin, "sealed"), "{pin:?}");
    // Another CA's certificate is refused, never delivered to.
    let other = Ca::new(&dir, "other-ca");
    let (pin, _) = pin_and_clock(&url, &["--ca", other.pem.to_str().unwrap()], 1);
    let refused: Vec<_> = pin
        .iter()
        .filter(|line| line.contains("was refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{pin:?}");
    assert!(
        pin.iter()
            .any(|line| line.contains(&format!("link to {url}: 0 delivered, 3 dead-lettered"))),
        "{pin:?}"
    );
}

#[test]
fn a_refused_login_dead_letters_and_says_so_once() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::builder().users(&[("alice", "secret")]).start();
    let wrong = scratch("login").join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let url = format!(
        "mqtt://alice@127.0.0.1:{}/pin?password_file={}",
        broker.port(),
        wrong.display()
    );
    let (pin, _) = pin_and_clock(&url, &[], 3);
    let refused: Vec<_> = pin
        .iter()
        .filter(|line| line.contains("was refused"))
        .collect();
    assert_eq!(refused.len(), 1, "said once: {pin:?}");
    assert!(
        refused[0].contains("the broker refused the login: not authorized"),
        "{refused:?}"
    );
    assert!(
        pin.iter()
            .any(|line| line.contains(&format!("link to {url}: 0 delivered, 9 dead-lettered"))),
        "{pin:?}"
    );
}

#[test]
fn the_clock_to_a_broker_that_refuses_the_login_exits_1_saying_so() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::builder().users(&[("alice", "secret")]).start();
    let wrong = scratch("clock-login").join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let url = format!(
        "mqtt://alice@127.0.0.1:{}/datafeed?password_file={}",
        broker.port(),
        wrong.display()
    );
    let clock = start(&["clock", "--to", &url, "-t", "2", "-d", "0"]).finish(PATIENCE);
    assert_eq!(clock.code(), 1, "{clock:?}");
    let said = clock.err.join("\n");
    assert!(
        said.contains("the broker refused the login: not authorized"),
        "{clock:?}"
    );
}

#[test]
fn a_wildcard_in_a_links_topic_is_a_usage_error() {
    for url in ["mqtt://127.0.0.1:1/pin/#", "mqtt://127.0.0.1:1/pin/+/level"] {
        let iopin = start(&["iopin", "-p", "0", "--buzzer", url]).finish(PATIENCE);
        assert_eq!(iopin.code(), 2, "{iopin:?}");
        assert!(
            iopin.err.join("\n").contains("holds a wildcard"),
            "{iopin:?}"
        );
        let clock = start(&["clock", "--to", url, "-t", "1"]).finish(PATIENCE);
        assert_eq!(clock.code(), 2, "{clock:?}");
    }
}

#[test]
fn the_clocks_ticks_reach_a_subscriber_and_each_puback_is_its_acknowledgement() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let sub = broker.counting_sub("datafeed", 4);
    let url = broker.url("datafeed");
    let clock = start(&["clock", "--to", &url, "-t", "4", "-d", "0"]).finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    assert_eq!(
        lines.iter().filter(|line| **line == "< ok").count(),
        4,
        "{lines:?}"
    );
    assert!(
        lines.contains(&"4 ticks sent, 4 acknowledged, 0 resent"),
        "{lines:?}"
    );
    let sub = sub.finish(PATIENCE);
    assert_eq!(
        messages(&sub.out),
        ["datafeed 0", "datafeed 1", "datafeed 2", "datafeed 3"]
    );
    // The probe publishes too, and prints each PUBACK.
    let probe = start(&["probe", &url, "-n", "2", "--every", "0"]).finish(PATIENCE);
    assert_eq!(probe.code(), 0, "{probe:?}");
    assert_eq!(
        probe
            .lines_of("probe")
            .iter()
            .filter(|line| **line == "< ok")
            .count(),
        2,
        "{probe:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_mid_stream_loses_nothing_and_keeps_the_order() {
    if Broker::skip_reason().is_some() {
        return;
    }
    const COUNT: usize = 600;
    let mut broker = Broker::start();
    // A kept session: what the broker queues for it survives the restart,
    // and mosquitto_sub connects again by itself.
    let mut sub = broker.mosquitto_sub(&["-c", "-i", "kept-sub", "-q", "1", "-t", "stream", "-v"]);
    sub.wait_for(PATIENCE, |line| line.starts_with("Subscribed (mid"));
    let link = Link::new(&broker.url("stream")).unwrap();
    // A small window, so that the restart finds messages in flight.
    link.configure(LinkOptions {
        window: 8,
        ack_timeout: Duration::from_secs(2),
        ..LinkOptions::default()
    });
    let sender = link.clone();
    let sending = tokio::spawn(async move {
        for n in 0..COUNT {
            sender.send(n).await;
            // Paced, so that the stop comes mid-stream and what the broker
            // queues for the subscriber while it is away stays under its
            // limit (1000 messages).
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sender.flush().await;
    });
    let deadline = std::time::Instant::now() + PATIENCE;
    while link.report().delivered < 100 {
        assert!(std::time::Instant::now() < deadline, "{:?}", link.report());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Stopped while messages are in flight, and away for a moment: the link
    // backs off and tries again.
    tokio::task::block_in_place(|| broker.stop());
    let before = link.report();
    assert!(before.delivered < COUNT as u64, "mid-stream: {before:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| broker.restart());
    tokio::time::timeout(PATIENCE, sending)
        .await
        .expect("everything is delivered after the restart")
        .unwrap();
    let report = link.report();
    assert_eq!(report.delivered, COUNT as u64, "{report:?}");
    assert_eq!(report.dead_lettered, 0, "{report:?}");
    let last = format!("stream {}", COUNT - 1);
    let sub = tokio::task::block_in_place(|| {
        sub.wait_for(PATIENCE, |line| line == last);
        sub.signal("TERM");
        sub.finish(PATIENCE)
    });
    // Duplicates are allowed (at least once), never a gap or a message out of order.
    let mut seen = Vec::new();
    for message in messages(&sub.out) {
        let n: usize = message.strip_prefix("stream ").unwrap().parse().unwrap();
        if seen.contains(&n) {
            continue;
        }
        assert_eq!(n, seen.len(), "in order: {seen:?}");
        seen.push(n);
    }
    assert_eq!(seen.len(), COUNT, "nothing lost");
}

#[test]
fn over_mqtt_5_a_puback_that_refuses_counts_as_refused() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::builder().acl("topic readwrite open/#\n").start();
    let sub = broker.counting_sub("open/pin", 6);
    let open = format!("{}?version=5", broker.url("open/pin"));
    let (pin, _) = pin_and_clock(&open, &[], 2);
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), drawn(&pin, "open/pin"), "{pin:?}");
    // Not allowed there: MQTT 5's PUBACK says so (0x87), which 3.1.1 cannot.
    let closed = format!("{}?version=5", broker.url("closed/pin"));
    let (pin, _) = pin_and_clock(&closed, &[], 1);
    let end = pin
        .iter()
        .find(|line| line.contains(&format!("link to {closed}: 0 delivered")))
        .unwrap_or_else(|| panic!("{pin:?}"));
    assert!(end.contains("3 refused"), "{end}");
    assert!(
        pin.iter()
            .any(|line| line.contains("the broker refused it: NotAuthorized")),
        "{pin:?}"
    );
}

/// The pin between a clock and a broker that is down, with `--spool`:
/// it acknowledges every tick (each level on disk by then), is killed with
/// -9, and restarts on the same spool with the broker up: every level
/// reaches the subscriber, in order.
#[test]
fn what_a_spooled_link_took_reaches_the_broker_after_a_kill_and_a_restart() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let mut broker = Broker::start();
    broker.stop();
    let dir = scratch("spool");
    let spool = dir.join("spool");
    let spool = spool.to_str().unwrap();
    let url = broker.url("pin");
    let pin_args = [
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--sequence",
        "10",
        "--buzzer",
        &url,
        "--spool",
        spool,
    ];
    let mut pin = start(&pin_args);
    let port = pin.port().to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "10",
        "-d",
        "0",
    ])
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "every tick acknowledged: {clock:?}");
    pin.signal("KILL");
    let first = pin.finish(PATIENCE);
    let lines: Vec<String> = first.out.iter().chain(&first.err).cloned().collect();
    let expected = drawn(&lines, "pin");
    assert_eq!(expected.len(), 100, "{first:?}");

    broker.restart();
    let sub = broker.counting_sub("pin", 100);
    let mut pin = start(&pin_args);
    pin.port();
    pin.signal("TERM");
    let again = pin.finish(PATIENCE);
    assert_eq!(again.code(), 0, "{again:?}");
    let line = format!("link to {url}: 100 delivered, 100 resent from the spool");
    assert!(
        again.lines_of("iopin").contains(&line.as_str()),
        "{line:?} in {again:?}"
    );
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), expected, "{}", broker.log());
}

#[test]
fn a_circuit_files_link_may_be_a_brokers_topic_and_not_a_wildcard() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let sub = broker.counting_sub("pin", 9);
    let url = broker.url("pin");
    let dir = scratch("circuit");
    let file = dir.join("pin-to-broker.toml");
    let circuit = |buzzer: &str| {
        format!(
            "name = \"pin-to-broker\"\n\n[sketches.clock]\nto = \"iopin\"\ntacks = 3\ndelay = 0\n\n[sketches.iopin]\nbuzzer = \"{buzzer}\"\n"
        )
    };
    std::fs::write(&file, circuit(&url)).unwrap();
    let up = support::run(&["up", file.to_str().unwrap()]);
    assert_eq!(up.code(), 0, "{up:?}");
    let delivered = format!("link to {url}: 9 delivered");
    assert!(up.lines_of("iopin").contains(&delivered.as_str()), "{up:?}");
    let lines: Vec<String> = up.out.iter().chain(&up.err).cloned().collect();
    let sub = sub.finish(PATIENCE);
    assert_eq!(messages(&sub.out), drawn(&lines, "pin"));

    std::fs::write(&file, circuit(&broker.url("pin/#"))).unwrap();
    let up = support::run(&["up", file.to_str().unwrap()]);
    assert_eq!(up.code(), 2, "{up:?}");
    assert!(up.err.join("\n").contains("holds a wildcard"), "{up:?}");
}
