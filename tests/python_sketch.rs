//! Sketches written in Python with `python/circuit_sketch` (run from the
//! source tree, `PYTHONPATH=python`, by the venv's Python) in circuits with
//! the Rust sketches: a Rust clock drives the Python pin, which drives a Rust
//! buzzer; the Python clock drives the Rust pin; a loop that raises, a busy
//! port, a token; and the package installs offline with pip.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use futures_util::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use support::{
    connect, dead_port, drawn_bits, python, rising_edges, run, script, start, start_program_with,
    Running, PATIENCE,
};

/// The repository's `python/` folder, where the package lives.
fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("python")
}

/// An example of `python/examples/`.
fn example(name: &str) -> String {
    package_dir()
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Starts `PYTHON SCRIPT ARGS…` with the package importable from the source tree.
fn start_python(python: &str, script: &str, args: &[&str]) -> Running {
    let package = package_dir().to_string_lossy().into_owned();
    let mut all = vec!["-u", script];
    all.extend_from_slice(args);
    start_program_with(python, &all, &[("PYTHONPATH", &package)])
}

#[test]
fn a_rust_clock_drives_the_python_pin_which_drives_a_rust_buzzer() {
    let Some(python) = python() else { return };
    let mut buzzer = start(&["buzzer", "-p", "0"]);
    let buzzer_port = buzzer.port();
    let buzzer_url = format!("ws://localhost:{buzzer_port}/pin");
    let mut pin = start_python(
        &python,
        &example("pin.py"),
        &["--port", "0", "--to", &buzzer_url],
    );
    let pin_port = pin.port().to_string();

    let clock = run(&["clock", "-p", &pin_port, "-t", "6", "-d", "0"]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let acks: Vec<&str> = clock
        .lines_of("clock")
        .into_iter()
        .filter_map(|line| line.strip_prefix("< "))
        .collect();
    assert_eq!(acks.len(), 6, "every tick acknowledged: {clock:?}");
    assert!(
        acks.iter()
            .all(|ack| ack.starts_with('[') && ack.len() == "[0, 1, 0]".len()),
        "each acknowledged with the pin's three bits: {acks:?}"
    );

    pin.signal("TERM");
    let pin = pin.finish(PATIENCE);
    assert_eq!(pin.code(), 0, "{pin:?}");
    let pin_lines = pin.lines_of("iopin");
    assert!(
        pin_lines.contains(&"Keyboard interruption, aborting."),
        "{pin:?}"
    );
    assert!(
        pin_lines.contains(
            &"done processing messages: path=/datafeed, 6 acknowledged, peer closed with 1000"
        ),
        "{pin:?}"
    );
    let bits = drawn_bits(&pin_lines);
    assert_eq!(bits.len(), 18, "three bits per tick: {pin:?}");
    assert!(
        pin_lines.contains(&format!("link to {buzzer_url}: 18 delivered").as_str()),
        "every level reached the buzzer: {pin:?}"
    );

    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    let buzzes = buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "bits {bits:?}; {buzzer:?}");
}

#[test]
fn a_python_link_to_a_peer_that_is_down_retries_in_the_background() {
    let Some(python) = python() else { return };
    // Nobody listens there yet; the buzzer takes the port by number later.
    let buzzer_port = dead_port().to_string();
    let buzzer_url = format!("ws://127.0.0.1:{buzzer_port}/pin");
    let mut pin = start_python(
        &python,
        &example("pin.py"),
        &["--port", "0", "--buzzer", &buzzer_url],
    );
    let pin_port = pin.port().to_string();
    pin.wait_for(PATIENCE, |line| {
        line.contains("not reachable yet") && line.contains("retrying in the background")
    });
    let clock = start(&["clock", "-p", &pin_port, "-t", "2", "-d", "0"]);
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", &buzzer_port]);
    buzzer.port();

    let clock = clock.finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    pin.signal("TERM");
    let pin = pin.finish(PATIENCE);
    assert_eq!(pin.code(), 0, "{pin:?}");
    let lines = pin.lines_of("iopin");
    let told = lines
        .iter()
        .filter(|line| line.contains("not reachable yet"))
        .count();
    assert_eq!(told, 1, "said once: {pin:?}");
    assert!(
        lines.contains(&format!("link to {buzzer_url}: connected").as_str()),
        "{pin:?}"
    );
    assert!(
        lines.contains(&format!("link to {buzzer_url}: 6 delivered").as_str()),
        "{pin:?}"
    );
    let bits = drawn_bits(&lines);
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    let buzzes = buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "bits {bits:?}; {buzzer:?}");
}

#[test]
fn the_python_clock_drives_the_rust_pin_and_exits_0_after_its_tacks() {
    let Some(python) = python() else { return };
    let mut buzzer = start(&["buzzer", "-p", "0"]);
    let buzzer_url = format!("ws://localhost:{}/pin", buzzer.port());
    let mut pin = start(&["iopin", "-p", "0", "--buzzer", &buzzer_url]);
    let pin_port = pin.port().to_string();

    let clock = start_python(
        &python,
        &example("clock.py"),
        &["-p", &pin_port, "-t", "4", "-d", "0.05"],
    )
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    let sent: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("> ")).collect();
    let acks: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("< ")).collect();
    assert_eq!(sent, ["0", "1", "2", "3"], "{clock:?}");
    assert_eq!(acks.len(), 4, "{clock:?}");
    assert_eq!(
        lines.last(),
        Some(&"4 ticks sent, 4 acknowledged, 0 resent"),
        "{clock:?}"
    );

    pin.signal("TERM");
    let pin = pin.finish(PATIENCE);
    let ticks: Vec<&str> = pin
        .lines_of("iopin")
        .into_iter()
        .filter_map(|line| line.strip_prefix("new tick triggered on /datafeed: "))
        .collect();
    assert_eq!(ticks, ["0", "1", "2", "3"], "{pin:?}");
    buzzer.signal("TERM");
    buzzer.finish(PATIENCE);
}

#[test]
fn the_python_clock_exits_1_when_no_server_answers() {
    let Some(python) = python() else { return };
    let port = dead_port().to_string();
    let clock = start_python(
        &python,
        &example("clock.py"),
        &["-p", &port, "-t", "2", "--retry-for", "0.5"],
    )
    .finish(PATIENCE);
    assert_eq!(clock.code(), 1, "{clock:?}");
    assert!(
        clock
            .lines_of("clock")
            .iter()
            .any(|line| line.starts_with("error: ") && line.contains("no server answered")),
        "{clock:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_loop_that_raises_answers_error_and_serves_the_next_message() {
    let Some(python) = python() else { return };
    let mut fussy = start_python(&python, &script("fussy.py"), &["-p", "0"]);
    let port = fussy.port();
    let mut peer = connect(&format!("ws://127.0.0.1:{port}/numbers")).await;
    let mut answers = Vec::new();
    for message in ["1", "13", "x", "13", "4"] {
        peer.send(Message::text(message)).await.unwrap();
        let answer = timeout(PATIENCE, peer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        answers.push(answer.into_text().unwrap().to_string());
    }
    assert_eq!(
        answers,
        [
            "2",
            "error: 13 is unlucky",
            "error: cannot read \"x\": invalid literal for int() with base 10: 'x'",
            "error: 13 is unlucky",
            "8"
        ]
    );
    peer.close(None).await.unwrap();
    let _ = timeout(PATIENCE, peer.next()).await;
    // The TCP connection ends with the client, as the closing handshake asks.
    drop(peer);
    fussy.wait_for(PATIENCE, |line| line.contains("done processing messages"));

    fussy.signal("INT");
    let fussy = fussy.finish(PATIENCE);
    assert_eq!(fussy.code(), 0, "{fussy:?}");
    let lines = fussy.lines_of("fussy");
    let refusals = lines
        .iter()
        .filter(|line| line.contains("refused a message from the peer on /numbers"))
        .count();
    assert_eq!(refusals, 1, "logged once per peer: {fussy:?}");
    assert!(
        lines.iter().any(|line| line.starts_with(
            "done processing messages: path=/numbers, 5 acknowledged (3 refused), peer closed with"
        )),
        "{fussy:?}"
    );
    assert!(
        lines.contains(&"Keyboard interruption, aborting."),
        "{fussy:?}"
    );
}

/// Sends `messages` one at a time on a new connection, as the link `resume`
/// names (identity, first number) when given, and returns the answers.
async fn exchange(url: &str, resume: Option<(&str, u64)>, messages: &[&str]) -> Vec<String> {
    let mut request = url.into_client_request().unwrap();
    if let Some((link, next)) = resume {
        let headers = request.headers_mut();
        headers.insert("Circuit-Link", link.parse().unwrap());
        headers.insert("Circuit-Next", next.to_string().parse().unwrap());
    }
    let (mut peer, _) = timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("connects in time")
        .expect("connects");
    let mut answers = Vec::new();
    for message in messages {
        peer.send(Message::text(*message)).await.unwrap();
        let answer = timeout(PATIENCE, peer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        answers.push(answer.into_text().unwrap().to_string());
    }
    peer.close(None).await.unwrap();
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_sketch_answers_a_resent_message_from_memory() {
    let Some(python) = python() else { return };
    let mut fussy = start_python(&python, &script("fussy.py"), &["-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/numbers", fussy.port());
    let link = "0123456789abcdef0123456789abcdef";

    assert_eq!(
        exchange(&url, Some((link, 1)), &["1", "2"]).await,
        ["2", "4"]
    );
    // The link lost those answers and resends both, then goes on.
    assert_eq!(
        exchange(&url, Some((link, 1)), &["1", "2", "3"]).await,
        ["2", "4", "6"]
    );
    // A plain peer has each of its messages run.
    assert_eq!(exchange(&url, None, &["1"]).await, ["2"]);

    fussy.wait_for(PATIENCE, |line| line.ends_with("ran on 3"));
    fussy.signal("TERM");
    let fussy = fussy.finish(PATIENCE);
    let lines = fussy.lines_of("fussy");
    let runs: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix("ran on "))
        .collect();
    assert_eq!(
        runs,
        ["1", "2", "3", "1"],
        "each message of the link run once: {fussy:?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("3 acknowledged (2 answered from memory, already processed)")),
        "{fussy:?}"
    );
}

#[test]
fn a_python_sketch_on_a_busy_port_exits_1_with_the_message() {
    let Some(python) = python() else { return };
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let fussy = start_python(&python, &script("fussy.py"), &["-p", &port]).finish(PATIENCE);
    assert_eq!(fussy.code(), 1, "{fussy:?}");
    assert!(
        fussy.lines_of("fussy").iter().any(|line| line
            .starts_with("error: Cannot bind to this port! Is the server already running?")),
        "{fussy:?}"
    );
    let bad_flag = start_python(&python, &script("fussy.py"), &["--no-such-flag"]).finish(PATIENCE);
    assert_eq!(bad_flag.code(), 2, "{bad_flag:?}");
}

#[test]
fn a_python_sketch_with_a_token_refuses_a_rust_clock_without_it() {
    let Some(python) = python() else { return };
    let mut fussy = start_python(
        &python,
        &script("fussy.py"),
        &["-p", "0", "--token", "s3cret"],
    );
    let port = fussy.port().to_string();

    let refused = run(&["clock", "-p", &port, "-t", "2", "-d", "0"]);
    assert_eq!(refused.code(), 1, "{refused:?}");
    assert!(
        refused
            .out
            .iter()
            .chain(&refused.err)
            .any(|line| line.contains("401")),
        "{refused:?}"
    );

    let served = run(&[
        "clock", "-p", &port, "-t", "2", "-d", "0", "--token", "s3cret",
    ]);
    assert_eq!(served.code(), 0, "{served:?}");
    let acks: Vec<&str> = served
        .lines_of("clock")
        .into_iter()
        .filter_map(|line| line.strip_prefix("< "))
        .collect();
    assert_eq!(acks, ["0", "2"], "{served:?}");

    fussy.signal("TERM");
    let fussy = fussy.finish(PATIENCE);
    assert_eq!(fussy.code(), 0, "{fussy:?}");
    assert!(
        fussy
            .lines_of("fussy")
            .contains(&"warning: refused a peer with 401: no valid token"),
        "{fussy:?}"
    );
}

#[test]
fn the_python_package_installs_offline_with_pip() {
    let Some(python) = python() else { return };
    // A copy of the sources, so that the build leaves nothing in the repository.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("python-sketch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let source = base.join("source");
    std::fs::create_dir_all(source.join("circuit_sketch")).unwrap();
    for file in ["pyproject.toml", "README.md"] {
        std::fs::copy(package_dir().join(file), source.join(file)).unwrap();
    }
    for entry in std::fs::read_dir(package_dir().join("circuit_sketch")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "py") {
            std::fs::copy(
                &path,
                source
                    .join("circuit_sketch")
                    .join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let target = base.join("installed");
    let (source, target) = (source.to_string_lossy(), target.to_string_lossy());
    let pip = start_program_with(
        &python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            &target,
            &source,
        ],
        &[],
    )
    .finish(PATIENCE);
    assert_eq!(pip.code(), 0, "{pip:?}");

    let check = start_program_with(
        &python,
        &["-c", "import circuit_sketch; print(circuit_sketch.__file__); print(sorted(circuit_sketch.__all__))"],
        &[("PYTHONPATH", &target)],
    )
    .finish(PATIENCE);
    assert_eq!(check.code(), 0, "{check:?}");
    assert!(
        check.out[0].starts_with(&*target),
        "imported from the install: {check:?}"
    );
    assert_eq!(
        check.out[1], "['Link', 'Setting', 'Sketch', 'out', 'reactive', 'run']",
        "{check:?}"
    );
    let _ = std::fs::remove_dir_all(&base);
}
