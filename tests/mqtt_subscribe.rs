//! `--subscribe mqtt://HOST/FILTER`: a server sketch fed by a real broker
//! (mosquitto, tests/support/mosquitto.rs) and mosquitto's own clients.
//! Each message runs the loop once and is acknowledged to the broker after;
//! the loop's acknowledgement goes to the publisher's MQTT 5 response topic
//! or to `--reply-topic`; a payload the loop refuses is counted, logged
//! once and never delivered again; refusals by the broker end the run with
//! exit 1; a kept session delivers what was published while the sketch was down.

mod support;

use support::mosquitto::{client, messages, Broker};
use support::{rising_edges, start, start_program, start_with, Finished, Running, PATIENCE};

/// The crash tests' sketches: a sink that logs each message its loop runs on.
const CRASH: &str = env!("CARGO_BIN_EXE_crash");

/// The levels published in order to the buzzer: three rises.
const LEVELS: [&str; 7] = ["0", "1", "0", "1", "1", "0", "1"];

/// Publishes each of `payloads` in order on `topic` at QoS 1, one
/// `mosquitto_pub` each (each done before the next starts), with `extra`
/// options (`-V 5`, `-D …`).
fn publish(broker: &Broker, topic: &str, payloads: &[&str], extra: &[&str]) {
    let port = broker.port().to_string();
    for payload in payloads {
        let mut args = vec!["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", topic];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-m", payload]);
        let published = client("mosquitto_pub", &args).finish(PATIENCE);
        assert_eq!(published.code(), 0, "{published:?}; {}", broker.log());
    }
}

/// A buzzer subscribed with `args`, once it serves (and so is subscribed).
fn buzzer(args: &[&str]) -> Running {
    let mut all = vec!["buzzer", "-p", "0"];
    all.extend_from_slice(args);
    let mut buzzer = start(&all);
    buzzer.port();
    buzzer
}

/// Stops `running` with SIGTERM; what it did.
fn stop(running: Running) -> Finished {
    running.signal("TERM");
    running.finish(PATIENCE)
}

/// The buzzer's lines that start with `starts` (after a `warning: `, if any).
fn said<'a>(finished: &'a Finished, starts: &str) -> Vec<&'a str> {
    finished
        .lines_of("buzzer")
        .into_iter()
        .filter(|line| line.trim_start_matches("warning: ").starts_with(starts))
        .collect()
}

/// Waits for a line holding `text`, which may have come already (a kept
/// session's messages can run before the sketch says it serves).
fn until(running: &mut Running, text: &str) {
    if !running.out.iter().any(|line| line.contains(text)) {
        running.wait_for(PATIENCE, |line| line.contains(text));
    }
}

#[test]
fn levels_published_to_a_subscribed_buzzer_buzz_on_each_rise() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let filter = broker.url("pins/+");
    let mut buzzer = buzzer(&["--subscribe", &filter]);
    publish(&broker, "pins/a", &LEVELS, &[]);
    let bits: Vec<u8> = LEVELS.iter().map(|level| level.parse().unwrap()).collect();
    let rises = rising_edges(&bits);
    buzzer.wait_for(PATIENCE, |line| line.contains(&format!("buzz #{rises}")));
    let buzzer = stop(buzzer);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    assert_eq!(said(&buzzer, "buzz #").len(), rises, "{buzzer:?}");
    assert_eq!(
        said(&buzzer, "subscribed: "),
        [format!("subscribed: 7 messages from {filter}").as_str()],
        "{buzzer:?}"
    );
    assert_eq!(
        said(&buzzer, "served "),
        ["served 0 messages from 0 peers"],
        "{buzzer:?}"
    );
}

#[test]
fn a_paho_publisher_feeds_the_buzzer_and_gets_its_acknowledgements() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let Some(python) = support::python() else {
        return;
    };
    let broker = Broker::start();
    let filter = broker.url("pins/+");
    let mut buzzer = buzzer(&["--subscribe", &filter]);
    // paho-mqtt, a client foreign to circuit, over MQTT 5 with a response
    // topic: each level's acknowledgement comes back, in order.
    let port = broker.port().to_string();
    let mut args = vec![
        support::script("mqtt_pub.py"),
        "--port".into(),
        port,
        "--topic".into(),
        "pins/paho".into(),
        "--protocol".into(),
        "5".into(),
        "--response-topic".into(),
        "answers/paho".into(),
    ];
    args.extend(LEVELS.iter().map(|level| level.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let paho = start_program(&python, &args).finish(PATIENCE);
    assert_eq!(paho.code(), 0, "{paho:?}; {}", broker.log());
    let answers: Vec<&str> = paho
        .out
        .iter()
        .filter_map(|line| line.strip_prefix("answers/paho "))
        .collect();
    assert_eq!(
        answers.len(),
        LEVELS.len(),
        "one answer per level: {paho:?}"
    );
    let bits: Vec<u8> = LEVELS.iter().map(|level| level.parse().unwrap()).collect();
    let rises = rising_edges(&bits);
    buzzer.wait_for(PATIENCE, |line| line.contains(&format!("buzz #{rises}")));
    let buzzer = stop(buzzer);
    assert_eq!(
        said(&buzzer, "buzz #").len(),
        rises,
        "buzzes = rises: {buzzer:?}"
    );
    assert_eq!(
        said(&buzzer, "subscribed: "),
        [format!("subscribed: 7 messages from {filter}").as_str()],
        "{buzzer:?}"
    );
}

#[test]
fn a_publisher_with_a_response_topic_gets_the_acknowledgement_there() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let buzzer = buzzer(&["--subscribe", &broker.url("pins/+")]);
    let mut answers = broker.mosquitto_sub(&[
        "-V",
        "5",
        "-C",
        "2",
        "-q",
        "1",
        "-t",
        "answers/me",
        "-F",
        "%t %p %D",
    ]);
    answers.wait_for(PATIENCE, |line| line.starts_with("Subscribed (mid"));
    let response = ["-V", "5", "-D", "publish", "response-topic", "answers/me"];
    let first: Vec<&str> = [&response[..], &["-D", "publish", "correlation-data", "c1"]].concat();
    publish(&broker, "pins/a", &["1"], &first);
    let second: Vec<&str> = [&response[..], &["-D", "publish", "correlation-data", "c2"]].concat();
    publish(&broker, "pins/a", &["0"], &second);
    let answers = answers.finish(PATIENCE);
    assert_eq!(answers.code(), 0, "{answers:?}");
    assert_eq!(
        messages(&answers.out),
        ["answers/me bzzz c1", "answers/me n/a c2"],
        "{}",
        broker.log()
    );
    assert_eq!(stop(buzzer).code(), 0);
}

#[test]
fn reply_topic_takes_the_acknowledgements_over_mqtt_3() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let filter = format!("{}?version=3", broker.url("pins/+"));
    let buzzer = buzzer(&["--subscribe", &filter, "--reply-topic", "{topic}/ack"]);
    assert!(buzzer_said(&buzzer, "(MQTT 3.1.1)"), "{:?}", buzzer.out);
    let acks = broker.counting_sub("pins/+/ack", 3);
    publish(&broker, "pins/a", &["1", "0"], &["-V", "311"]);
    publish(&broker, "pins/b", &["1"], &["-V", "311"]);
    let acks = acks.finish(PATIENCE);
    assert_eq!(
        messages(&acks.out),
        ["pins/a/ack bzzz", "pins/a/ack n/a", "pins/b/ack bzzz"],
        "{}",
        broker.log()
    );
    let buzzer = stop(buzzer);
    assert_eq!(
        said(&buzzer, "subscribed: "),
        [format!("subscribed: 3 messages from {filter}").as_str()],
        "{buzzer:?}"
    );
}

/// Whether `running` said a line holding `text` so far.
fn buzzer_said(running: &Running, text: &str) -> bool {
    running.out.iter().any(|line| line.contains(text))
}

#[test]
fn a_payload_the_loop_refuses_is_counted_logged_once_and_not_delivered_again() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let filter = broker.url("pins/+");
    let args = ["--subscribe", filter.as_str(), "--max-message", "8"];
    let mut first = buzzer(&args);
    // Text where the loop wants a number, twice; one over --max-message; then a level.
    publish(
        &broker,
        "pins/a",
        &["loud", "louder", "1111111111", "1"],
        &[],
    );
    first.wait_for(PATIENCE, |line| line.contains("buzz #1"));
    let first = stop(first);
    assert_eq!(first.code(), 0, "{first:?}");
    let refusals = said(&first, "refused a message on pins/a");
    assert_eq!(refusals.len(), 1, "{first:?}");
    assert!(refusals[0].contains("loud"), "{first:?}");
    assert_eq!(
        said(&first, "subscribed: "),
        [format!("subscribed: 4 messages from {filter}, 3 refused").as_str()],
        "{first:?}"
    );
    // The same session again: the refused messages were acknowledged, so
    // the broker has nothing left for it but what comes now.
    let mut again = buzzer(&args);
    publish(&broker, "pins/a", &["0", "1"], &[]);
    again.wait_for(PATIENCE, |line| line.contains("buzz #1"));
    let again = stop(again);
    assert_eq!(
        said(&again, "subscribed: "),
        [format!("subscribed: 2 messages from {filter}").as_str()],
        "{again:?}"
    );
    assert!(said(&again, "refused").is_empty(), "{again:?}");
}

#[test]
fn a_subscription_the_broker_refuses_exits_1_naming_the_filter() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::builder().deny_subscribe(&["secret/#"]).start();
    for version in ["", "?version=3"] {
        let filter = format!("{}{version}", broker.url("secret/#"));
        let refused = start(&["buzzer", "-p", "0", "--subscribe", &filter]).finish(PATIENCE);
        assert_eq!(refused.code(), 1, "{refused:?}");
        let said = [&refused.out[..], &refused.err[..]].concat().join("\n");
        assert!(
            said.contains("refused the subscription to \"secret/#\""),
            "{said}"
        );
        assert!(!said.contains("serving on"), "{said}");
    }
}

#[test]
fn a_login_the_broker_refuses_exits_1_saying_so() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::builder().users(&[("pin", "right")]).start();
    let url = format!("mqtt://pin@127.0.0.1:{}/pins/+", broker.port());
    let env = [("CIRCUIT_MQTT_PASSWORD", "wrong")];
    let refused = start_with(&["buzzer", "-p", "0", "--subscribe", &url], &env).finish(PATIENCE);
    assert_eq!(refused.code(), 1, "{refused:?}");
    let said = [&refused.out[..], &refused.err[..]].concat().join("\n");
    assert!(said.contains("refused the login"), "{said}");
    // The right password gets in.
    let mut right = start_with(
        &["buzzer", "-p", "0", "--subscribe", &url],
        &[("CIRCUIT_MQTT_PASSWORD", "right")],
    );
    right.port();
    assert_eq!(stop(right).code(), 0);
}

#[test]
fn messages_published_while_the_sketch_is_down_arrive_when_it_is_back() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    for version in ["", "?version=3"] {
        let filter = format!("{}{version}", broker.url("pins/+"));
        // Its first run makes the session; nothing comes then.
        let first = stop(buzzer(&["--subscribe", &filter]));
        assert_eq!(first.code(), 0, "{first:?}");
        publish(&broker, "pins/a", &LEVELS, &[]);
        let mut back = buzzer(&["--subscribe", &filter]);
        until(&mut back, "buzz #3");
        let back = stop(back);
        assert_eq!(said(&back, "buzz #").len(), 3, "{back:?}");
        assert_eq!(
            said(&back, "subscribed: "),
            [format!("subscribed: 7 messages from {filter}").as_str()],
            "{back:?}"
        );
    }
}

#[test]
fn a_broker_that_goes_away_is_said_once_and_reached_again() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let mut broker = Broker::start();
    let mut buzzer = buzzer(&["--subscribe", &broker.url("pins/+")]);
    broker.stop();
    buzzer.wait_for(PATIENCE, |line| line.contains("cannot reach the broker"));
    broker.restart();
    buzzer.wait_for(PATIENCE, |line| line.contains("reached the broker"));
    publish(&broker, "pins/a", &["1"], &[]);
    buzzer.wait_for(PATIENCE, |line| line.contains("buzz #1"));
    let buzzer = stop(buzzer);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let unreachable = buzzer
        .out
        .iter()
        .filter(|line| line.contains("cannot reach the broker"))
        .count();
    assert_eq!(unreachable, 1, "{buzzer:?}");
}

#[test]
fn a_mistaken_filter_exits_2() {
    let bad = support::run(&["buzzer", "--subscribe", "mqtt://localhost/pins/#/a"]);
    assert_eq!(bad.code(), 2, "{bad:?}");
    assert!(bad.err.join("\n").contains("last level"), "{bad:?}");
    let bad = support::run(&["buzzer", "--reply-topic", "acks/#"]);
    assert_eq!(bad.code(), 2, "{bad:?}");
}

#[test]
fn a_circuit_files_sketch_subscribes() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let dir = std::env::temp_dir().join(format!("circuit-mqtt-sub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("subscribed.toml");
    let filter = broker.url("pins/+");
    std::fs::write(
        &file,
        format!("name = \"subscribed\"\n\n[sketches.buzzer]\nsubscribe = [\"{filter}\"]\n"),
    )
    .unwrap();
    let mut up = start(&["up", file.to_str().unwrap()]);
    up.wait_for(PATIENCE, |line| line.contains("sketches up"));
    publish(&broker, "pins/a", &["0", "1"], &[]);
    up.wait_for(PATIENCE, |line| line.contains("buzz #1"));
    let up = stop(up);
    assert_eq!(up.code(), 0, "{up:?}");
    assert_eq!(
        said(&up, "subscribed: "),
        [format!("subscribed: 2 messages from {filter}").as_str()],
        "{up:?}"
    );
    // A mistaken URL in the file is an error at its place.
    std::fs::write(
        &file,
        "name = \"subscribed\"\n\n[sketches.buzzer]\nsubscribe = [\"mqtt://h/a/#/b\"]\n",
    )
    .unwrap();
    let bad = support::run(&["up", file.to_str().unwrap()]);
    assert_eq!(bad.code(), 2, "{bad:?}");
    let said = bad.err.join("\n");
    assert!(said.contains("subscribed.toml:4:"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn acknowledgements_the_subscription_would_take_back_are_refused_at_start() {
    let looping = support::run(&[
        "buzzer",
        "-p",
        "0",
        "--subscribe",
        "mqtt://127.0.0.1:9/pins/#",
        "--reply-topic",
        "{topic}/ack",
    ]);
    assert_eq!(looping.code(), 2, "{looping:?}");
    let said = [&looping.out[..], &looping.err[..]].concat().join("\n");
    assert!(said.contains("feed on its own answers"), "{said}");
}

#[test]
fn an_unreachable_broker_is_said_once_while_websocket_peers_are_served() {
    let filter = format!("mqtt://127.0.0.1:{}/pins/+", support::dead_port());
    let mut buzzer = start(&["buzzer", "-p", "0", "--subscribe", &filter]);
    let port = buzzer.port();
    assert!(
        buzzer_said(&buzzer, "cannot reach the broker"),
        "{:?}",
        buzzer.out
    );
    let url = format!("ws://localhost:{port}/pin");
    let probe = support::run(&["probe", &url, "--count", "2", "--every", "0"]);
    assert_eq!(probe.code(), 0, "{probe:?}");
    buzzer.wait_for(PATIENCE, |line| line.contains("buzz #1"));
    let buzzer = stop(buzzer);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    assert_eq!(
        said(&buzzer, "cannot reach the broker").len(),
        1,
        "{buzzer:?}"
    );
    assert_eq!(
        said(&buzzer, "served "),
        ["served 2 messages from 1 peer"],
        "{buzzer:?}"
    );
    assert_eq!(
        said(&buzzer, "subscribed: "),
        [format!("subscribed: 0 messages from {filter}").as_str()],
        "{buzzer:?}"
    );
}

#[test]
fn a_message_whose_loop_did_not_return_is_delivered_again_after_a_crash() {
    if Broker::skip_reason().is_some() {
        return;
    }
    let broker = Broker::start();
    let filter = broker.url("work");
    let sink = |pause: &str| {
        start_program(
            CRASH,
            &["sink", "-p", "0", "--pause", pause, "--subscribe", &filter],
        )
    };
    // Its session first, then the messages.
    let mut first = sink("0");
    first.port();
    let first = stop(first);
    assert_eq!(first.code(), 0, "{first:?}");
    publish(&broker, "work", &["m1", "m2", "m3"], &[]);
    // A second over each message: killed once the first is done, while
    // the loop is on the second (the broker sent all three at once).
    let mut crashing = sink("1000000");
    until(&mut crashing, "got m1");
    crashing.signal("KILL");
    let crashed = crashing.finish(PATIENCE);
    let ran = got(&crashed);
    let mut back = sink("0");
    until(&mut back, "got m3");
    let back = stop(back);
    // What the loop ran on before the crash may come again (its PUBACK may
    // not have gone out); what it had not run on must.
    let again = got(&back);
    for message in ["m1", "m2", "m3"] {
        assert!(
            ran.contains(&message) || again.contains(&message),
            "{message} lost: {crashed:?} {back:?}"
        );
    }
    assert_eq!(again.last(), Some(&"m3"), "{back:?}");
}

/// The messages a sink's loop ran on, in order.
fn got(sink: &Finished) -> Vec<&str> {
    sink.lines_of("sink")
        .into_iter()
        .filter_map(|line| line.strip_prefix("got "))
        .collect()
}
