//! Circuit files through `sketches up FILE`: the shipped demo, a circuit of
//! another shape (one pin feeding two buzzers, a second clock), and one
//! malformed file per rule, each reported with where it is and nothing started.

mod support;

use std::path::{Path, PathBuf};

use support::{drawn_bits, rising_edges, run};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

#[test]
fn the_demo_circuit_file_runs_clock_iopin_and_buzzer() {
    let demo = workspace().join("sketches/circuits/demo.toml");
    let up = run(&["up", demo.to_str().unwrap(), "--seed", "7"]);
    assert_eq!(up.code(), 0, "{up:?}");
    let clock = up.lines_of("clock");
    assert!(clock.contains(&"> 4") && clock.contains(&"5 ticks sent, 5 acknowledged, 0 resent"));
    let bits = drawn_bits(&up.lines_of("iopin"));
    assert_eq!(bits.len(), 15, "three bits a tick: {up:?}");
    let buzzes = up
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits));
    // Every sketch ends with a line of its own.
    assert!(
        up.lines_of("iopin")
            .contains(&"served 5 messages from 1 peer"),
        "{up:?}"
    );
    assert!(
        up.lines_of("buzzer")
            .contains(&"served 15 messages from 1 peer"),
        "{up:?}"
    );
    // The file's [summary] counts signals: the same line as the `circuit` command's.
    let summary =
        format!("circuit demo: 5 ticks sent, 5 acks received, 15 bits drawn, {buzzes} buzzes");
    assert!(
        up.lines_of("up").contains(&summary.as_str()),
        "the summary: {up:?}"
    );
}

#[test]
fn one_pin_feeds_two_buzzers_through_a_fan_out_link() {
    let file = workspace().join("tests/circuits/fan-out.toml");
    let up = run(&["up", file.to_str().unwrap(), "-q", "--seed", "3"]);
    assert_eq!(up.code(), 0, "{up:?}");
    // -q keeps the lifecycle lines: each buzzer says what it acknowledged, on which path.
    let done = |name: &str| {
        up.lines_of(name)
            .into_iter()
            .find(|line| line.starts_with("done processing messages"))
            .unwrap_or_else(|| panic!("{name} has an end-of-run line: {up:?}"))
            .to_owned()
    };
    assert!(
        done("left").contains("path=/pin, 24 acknowledged"),
        "{up:?}"
    );
    assert!(
        done("right").contains("path=/speaker, 24 acknowledged"),
        "{up:?}"
    );
    assert!(done("echo").contains("3 acknowledged"), "{up:?}");
    let links: Vec<&str> = up
        .lines_of("pin")
        .into_iter()
        .filter(|line| line.starts_with("link to "))
        .collect();
    assert_eq!(links.len(), 2, "one line per link: {links:?}");
    assert!(
        links.iter().all(|line| line.ends_with(": 24 delivered")),
        "{links:?}"
    );
    assert!(
        up.lines_of("up")
            .contains(&"circuit fan-out: 9 ticks sent, 9 acknowledged"),
        "{up:?}"
    );
}

#[test]
fn a_fan_out_delivers_the_same_levels_to_every_buzzer() {
    let file = workspace().join("tests/circuits/fan-out.toml");
    let up = run(&["up", file.to_str().unwrap(), "--seed", "3"]);
    assert_eq!(up.code(), 0, "{up:?}");
    let bits = drawn_bits(&up.lines_of("pin"));
    assert_eq!(bits.len(), 24);
    for (name, sound) in [("left", "beep"), ("right", "boop")] {
        let buzzes: Vec<&str> = up
            .lines_of(name)
            .into_iter()
            .filter(|line| line.starts_with("buzz #"))
            .collect();
        assert_eq!(buzzes.len(), rising_edges(&bits), "{name}: {up:?}");
        assert!(
            buzzes.iter().all(|line| line.ends_with(sound)),
            "{buzzes:?}"
        );
    }
}

#[test]
fn every_malformed_file_is_reported_where_it_is_and_nothing_starts() {
    let folder = workspace().join("tests/circuits/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "one file per rule: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} says what it expects",
            file.display()
        );
        let shown = file.to_str().unwrap();
        let up = run(&["up", shown]);
        assert_eq!(up.code(), 2, "{}: {up:?}", file.display());
        assert!(
            !up.out.iter().any(|line| line.contains("serving on")),
            "nothing started: {up:?}"
        );
        let said = up.err.join("\n");
        assert!(said.contains("nothing was started"), "{said}");
        let reported: Vec<&String> = up
            .err
            .iter()
            .filter(|line| line.starts_with(&format!("{shown}:")))
            .collect();
        assert_eq!(
            reported.len(),
            expected.len(),
            "{}: every mistake, and only those: {said}",
            file.display()
        );
        for (line, expected) in reported.iter().zip(&expected) {
            assert!(
                line.starts_with(&format!("{shown}:{expected}")),
                "{}: expected `{expected}`, got `{line}`",
                file.display()
            );
        }
    }
}

#[test]
fn a_missing_circuit_file_is_a_usage_error() {
    let up = run(&["up", "/nonexistent/circuit.toml"]);
    assert_eq!(up.code(), 2, "{up:?}");
    assert!(up
        .err
        .join("\n")
        .contains("cannot read /nonexistent/circuit.toml"));
}

#[tokio::test]
async fn a_circuits_analyzer_page_derives_its_rows_from_the_signals() {
    use futures_util::StreamExt;

    let file = workspace().join("tests/circuits/fan-out.toml");
    let (up, address) = tokio::task::spawn_blocking(move || {
        let file = file.to_str().unwrap().to_owned();
        let mut up = support::start(&["up", &file, "-q", "--seed", "3", "--web", "127.0.0.1:0"]);
        let line = up.wait_for(support::PATIENCE, |line| {
            line.contains("logic analyzer on http://")
        });
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("an address")
            .to_owned();
        up.wait_for(support::PATIENCE, |line| line.contains("run finished"));
        (up, address)
    })
    .await
    .unwrap();
    let mut page = support::connect(&format!("ws://{address}/events")).await;
    let mut lanes = Vec::new();
    let mut hello = None;
    loop {
        let message = tokio::time::timeout(support::PATIENCE, page.next())
            .await
            .expect("the page's stream goes on")
            .expect("a message")
            .expect("a frame");
        let text = message.into_text().unwrap();
        let json: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        match json["type"].as_str() {
            Some("hello") => hello = Some(json),
            Some("lane") => lanes.push(format!("{} {}", json["id"], json["kind"])),
            Some("end") => break,
            _ => {}
        }
    }
    let hello = hello.expect("a hello first");
    assert_eq!(hello["title"], "circuit fan-out");
    assert_eq!(
        hello["signals"],
        serde_json::json!([]),
        "no rows declared: derived"
    );
    for wanted in [
        r#""clock.tick" "number""#,
        r#""clock.ack" "text""#,
        r#""pin.level" "bit""#,
        r#""left.buzz" "bit""#,
        r#""right.buzz" "bit""#,
        r#""metronome.tick" "number""#,
    ] {
        assert!(
            lanes.iter().any(|lane| lane == wanted),
            "{wanted} in {lanes:?}"
        );
    }
    drop(page);
    let up = tokio::task::spawn_blocking(move || {
        up.signal("TERM");
        up.finish(support::PATIENCE)
    })
    .await
    .unwrap();
    assert_eq!(up.code(), 0, "{up:?}");
}

#[test]
fn a_circuit_whose_ticks_came_from_outside_replays_from_a_recording_and_is_checked() {
    let dir = std::env::temp_dir().join(format!("circuit-up-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let recording = dir.join("run.vcd");
    let circuit = run(&[
        "circuit",
        "-t",
        "12",
        "-d",
        "0.01",
        "--seed",
        "4",
        "-q",
        "--vcd",
        recording.to_str().unwrap(),
    ]);
    assert_eq!(circuit.code(), 0, "{circuit:?}");
    let file = workspace().join("tests/circuits/pin-and-buzzer.toml");
    let replay = |seed: &str| {
        run(&[
            "up",
            file.to_str().unwrap(),
            "--replay",
            recording.to_str().unwrap(),
            "--check",
            "--seed",
            seed,
            "-q",
        ])
    };
    // The pin takes the recorded ticks, draws the same bits with the same seed,
    // and the buzzer buzzes as it did.
    let same = replay("4");
    assert_eq!(same.code(), 0, "{same:?}");
    // Every change of the pin's level and the buzz, as the recording holds
    // them (a repeated value is no change, and not recorded), and every
    // level the pin's link was given (an event each).
    let recorded = circuit_runtime::observe::inputs::read(&recording).unwrap();
    let changes = recorded["iopin.level"].len() + recorded["buzzer.buzz"].len();
    assert!(changes < 72, "36 levels and 36 buzzes, repeats left out");
    let sent = &recorded["iopin.buzzer.0.out"];
    assert_eq!(sent.len(), 36, "one event per level sent: {sent:?}");
    let matched = format!(
        "the replay matches the recording: {} changes of 3 signals",
        changes + sent.len()
    );
    assert!(
        same.lines_of("up")
            .iter()
            .any(|line| line.starts_with(&matched)),
        "{same:?}"
    );
    // Another seed draws other bits: the check says where it first went another way.
    let other = replay("5");
    assert_eq!(other.code(), 1, "{other:?}");
    assert!(
        other.err.join("\n").contains("iopin.level at "),
        "{other:?}"
    );
}

#[test]
fn a_link_out_of_the_circuit_is_refused_under_sim_and_delivers_without() {
    let file = workspace().join("tests/circuits/outside.toml");
    // A peer outside the process does not follow the virtual clock: refused before anything runs.
    let sim = run(&["up", file.to_str().unwrap(), "--sim"]);
    assert_eq!(sim.code(), 2, "{sim:?}");
    let said = sim.err.join("\n");
    assert!(said.contains("--sim runs on a virtual clock"), "{said}");
    assert!(
        said.contains("iopin: link `buzzer` to ws://127.0.0.1:9/pin"),
        "names the sketch, the link and its URL: {said}"
    );
    assert!(
        !sim.out.iter().any(|line| line.contains("serving on")),
        "nothing started: {sim:?}"
    );
    // The same file, its URL pointed at a buzzer that runs apart, runs without --sim.
    let mut buzzer = support::start(&["buzzer", "-p", "0"]);
    let port = buzzer.port();
    let dir = std::env::temp_dir().join(format!("circuit-up-outside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let there = dir.join("outside.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &there,
        text.replace("127.0.0.1:9/", &format!("127.0.0.1:{port}/")),
    )
    .unwrap();
    let up = run(&["up", there.to_str().unwrap(), "-q"]);
    assert_eq!(up.code(), 0, "{up:?}");
    let delivered = format!("link to ws://127.0.0.1:{port}/pin: 9 delivered");
    assert!(up.lines_of("iopin").contains(&delivered.as_str()), "{up:?}");
    // Reachable or not, a peer outside is refused under --sim.
    let sim = run(&["up", there.to_str().unwrap(), "--sim"]);
    assert_eq!(sim.code(), 2, "{sim:?}");
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(support::PATIENCE);
    assert!(
        buzzer
            .lines_of("buzzer")
            .contains(&"served 9 messages from 1 peer"),
        "{buzzer:?}"
    );
}

/// Writes circuit file `name` for one test, in a folder of this test run.
fn circuit_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_link_that_delivered_nothing_fails_the_run_after_its_summary() {
    let port = support::dead_port();
    let file = circuit_file(
        "unreachable",
        &format!(
            r#"name = "unreachable"

[sketches.clock]
to = "iopin"
tacks = 3
delay = 0

[sketches.iopin]
buzzer = "ws://127.0.0.1:{port}/pin"  # nobody listens there
stop-timeout = 0.2
"#
        ),
    );
    let up = run(&["up", file.to_str().unwrap(), "-q"]);
    assert_eq!(up.code(), 1, "{up:?}");
    let link = format!(
        "warning: link to ws://127.0.0.1:{port}/pin: 0 delivered, 9 not delivered (9 lost); stopped after 0.2s (--stop-timeout)"
    );
    assert!(up.lines_of("iopin").contains(&link.as_str()), "{up:?}");
    assert_eq!(
        up.lines_of("up").last(),
        Some(
            &"warning: circuit unreachable: 3 ticks sent, 3 acknowledged; 9 messages lost (9 not delivered by the end)"
        ),
        "the summary says what was lost: {up:?}"
    );
    assert_eq!(
        up.err.last().map(String::as_str),
        Some(
            "[ up ] error: 9 messages lost (9 not delivered by the end); the lines above say where"
        ),
        "{up:?}"
    );
}

#[test]
fn set_replaces_a_value_of_the_file_and_is_checked_as_the_file_is() {
    let demo = workspace().join("sketches/circuits/demo.toml");
    let demo = demo.to_str().unwrap();
    let up = run(&[
        "up",
        demo,
        "--set",
        "clock.tacks=2",
        "--set",
        "clock.delay=0",
        "--set",
        "iopin.chance=0", // every bit a 1: one buzz
        "--set",
        "buzzer.sound=beep",
    ]);
    assert_eq!(up.code(), 0, "{up:?}");
    assert!(
        up.lines_of("clock")
            .contains(&"2 ticks sent, 2 acknowledged, 0 resent"),
        "{up:?}"
    );
    assert_eq!(
        up.lines_of("buzzer")
            .into_iter()
            .filter(|line| line.starts_with("buzz #"))
            .collect::<Vec<_>>(),
        ["buzz #1: beep"],
        "{up:?}"
    );

    let wrong = run(&[
        "up",
        demo,
        "--set",
        "clock.tacks=many",
        "--set",
        "clok.delay=0",
        "--set",
        "iopin.ping-interval=soon",
    ]);
    assert_eq!(wrong.code(), 2, "{wrong:?}");
    assert!(
        !wrong.out.iter().any(|line| line.contains("serving on")),
        "nothing started: {wrong:?}"
    );
    let said = wrong.err.join("\n");
    for expected in [
        "with its --set values has 3 mistakes; nothing was started",
        "\n--set clock.tacks=many: `tacks` cannot be \"many\": invalid digit found in string",
        "\n--set clok.delay=0: no sketch \"clok\" in this circuit (did you mean \"clock\"?)",
        "\n--set iopin.ping-interval=soon: `ping-interval` cannot be \"soon\": invalid float literal",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    let shapeless = run(&["up", demo, "--set", "tacks"]);
    assert_eq!(shapeless.code(), 2, "{shapeless:?}");
    assert!(
        shapeless.err.join("\n").contains("is not SKETCH.KEY=VALUE"),
        "{shapeless:?}"
    );
}

#[tokio::test]
async fn a_servers_ping_interval_in_the_file_drops_a_silent_peer() {
    let file = circuit_file("pinging", "[sketches.echo]\nping-interval = 0.2\n");
    let (up_port, mut up) = tokio::task::spawn_blocking(move || {
        let mut up = support::start(&["up", file.to_str().unwrap()]);
        (up.port(), up)
    })
    .await
    .unwrap();
    // A peer that says nothing and never reads, so never answers a ping: at
    // the default interval (20 s) it would be kept beyond this test's patience.
    let silent = support::connect(&format!("ws://127.0.0.1:{up_port}/")).await;
    let up = tokio::task::spawn_blocking(move || {
        let dropped = up.wait_for(support::PATIENCE, |line| {
            line.starts_with("[ echo ] done processing messages")
        });
        up.signal("TERM");
        (dropped, up.finish(support::PATIENCE))
    })
    .await
    .unwrap();
    drop(silent);
    assert!(up.0.contains("no answer to a keepalive ping"), "{up:?}");
    assert_eq!(up.1.code(), 0, "{up:?}");
}

#[test]
fn a_summary_count_of_a_signal_no_sketch_recorded_is_reported() {
    let demo = std::fs::read_to_string(workspace().join("sketches/circuits/demo.toml")).unwrap();
    let typo = demo.replace("\"buzzer.buzz\"", "\"buzzer.buz\"");
    assert_ne!(typo, demo);
    let file = circuit_file("typo", &typo);
    let up = run(&["up", file.to_str().unwrap(), "-q", "--set", "clock.delay=0"]);
    assert_eq!(up.code(), 0, "a warning, not a failure: {up:?}");
    let warning = "warning: the summary's \"buzzes\" counts buzzer.buz, which no sketch recorded during the run (did you mean \"buzzer.buzz\"?)";
    assert!(up.lines_of("up").contains(&warning), "{up:?}");
    assert!(
        up.lines_of("up")
            .last()
            .is_some_and(|line| line.ends_with("0 buzzes")),
        "{up:?}"
    );
    // The same file without the typo says nothing of the sort.
    let demo = workspace().join("sketches/circuits/demo.toml");
    let clean = run(&["up", demo.to_str().unwrap(), "-q", "--set", "clock.delay=0"]);
    assert!(
        !clean
            .out
            .iter()
            .any(|line| line.contains("no sketch recorded")),
        "{clean:?}"
    );
}
