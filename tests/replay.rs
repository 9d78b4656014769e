//! Replays touch nothing outside the process: `SKETCH --replay` and
//! `up FILE --replay` send a link's messages nowhere (no socket, no dial, no
//! backoff) and record them on the link's lane (`iopin.buzzer.0.out`), which
//! a run with `--vcd` records too and `--check` compares where the recording
//! holds it.

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use circuit_runtime::observe::inputs::{read, Changes};
use support::{dead_port, run};

/// The lane of what the pin's (first) buzzer link sent.
const LANE: &str = "iopin.buzzer.0.out";

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A recording of the demo circuit, 20 ticks with seed 4, in `dir`.
fn recorded(dir: &Path) -> PathBuf {
    let recording = dir.join("circuit.vcd");
    let circuit = run(&[
        "circuit",
        "-t",
        "20",
        "-d",
        "0.01",
        "--seed",
        "4",
        "-q",
        "--vcd",
        recording.to_str().unwrap(),
    ]);
    assert_eq!(circuit.code(), 0, "{circuit:?}");
    recording
}

/// A listener nobody has dialed yet; anything that dials it waits in its
/// backlog, even after the dialing process ended.
fn listening() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn assert_never_dialed(listener: &TcpListener) {
    match listener.accept() {
        Err(err) if err.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the replay connected to the peer outside: {other:?}"),
    }
}

/// The values of `signal` in `changes`.
fn values<'a>(changes: &'a Changes, signal: &str) -> Vec<&'a str> {
    changes
        .get(signal)
        .unwrap_or_else(|| panic!("{signal} in {:?}", changes.keys()))
        .iter()
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The recording's VCD text with `signal` changed by `edit` (its
/// declaration and changes, by the signal's short name within its sketch).
fn edited(recording: &Path, short: &str, edit: impl Fn(&str, &str) -> Option<String>) -> String {
    let text = std::fs::read_to_string(recording).unwrap();
    let code = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("$var string 1 ")
                .filter(|rest| rest.ends_with(&format!(" {short} $end")))
        })
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the lane {short} in the recording"))
        .to_owned();
    text.lines()
        .filter_map(|line| edit(line, &code))
        .map(|line| line + "\n")
        .collect()
}

#[test]
fn a_run_records_what_each_link_sent_and_a_replay_sends_none_of_it() {
    let dir = scratch("replay-listening");
    let recording = recorded(&dir);
    let recorded = read(&recording).expect("the recording");
    // What the pin sent its buzzer, one event per message: every level it
    // drew, where its level signal keeps only the changes.
    let mut changes = values(&recorded, LANE);
    assert_eq!(changes.len(), 60);
    changes.dedup();
    assert_eq!(changes, values(&recorded, "iopin.level"));
    // A buzzer listens where the pin's link points: the replay never dials it.
    let (buzzer, port) = listening();
    let url = format!("ws://127.0.0.1:{port}/pin");
    let replay = run(&[
        "iopin",
        "--replay",
        recording.to_str().unwrap(),
        "--check",
        "--seed",
        "4",
        "--buzzer",
        &url,
    ]);
    assert_eq!(replay.code(), 0, "{replay:?}");
    assert_never_dialed(&buzzer);
    // The link's lane was compared with the recording's, beside the level.
    let matched = format!(
        "the replay matches the recording: {} changes of 2 signals",
        60 + changes.len()
    );
    assert!(
        replay.lines_of("iopin").contains(&matched.as_str()),
        "{replay:?}"
    );
}

#[test]
fn a_replay_with_nobody_at_its_link_tries_nothing_and_records_what_it_would_send() {
    let dir = scratch("replay-nobody");
    let recording = recorded(&dir);
    let url = format!("ws://127.0.0.1:{}/pin", dead_port());
    let mine = dir.join("replay.vcd");
    let replay = run(&[
        "iopin",
        "--replay",
        recording.to_str().unwrap(),
        "--seed",
        "4",
        "--buzzer",
        &url,
        "--vcd",
        mine.to_str().unwrap(),
    ]);
    assert_eq!(replay.code(), 0, "{replay:?}");
    let pin = replay.lines_of("iopin");
    // No connect attempt, so nothing down, retried or left undelivered.
    for word in ["is down", "retrying", "not delivered", "dead-lettered"] {
        assert!(!pin.iter().any(|line| line.contains(word)), "{replay:?}");
    }
    let said = format!("link to {url} sends nothing in a replay");
    assert!(pin.iter().any(|line| line.starts_with(&said)), "{replay:?}");
    // The replay's own recording holds what the link would have sent: what the run sent.
    let (before, again) = (read(&recording).unwrap(), read(&mine).unwrap());
    assert_eq!(values(&again, LANE), values(&before, LANE));
}

#[test]
fn check_names_a_link_lane_that_differs_and_skips_one_the_recording_lacks() {
    let dir = scratch("replay-lane");
    let recording = recorded(&dir);
    // The recording says the first level sent was another.
    let first = values(&read(&recording).unwrap(), LANE)[0].to_owned();
    let other = if first == "1" { "0" } else { "1" };
    let flipped = std::cell::Cell::new(false);
    let altered = dir.join("altered.vcd");
    let text = edited(&recording, "buzzer.0.out", |line, code| {
        if !flipped.get() && line == format!("s{first} {code}") {
            flipped.set(true);
            return Some(format!("s{other} {code}"));
        }
        Some(line.to_owned())
    });
    assert!(flipped.get(), "a level sent in the recording");
    std::fs::write(&altered, text).unwrap();
    let check = run(&[
        "iopin",
        "--replay",
        altered.to_str().unwrap(),
        "--check",
        "--seed",
        "4",
        "--buzzer",
        &format!("ws://127.0.0.1:{}/pin", dead_port()),
    ]);
    assert_eq!(check.code(), 1, "{check:?}");
    let said = check.err.join("\n");
    assert!(said.contains(&format!("{LANE} at ")), "{said}");
    assert!(
        said.contains(&format!("expected {other}, got {first}")),
        "{said}"
    );
    assert!(
        !said.contains("iopin.level"),
        "only the lane differs: {said}"
    );
    // A recording made before links were recorded (no lane) still checks the signals.
    let old = dir.join("old.vcd");
    let text = edited(&recording, "buzzer.0.out", |line, code| {
        let ours = line.ends_with(&format!(" {code}"))
            || line.ends_with(&format!(" {code} buzzer.0.out $end"));
        (!ours).then(|| line.to_owned())
    });
    std::fs::write(&old, text).unwrap();
    assert!(!read(&old).unwrap().contains_key(LANE));
    let check = run(&[
        "iopin",
        "--replay",
        old.to_str().unwrap(),
        "--check",
        "--seed",
        "4",
        "--buzzer",
        &format!("ws://127.0.0.1:{}/pin", dead_port()),
    ]);
    assert_eq!(check.code(), 0, "{check:?}");
    let levels = read(&old).unwrap()["iopin.level"].len();
    let matched = format!(
        "the replay matches the recording: {levels} changes of 1 signals; 1 link lane left out"
    );
    assert!(
        check
            .lines_of("iopin")
            .iter()
            .any(|line| line.starts_with(&matched)),
        "{check:?}"
    );
}

#[test]
fn a_circuit_replay_sends_nothing_out_of_the_circuit() {
    let dir = scratch("replay-up");
    let recording = recorded(&dir);
    let (buzzer, port) = listening();
    let file = dir.join("outside.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/circuits/outside.toml"),
    )
    .unwrap();
    std::fs::write(
        &file,
        text.replace("127.0.0.1:9/", &format!("127.0.0.1:{port}/")),
    )
    .unwrap();
    let up = run(&[
        "up",
        file.to_str().unwrap(),
        "--replay",
        recording.to_str().unwrap(),
        "--seed",
        "4",
    ]);
    assert_eq!(up.code(), 0, "{up:?}");
    assert_never_dialed(&buzzer);
    // The clock of the file still ticked the pin, over the circuit's own wire.
    assert!(
        up.lines_of("clock")
            .contains(&"3 ticks sent, 3 acknowledged, 0 resent"),
        "{up:?}"
    );
}
