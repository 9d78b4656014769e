//! `--mqtt URL` and `--home-assistant` against a real mosquitto: the demo's
//! signals arrive retained on `circuit/demo/SKETCH/SIGNAL` and follow the
//! run's own recording; each sketch's availability is `online` while it
//! runs, `offline` after a clean stop and, by its Last Will, after SIGKILL;
//! Home Assistant's discovery configs are JSON with the keys it needs, kept
//! for late subscribers and published again when Home Assistant says
//! `online`; `--home-assistant` without `--mqtt` is a usage error.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value as Json;
use support::mosquitto::{client, messages, Broker};
use support::{run, start, Running, PATIENCE};

/// The demo's signals: sketch, signal, Home Assistant's component.
const SIGNALS: [(&str, &str, &str); 4] = [
    ("clock", "tick", "sensor"),
    ("clock", "ack", "sensor"),
    ("iopin", "level", "binary_sensor"),
    ("buzzer", "buzz", "binary_sensor"),
];

/// A fresh scratch directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-ha-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A subscriber to `filters` printing `RETAIN TOPIC PAYLOAD` lines (RETAIN
/// 1 for a retained message), returned once its SUBACK came; with `count`,
/// it exits after that many messages.
fn subscriber(broker: &Broker, filters: &[&str], count: Option<usize>) -> Running {
    let count = count.map(|count| count.to_string());
    let mut args = vec!["-q", "1", "-F", "%r %t %p"];
    if let Some(count) = &count {
        args.extend(["-C", count.as_str()]);
    }
    for filter in filters {
        args.extend(["-t", filter]);
    }
    let mut sub = broker.mosquitto_sub(&args);
    sub.wait_for(PATIENCE, |line| line.starts_with("Subscribed (mid"));
    sub
}

/// `RETAIN TOPIC PAYLOAD` lines as (retained, topic, payload).
fn parsed(lines: &[&str]) -> Vec<(bool, String, String)> {
    lines
        .iter()
        .map(|line| {
            let (retain, rest) = line.split_once(' ').expect("RETAIN TOPIC PAYLOAD");
            let (topic, payload) = rest.split_once(' ').unwrap_or((rest, ""));
            (retain == "1", topic.to_owned(), payload.to_owned())
        })
        .collect()
}

/// `mosquitto_pub -t TOPIC -m PAYLOAD` against `broker`, waited for.
fn publish(broker: &Broker, topic: &str, payload: &str) {
    let port = broker.port().to_string();
    let args = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-q",
        "1",
        "-t",
        topic,
        "-m",
        payload,
    ];
    let published = client("mosquitto_pub", &args).finish(PATIENCE);
    assert_eq!(published.code(), 0, "{published:?}");
}

/// `values` without the repeats of the value before.
fn changes_of(values: &[String]) -> Vec<String> {
    let mut changes = values.to_vec();
    changes.dedup();
    changes
}

/// The payload of a signal's value as the VCD file holds it (a bit as 0
/// or 1; text with its spaces as `_`, which VCD cannot hold).
fn as_published(signal: &str, vcd_value: &str) -> String {
    match (signal, vcd_value) {
        ("iopin.level" | "buzzer.buzz", "1") => "ON".to_owned(),
        ("iopin.level" | "buzzer.buzz", "0") => "OFF".to_owned(),
        (_, value) => value.replace('_', " "),
    }
}

#[test]
fn the_signals_arrive_retained_on_their_topics_and_follow_the_recording() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let dir = scratch("follow");
    let vcd = dir.join("demo.vcd");
    let mut live = subscriber(&broker, &["circuit/#"], None);
    let url = broker.url("");
    let ran = run(&[
        "circuit",
        "-t",
        "5",
        "-d",
        "0.1",
        "--mqtt",
        &url,
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert_eq!(ran.code(), 0, "{ran:?}");
    // The run ended with each sketch saying `offline`: the buzzer's last.
    live.wait_for(PATIENCE, |line| {
        line == "0 circuit/demo/buzzer/status offline"
    });
    live.signal("TERM");
    let live = live.finish(PATIENCE);
    let got = parsed(&messages(&live.out));
    let recorded = circuit_runtime::observe::inputs::read(&vcd).expect("the recording");
    for (sketch, signal, _) in SIGNALS {
        let name = format!("{sketch}.{signal}");
        let topic = format!("circuit/demo/{sketch}/{signal}");
        let published: Vec<String> = got
            .iter()
            .filter(|(_, at, _)| *at == topic)
            .map(|(_, _, payload)| payload.clone())
            .collect();
        let expected: Vec<String> = recorded[&name]
            .iter()
            .map(|(_, value)| as_published(&name, value))
            .collect();
        assert!(!expected.is_empty(), "{name} recorded");
        // Until its connection is up a sketch keeps only the latest value
        // of each signal: the first one published may stand for several
        // changes, and every change after it is published, in order.
        let published = changes_of(&published);
        let Some((first, after)) = published.split_first() else {
            panic!("{topic}: nothing published: {live:?}");
        };
        assert!(
            after.len() < expected.len(),
            "{topic}: {published:?} {expected:?}"
        );
        let from = expected.len() - after.len();
        assert_eq!(after, &expected[from..], "{topic}: {live:?}");
        assert_eq!(
            first,
            &expected[from - 1],
            "{topic}: {published:?} {expected:?}"
        );
    }
    // Each sketch: online first, offline last.
    for sketch in ["clock", "iopin", "buzzer"] {
        let status = format!("circuit/demo/{sketch}/status");
        let said: Vec<&str> = got
            .iter()
            .filter(|(_, topic, _)| *topic == status)
            .map(|(_, _, payload)| payload.as_str())
            .collect();
        assert_eq!(said, ["online", "offline"], "{status}");
    }
    // A subscriber that comes after the run gets the last value of each
    // signal, retained, and each sketch offline.
    let late = subscriber(&broker, &["circuit/#"], Some(7)).finish(PATIENCE);
    assert_eq!(late.code(), 0, "{late:?}");
    let kept: BTreeMap<String, (bool, String)> = parsed(&messages(&late.out))
        .into_iter()
        .map(|(retained, topic, payload)| (topic, (retained, payload)))
        .collect();
    for (sketch, signal, _) in SIGNALS {
        let name = format!("{sketch}.{signal}");
        let last = recorded[&name].last().unwrap();
        let topic = format!("circuit/demo/{sketch}/{signal}");
        assert_eq!(
            kept.get(&topic),
            Some(&(true, as_published(&name, &last.1))),
            "{topic}: {kept:?}"
        );
    }
    for sketch in ["clock", "iopin", "buzzer"] {
        let status = format!("circuit/demo/{sketch}/status");
        assert_eq!(kept.get(&status), Some(&(true, "offline".to_owned())));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checks one discovery config: the keys Home Assistant requires, the
/// topics of `sketch`'s `signal`, the payloads a binary sensor reads.
fn check_config(topic: &str, payload: &str, sketch: &str, signal: &str, component: &str) {
    let levels: Vec<&str> = topic.split('/').collect();
    assert_eq!(levels.len(), 5, "{topic}");
    assert_eq!(
        (levels[0], levels[1], levels[4]),
        ("homeassistant", component, "config"),
        "{topic}"
    );
    let id_chars = |id: &str| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    assert!(id_chars(levels[2]) && id_chars(levels[3]), "{topic}");
    let config: Json =
        serde_json::from_str(payload).unwrap_or_else(|err| panic!("{topic}: {err}: {payload}"));
    let text = |key: &str| {
        config[key]
            .as_str()
            .unwrap_or_else(|| panic!("{topic}: no {key} in {config}"))
            .to_owned()
    };
    assert_eq!(
        text("state_topic"),
        format!("circuit/demo/{sketch}/{signal}")
    );
    assert_eq!(
        text("availability_topic"),
        format!("circuit/demo/{sketch}/status")
    );
    assert_eq!(text("payload_available"), "online");
    assert_eq!(text("payload_not_available"), "offline");
    assert!(id_chars(&text("unique_id")), "{config}");
    assert!(text("unique_id").contains(sketch) && text("unique_id").contains(signal));
    assert_eq!(text("name"), signal);
    if component == "binary_sensor" {
        assert_eq!(
            (text("payload_on"), text("payload_off")),
            ("ON".into(), "OFF".into())
        );
    }
    let device = &config["device"];
    let identifiers = device["identifiers"]
        .as_array()
        .expect("device.identifiers");
    assert_eq!(identifiers.len(), 1, "{config}");
    assert!(
        identifiers[0].as_str().unwrap().contains(sketch),
        "{config}"
    );
    assert_eq!(device["name"], sketch);
    assert_eq!(device["model"], "demo");
}

/// The config of each demo signal among `got`, checked, by topic.
fn configs(got: &[(bool, String, String)]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, topic, payload) in got {
        let (sketch, signal, component) = SIGNALS
            .iter()
            .copied()
            .find(|(sketch, signal, _)| {
                payload.contains(&format!("\"circuit/demo/{sketch}/{signal}\""))
            })
            .unwrap_or_else(|| panic!("a config of a demo signal: {topic} {payload}"));
        check_config(topic, payload, sketch, signal, component);
        seen.insert(topic.clone());
    }
    seen
}

#[test]
fn home_assistant_discovers_each_signal_again_when_it_restarts_and_after_the_run() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let mut discovery = subscriber(&broker, &["homeassistant/+/+/+/config"], None);
    let url = broker.url("");
    let running = start(&[
        "circuit",
        "-t",
        "100000",
        "-d",
        "0.1",
        "--mqtt",
        &url,
        "--home-assistant",
    ]);
    // One config per signal, each once.
    let is_config = |line: &str| line.ends_with('}') && line.contains(" homeassistant/");
    for _ in SIGNALS {
        discovery.wait_for(PATIENCE, is_config);
    }
    let first = parsed(&messages(&discovery.out));
    assert_eq!(configs(&first).len(), SIGNALS.len(), "{first:?}");
    let buzz = "homeassistant/binary_sensor/circuit_demo_buzzer/buzz/config";
    assert!(configs(&first).contains(buzz), "{first:?}");
    // Home Assistant restarts: every config comes again.
    publish(&broker, "homeassistant/status", "online");
    for _ in SIGNALS {
        discovery.wait_for(PATIENCE, is_config);
    }
    let again = parsed(&messages(&discovery.out));
    assert_eq!(again.len(), 2 * SIGNALS.len(), "{again:?}");
    assert_eq!(configs(&again[SIGNALS.len()..]), configs(&first));
    // Online while running, as a late subscriber finds it.
    let status = subscriber(&broker, &["circuit/demo/buzzer/status"], Some(1)).finish(PATIENCE);
    assert_eq!(
        parsed(&messages(&status.out)),
        [(
            true,
            "circuit/demo/buzzer/status".to_owned(),
            "online".to_owned()
        )]
    );
    running.signal("INT");
    let stopped = running.finish(PATIENCE);
    assert_eq!(stopped.code(), 0, "{stopped:?}");
    // After the run: the configs stay for whoever subscribes later, and
    // every sketch is offline.
    let late = subscriber(
        &broker,
        &["homeassistant/+/+/+/config"],
        Some(SIGNALS.len()),
    )
    .finish(PATIENCE);
    let kept = parsed(&messages(&late.out));
    assert!(kept.iter().all(|(retained, _, _)| *retained), "{kept:?}");
    assert_eq!(configs(&kept), configs(&first));
    let status = subscriber(&broker, &["circuit/demo/buzzer/status"], Some(1)).finish(PATIENCE);
    assert_eq!(
        parsed(&messages(&status.out)),
        [(
            true,
            "circuit/demo/buzzer/status".to_owned(),
            "offline".to_owned()
        )]
    );
    drop(discovery);
}

#[test]
fn a_killed_sketch_is_offline_by_its_last_will() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let mut status = subscriber(&broker, &["home/+/+/status"], None);
    let url = broker.url("home");
    let running = start(&["buzzer", "-s", "127.0.0.1", "-p", "0", "--mqtt", &url]);
    status.wait_for(PATIENCE, |line| {
        line == "0 home/buzzer/buzzer/status online"
    });
    running.signal("KILL");
    drop(running);
    status.wait_for(PATIENCE, |line| {
        line == "0 home/buzzer/buzzer/status offline"
    });
    let late = subscriber(&broker, &["home/buzzer/buzzer/status"], Some(1)).finish(PATIENCE);
    assert_eq!(
        parsed(&messages(&late.out)),
        [(
            true,
            "home/buzzer/buzzer/status".to_owned(),
            "offline".to_owned()
        )]
    );
}

#[test]
fn home_assistant_needs_mqtt() {
    let refused = run(&["circuit", "-t", "1", "--home-assistant"]);
    assert_eq!(refused.code(), 2, "{refused:?}");
    assert!(
        refused.err.join("\n").contains("--mqtt"),
        "says what is missing: {refused:?}"
    );
    let simulated = run(&["circuit", "-t", "1", "--sim", "--mqtt", "mqtt://h"]);
    assert_eq!(simulated.code(), 2, "{simulated:?}");
    assert!(
        simulated.err.join("\n").contains("drop --mqtt"),
        "a broker runs on real time: {simulated:?}"
    );
    let bad = run(&["circuit", "-t", "1", "--mqtt", "mqtt://h/a/#"]);
    assert_eq!(bad.code(), 2, "{bad:?}");
    assert!(bad.err.join("\n").contains("wildcard"), "{bad:?}");
}

/// The lines of a run, stdout and stderr, that say the broker cannot be reached.
fn unreachable_said(out: &[String], err: &[String]) -> usize {
    out.iter()
        .chain(err)
        .filter(|line| line.contains("cannot publish signals to"))
        .count()
}

#[test]
fn an_absent_broker_costs_the_run_nothing_and_is_said_once() {
    let url = format!("mqtt://127.0.0.1:{}", support::dead_port());
    let ran = run(&["circuit", "-t", "5", "-d", "0.05", "--mqtt", &url]);
    assert_eq!(ran.code(), 0, "{ran:?}");
    assert!(
        ran.out.iter().any(|line| line.contains("5 ticks sent")),
        "{ran:?}"
    );
    // Three sketches, three connections refused, again and again: one line.
    assert_eq!(unreachable_said(&ran.out, &ran.err), 1, "{ran:?}");
}

#[test]
fn a_broker_back_from_a_crash_gets_every_sketch_online_and_its_latest_values() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let mut broker = Broker::start();
    let url = broker.url("");
    let running = start(&["circuit", "-t", "100000", "-d", "0.1", "--mqtt", &url]);
    let mut ticks = subscriber(&broker, &["circuit/demo/clock/tick"], None);
    ticks.wait_for(PATIENCE, |line| {
        line.starts_with("0 circuit/demo/clock/tick ")
    });
    // The broker crashes: it kept nothing (no persistence), retained
    // messages included.
    broker.kill();
    drop(ticks);
    broker.restart();
    let mut back = subscriber(&broker, &["circuit/#"], None);
    let mut wanted: Vec<String> = ["clock", "iopin", "buzzer"]
        .iter()
        .map(|sketch| format!(" circuit/demo/{sketch}/status online"))
        .collect();
    for signal in ["clock/tick", "clock/ack", "iopin/level", "buzzer/buzz"] {
        wanted.push(format!(" circuit/demo/{signal} "));
    }
    // In whatever order they come.
    for part in &wanted {
        if !back.out.iter().any(|line| line.contains(part.as_str())) {
            back.wait_for(PATIENCE, |line| line.contains(part.as_str()));
        }
    }
    running.signal("INT");
    let stopped = running.finish(PATIENCE);
    assert_eq!(stopped.code(), 0, "{stopped:?}");
    assert_eq!(
        unreachable_said(&stopped.out, &stopped.err),
        1,
        "{stopped:?}"
    );
}

/// The demo circuit file with `lines` at its top, written into `dir`.
fn demo_with(dir: &std::path::Path, lines: &str) -> PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/demo.toml"))
        .expect("the demo circuit");
    let path = dir.join("demo.toml");
    std::fs::write(&path, format!("{lines}\n{demo}")).expect("a circuit file");
    path
}

#[test]
fn a_circuit_file_says_where_its_signals_go_and_for_home_assistant() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let dir = scratch("file");
    let url = broker.url("house");
    let file = demo_with(&dir, &format!("mqtt = \"{url}\"\nhome-assistant = true"));
    let ran = run(&["up", file.to_str().unwrap(), "--set", "clock.delay=0.05"]);
    assert_eq!(ran.code(), 0, "{ran:?}");
    let late = subscriber(
        &broker,
        &[
            "homeassistant/binary_sensor/+/buzz/config",
            "house/demo/buzzer/#",
        ],
        Some(3),
    )
    .finish(PATIENCE);
    let kept: BTreeMap<String, (bool, String)> = parsed(&messages(&late.out))
        .into_iter()
        .map(|(retained, topic, payload)| (topic, (retained, payload)))
        .collect();
    assert_eq!(
        kept.get("house/demo/buzzer/status"),
        Some(&(true, "offline".to_owned())),
        "{kept:?}"
    );
    assert!(kept.contains_key("house/demo/buzzer/buzz"), "{kept:?}");
    let (retained, config) = &kept["homeassistant/binary_sensor/circuit_demo_buzzer/buzz/config"];
    assert!(retained);
    let config: Json = serde_json::from_str(config).expect("JSON");
    assert_eq!(config["state_topic"], "house/demo/buzzer/buzz");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_circuit_files_mistakes_about_mqtt_are_named() {
    let dir = scratch("mistakes");
    for (lines, said) in [
        ("home-assistant = true", "the file names none"),
        ("mqtt = \"ws://broker/x\"", "not an MQTT URL"),
        ("mqtt = 1883", "`mqtt` takes a string"),
        (
            "mqtt = \"mqtt://h\"\nhome-assistant = \"yes\"",
            "`true` or `false`",
        ),
    ] {
        let file = demo_with(&dir, lines);
        let refused = run(&["up", file.to_str().unwrap()]);
        assert_eq!(refused.code(), 2, "{lines}: {refused:?}");
        let err = refused.err.join("\n");
        assert!(
            err.contains(said) && err.contains("demo.toml:"),
            "{lines}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broker_that_never_answers_holds_nothing_up() {
    // A listener nobody accepts from: connections complete in the kernel's
    // backlog and their CONNECT is never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let url = format!("mqtt://{}", silent.local_addr().unwrap());
    let ran = run(&["circuit", "-t", "5", "-d", "0.05", "--mqtt", &url]);
    assert_eq!(ran.code(), 0, "{ran:?}");
    assert!(
        ran.out
            .iter()
            .any(|line| line.contains("5 ticks sent, 5 acks received")),
        "{ran:?}"
    );
    drop(silent);
}

#[test]
fn the_home_circuit_shows_the_buzzer_to_home_assistant_and_rings_on_the_doors_topic() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let dir = scratch("home");
    // The README's circuit file, pointed at this test's broker.
    let home = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/home.toml"))
        .expect("the home circuit");
    let base = format!("mqtt://127.0.0.1:{}", broker.port());
    assert!(home.contains("mqtt://localhost:1883/"), "{home}");
    let file = dir.join("home.toml");
    std::fs::write(&file, home.replace("mqtt://localhost:1883", &base)).unwrap();
    // The door opened before the circuit started: its contact's state is
    // retained, and so reaches the doorbell as soon as it subscribes.
    let port = broker.port().to_string();
    let door = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-q",
        "1",
        "-r",
        "-t",
        "home/door/contact",
        "-m",
        "1",
    ];
    let published = client("mosquitto_pub", &door).finish(PATIENCE);
    assert_eq!(published.code(), 0, "{published:?}");
    let ran = run(&["up", file.to_str().unwrap(), "--set", "clock.delay=0.4"]);
    assert_eq!(ran.code(), 0, "{ran:?}");
    let said: Vec<&String> = ran.out.iter().chain(&ran.err).collect();
    assert!(
        said.iter().any(|line| line.contains("ding dong")),
        "the doorbell buzzed: {said:?}"
    );
    assert!(
        said.iter().any(|line| line.contains(&format!(
            "subscribed: 1 message from {base}/home/door/contact"
        ))),
        "{said:?}"
    );
    let late = subscriber(
        &broker,
        &[
            "homeassistant/binary_sensor/circuit_home_buzzer/buzz/config",
            "home/home/doorbell/buzz",
        ],
        Some(2),
    )
    .finish(PATIENCE);
    let kept: BTreeMap<String, (bool, String)> = parsed(&messages(&late.out))
        .into_iter()
        .map(|(retained, topic, payload)| (topic, (retained, payload)))
        .collect();
    assert_eq!(
        kept.get("home/home/doorbell/buzz"),
        Some(&(true, "ON".to_owned())),
        "{kept:?}"
    );
    let (retained, config) = &kept["homeassistant/binary_sensor/circuit_home_buzzer/buzz/config"];
    assert!(retained);
    let config: Json = serde_json::from_str(config).expect("JSON");
    assert_eq!(config["state_topic"], "home/home/buzzer/buzz");
    let _ = std::fs::remove_dir_all(&dir);
}
