//! Seeing the circuit: the VCD trace, the live logic-analyzer page (in a real
//! headless Chromium), the clock's progress, and the `probe` subcommand.

mod support;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use support::{drawn_bits, rising_edges, run};

/// `values` without the repeats of the value before: what a recording keeps
/// of a signal, whose repeats change nothing.
fn changes_of<T: PartialEq + Clone>(values: &[T]) -> Vec<T> {
    let mut changes: Vec<T> = values.to_vec();
    changes.dedup();
    changes
}

/// A fresh scratch directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Every value change of each variable of a VCD file, in file order, by `scope.name`.
fn vcd_changes(path: &PathBuf) -> HashMap<String, Vec<String>> {
    let mut parser = vcd::Parser::new(BufReader::new(File::open(path).expect("the VCD file")));
    let header = parser.parse_header().expect("a VCD header");
    let mut names = HashMap::new();
    let top = header.find_scope(&["circuit"]).expect("a circuit scope");
    for item in &top.items {
        let vcd::ScopeItem::Scope(sketch) = item else {
            continue;
        };
        for item in &sketch.items {
            if let vcd::ScopeItem::Var(var) = item {
                names.insert(var.code, format!("{}.{}", sketch.identifier, var.reference));
            }
        }
    }
    let mut changes: HashMap<String, Vec<String>> = HashMap::new();
    let mut last_time = 0;
    for command in parser {
        let (code, value) = match command.expect("a VCD command") {
            vcd::Command::Timestamp(time) => {
                assert!(time >= last_time, "time goes forward");
                last_time = time;
                continue;
            }
            vcd::Command::ChangeScalar(code, value) => (code, value.to_string()),
            vcd::Command::ChangeVector(code, value) => {
                let number = value
                    .iter()
                    .fold(0u64, |n, bit| n << 1 | u64::from(bit == vcd::Value::V1));
                (code, number.to_string())
            }
            vcd::Command::ChangeString(code, value) => (code, value),
            other => panic!("unexpected VCD command {other:?}"),
        };
        changes.entry(names[&code].clone()).or_default().push(value);
    }
    changes
}

#[test]
fn the_vcd_trace_holds_every_tick_and_each_change_of_ack_level_and_buzz() {
    let dir = scratch("vcd");
    let path = dir.join("circuit.vcd");
    let circuit = run(&[
        "circuit",
        "-t",
        "12",
        "-d",
        "0",
        "--seed",
        "42",
        "--vcd",
        path.to_str().unwrap(),
    ]);
    assert_eq!(circuit.code(), 0, "{circuit:?}");
    let bits = drawn_bits(&circuit.lines_of("iopin"));
    assert_eq!(bits.len(), 36);
    let acks: Vec<String> = circuit
        .lines_of("clock")
        .iter()
        .filter_map(|line| line.strip_prefix("< "))
        .map(|ack| ack.replace(' ', "_"))
        .collect();

    let changes = vcd_changes(&path);
    let ticks: Vec<String> = (0..12).map(|n: u64| n.to_string()).collect();
    assert_eq!(changes["clock.tick"], ticks);
    assert_eq!(changes["clock.ack"], changes_of(&acks));
    let levels: Vec<String> = bits.iter().map(u8::to_string).collect();
    assert_eq!(
        changes["iopin.level"],
        changes_of(&levels),
        "every change of the drawn bits, in order"
    );
    assert_eq!(
        changes["buzzer.in"].len(),
        36,
        "every level the buzzer heard"
    );
    let buzz = &changes["buzzer.buzz"];
    // A buzz is high for the one level that rose, so no two are in a row.
    let buzz_rises = buzz.iter().filter(|value| *value == "1").count();
    assert_eq!(buzz_rises, rising_edges(&bits));
    let summary = format!("12 ticks sent, 12 acks received, 36 bits drawn, {buzz_rises} buzzes");
    assert!(
        circuit.lines_of("circuit").contains(&summary.as_str()),
        "{circuit:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_single_sketch_records_its_own_signals_and_a_bad_path_is_an_error() {
    let dir = scratch("vcd-single");
    let path = dir.join("buzzer.vcd");
    let mut buzzer = support::start(&[
        "buzzer",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--vcd",
        path.to_str().unwrap(),
    ]);
    let port = buzzer.port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use futures_util::{SinkExt, StreamExt};
        let mut peer = support::connect(&format!("ws://127.0.0.1:{port}/pin")).await;
        for level in ["0", "1", "1", "1", "1", "0", "0", "0", "1"] {
            peer.send(level.into()).await.unwrap();
            peer.next().await.unwrap().unwrap();
        }
        peer.close(None).await.unwrap();
    });
    buzzer.signal("INT");
    let buzzer = buzzer.finish(support::PATIENCE);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let changes = vcd_changes(&path);
    assert_eq!(
        changes.len(),
        2,
        "the buzzer records its own signal, and what it received: {changes:?}"
    );
    // Set nine times (0 1 0 0 0 0 0 0 1), changed four times: a repeat
    // changes nothing and is not written; each message received is.
    assert_eq!(changes["buzzer.buzz"], ["0", "1", "0", "1"]);
    assert_eq!(changes["buzzer.in"].len(), 9, "{changes:?}");

    let nowhere = dir.join("missing").join("x.vcd");
    let circuit = run(&[
        "circuit",
        "-t",
        "1",
        "-d",
        "0",
        "--vcd",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(circuit.code(), 1, "{circuit:?}");
    assert!(
        circuit.err.iter().any(|line| line.contains("cannot write")),
        "{circuit:?}"
    );
    assert!(
        circuit.lines_of("clock").is_empty(),
        "a bad path stops the run before it starts: {circuit:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs `sketches ARGS…` with stdout and stderr on a pseudo-terminal, as in a
/// terminal window; returns everything it wrote there and its exit code.
fn run_on_a_terminal(args: &[&str]) -> (String, i32) {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    use std::process::{Command, Stdio};
    let (mut leader, mut follower) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the two integers we own.
    let opened = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    let (leader, follower) = unsafe {
        (
            std::fs::File::from_raw_fd(leader),
            std::fs::File::from_raw_fd(follower),
        )
    };
    let mut child = Command::new(support::BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(follower.try_clone().unwrap())
        .stderr(follower)
        .spawn()
        .expect("the sketches binary starts");
    let reader = std::thread::spawn(move || {
        let mut leader = leader;
        let mut output = Vec::new();
        let mut chunk = [0u8; 4096];
        // Reading fails (EIO) once the child has exited and closed the terminal.
        while let Ok(read) = leader.read(&mut chunk) {
            if read == 0 {
                break;
            }
            output.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&output).into_owned()
    });
    let deadline = std::time::Instant::now() + support::PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} did not end within {:?}", support::PATIENCE);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (reader.join().unwrap(), status.code().unwrap_or(-1))
}

#[test]
fn the_clock_shows_a_progress_bar_on_a_terminal_and_plain_lines_elsewhere() {
    let (screen, code) = run_on_a_terminal(&["circuit", "-t", "4", "-d", "0.25", "--seed", "1"]);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("ticks ·"), "a progress bar: {screen}");
    assert!(
        screen.contains("4/4 ticks"),
        "the bar reaches the total: {screen}"
    );
    assert!(screen.contains("acks"), "{screen}");
    assert!(
        screen.contains("4 ticks sent, 4 acks received"),
        "the summary still follows: {screen}"
    );

    // Under --sim the bar says where the simulated clock is; its own clock is the wall's.
    let (screen, code) = run_on_a_terminal(&["circuit", "-t", "4", "-d", "0.25", "--sim"]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("acks · simulated 0."),
        "the simulated time on the bar: {screen}"
    );

    let piped = run(&["circuit", "-t", "4", "-d", "0", "--seed", "1"]);
    assert_eq!(piped.code(), 0, "{piped:?}");
    let everything = piped.out.iter().chain(&piped.err);
    assert!(
        everything
            .clone()
            .all(|line| !line.contains("ticks ·") && !line.contains('\u{1b}')),
        "no bar and no escape codes in a pipe: {piped:?}"
    );
}

/// Runs `sketches probe ARGS…` with `input` on its stdin; bounded in time.
fn probe(args: &[&str], input: &str) -> support::Finished {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(support::BIN)
        .arg("probe")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CIRCUIT_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sketches binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let deadline = std::time::Instant::now() + support::PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("probe {args:?} did not end within {:?}", support::PATIENCE);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let lines = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    support::Finished {
        status: output.status,
        out: lines(&output.stdout),
        err: lines(&output.stderr),
    }
}

#[test]
fn the_probe_sends_stdin_lines_or_numbered_ticks_and_prints_each_acknowledgement() {
    let mut iopin = support::start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--seed",
        "7",
        "--buzzer",
        &format!("ws://127.0.0.1:{}/pin", support::dead_port()),
    ]);
    let url = format!("ws://127.0.0.1:{}/datafeed", iopin.port());

    let piped = probe(&[&url], "first\nsecond\nthird\n");
    assert_eq!(piped.code(), 0, "{piped:?}");
    let lines = piped.lines_of("probe");
    let sent: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("> ")).collect();
    assert_eq!(sent, ["first", "second", "third"], "{piped:?}");
    let acks: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("< ")).collect();
    assert_eq!(acks.len(), 3, "{piped:?}");
    assert!(
        acks.iter()
            .all(|ack| ack.starts_with('[') && ack.len() == "[0, 1, 0]".len()),
        "the pin answers with its bits: {piped:?}"
    );
    let order: Vec<char> = lines.iter().filter_map(|l| l.chars().next()).collect();
    assert_eq!(&order[1..7], ['>', '<', '>', '<', '>', '<'], "{piped:?}");
    assert_eq!(lines.last(), Some(&"3 messages sent, 3 acknowledged"));

    let ticks = probe(&[&url, "--count", "4", "--every", "0.01"], "");
    assert_eq!(ticks.code(), 0, "{ticks:?}");
    let sent: Vec<&str> = ticks
        .lines_of("probe")
        .into_iter()
        .filter_map(|l| l.strip_prefix("> "))
        .collect();
    assert_eq!(sent, ["0", "1", "2", "3"], "{ticks:?}");
    iopin.signal("INT");
    iopin.finish(support::PATIENCE);

    let nobody = probe(
        &[&format!("ws://127.0.0.1:{}/x", support::dead_port())],
        "hi\n",
    );
    assert_eq!(nobody.code(), 1, "{nobody:?}");
    assert!(
        nobody.err.iter().any(|l| l.contains("no server answered")),
        "{nobody:?}"
    );
    let wrong = probe(&["http://example.invalid/"], "");
    assert_eq!(wrong.code(), 2, "{wrong:?}");
    assert!(
        wrong.err.iter().any(|l| l.contains("not a WebSocket URL")),
        "{wrong:?}"
    );
}

/// Writes one line to the test output, even when libtest captures `println!`.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The headless browser and its driver: Debian's Chromium, and playwright-core
/// from the npm registry (`tests/run` installs it into tests/browser).
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        return Err("node is missing".into());
    }
    let browser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    if !browser.join("node_modules/playwright-core").exists() {
        return Err("playwright-core is missing (cd tests/browser && npm ci)".into());
    }
    Ok((chromium, browser.join("analyzer.mjs")))
}

/// Transitions of a bit signal starting low, as a logic analyzer draws them.
fn edges(levels: &[u8]) -> usize {
    let mut level = 0;
    let mut edges = 0;
    for &next in levels {
        if next != level {
            edges += 1;
        }
        level = next;
    }
    edges
}

#[test]
fn the_analyzer_page_shows_the_run_in_a_real_headless_browser() {
    let (chromium, harness) = match browser() {
        Ok(found) => found,
        Err(missing) if std::env::var("CI").as_deref() != Ok("true") => {
            say(&format!(
                "!!! SKIPPED the browser test: {missing}. It runs, and must pass, with CI=true !!!"
            ));
            return;
        }
        Err(missing) => panic!("CI=true, but the browser test cannot run: {missing}"),
    };
    let mut circuit = support::start(&[
        "circuit",
        "-t",
        "30",
        "-d",
        "0.05",
        "--seed",
        "42",
        "--web",
        "127.0.0.1:0",
    ]);
    let line = circuit.wait_for(support::PATIENCE, |line| {
        line.contains("logic analyzer on ")
    });
    let url = line
        .split("logic analyzer on ")
        .nth(1)
        .expect("an address")
        .trim()
        .to_owned();
    // Opens the page in headless Chromium until the run has ended; what it saw.
    let open = |name: &str| -> serde_json::Value {
        let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_file(&screenshot);
        let page = std::process::Command::new("node")
            .arg(&harness)
            .arg(&url)
            .arg(&screenshot)
            .arg("60")
            .env("CHROMIUM", &chromium)
            .output()
            .expect("node runs the harness");
        assert!(
            page.status.success(),
            "the harness failed: {}\n{}",
            String::from_utf8_lossy(&page.stderr),
            String::from_utf8_lossy(&page.stdout)
        );
        say(&format!("analyzer screenshot: {}", screenshot.display()));
        assert!(
            screenshot.metadata().is_ok_and(|m| m.len() > 10_000),
            "a real screenshot"
        );
        serde_json::from_slice(&page.stdout).expect("the harness prints JSON")
    };
    // Once while the run goes on, once late (after it ended): the history
    // brings a late page to the same picture.
    let seen = open("analyzer.png");
    circuit.wait_for(support::PATIENCE, |line| line.contains("run finished"));
    let late = open("analyzer-late.png");
    circuit.signal("INT");
    let circuit = circuit.finish(support::PATIENCE);
    assert_eq!(circuit.code(), 0, "{circuit:?}");
    assert_eq!(late["counters"], seen["counters"], "{late} vs {seen}");
    assert_eq!(late["edges"], seen["edges"], "{late} vs {seen}");

    say(&format!("the page saw: {seen}"));
    let bits = drawn_bits(&circuit.lines_of("iopin"));
    let buzzes = rising_edges(&bits);
    assert_eq!(bits.len(), 90);
    let summary = format!("30 ticks sent, 30 acks received, 90 bits drawn, {buzzes} buzzes");
    assert!(
        circuit.lines_of("circuit").contains(&summary.as_str()),
        "{circuit:?}"
    );
    assert_eq!(seen["ended"], true, "{seen}");
    let counters = &seen["counters"];
    assert_eq!(counters["ticks sent"], 30, "{seen}");
    assert_eq!(counters["acks received"], 30, "{seen}");
    assert_eq!(counters["bits drawn"], 90, "{seen}");
    assert_eq!(counters["buzzes"], buzzes as u64, "{seen}");
    // The waveforms drawn: the pin's edges, and the buzzer's pulses (up at a
    // buzz, down at the next level it hears).
    assert_eq!(seen["edges"]["iopin.level"], edges(&bits) as u64, "{seen}");
    let mut level = 0;
    let pulses: Vec<u8> = bits
        .iter()
        .map(|&bit| {
            let rising = u8::from(level == 0 && bit == 1);
            level = bit;
            rising
        })
        .collect();
    assert_eq!(
        seen["edges"]["buzzer.buzz"],
        edges(&pulses) as u64,
        "{seen}"
    );
    assert_eq!(seen["edges"]["clock.tick"], 30, "{seen}");
}

#[test]
fn simulated_time_gives_the_run_of_real_time_with_exact_timestamps() {
    let dir = scratch("sim");
    let (real_vcd, sim_vcd) = (dir.join("real.vcd"), dir.join("sim.vcd"));
    let args = |vcd: &PathBuf| {
        vec![
            "circuit".to_owned(),
            "-t".to_owned(),
            "50".to_owned(),
            "-d".to_owned(),
            "0.01".to_owned(),
            "--seed".to_owned(),
            "11".to_owned(),
            "--vcd".to_owned(),
            vcd.to_str().unwrap().to_owned(),
        ]
    };
    let real = run(&args(&real_vcd)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let mut sim_args = args(&sim_vcd);
    sim_args.push("--sim".to_owned());
    let sim = run(&sim_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(real.code(), 0, "{real:?}");
    assert_eq!(sim.code(), 0, "{sim:?}");
    // The same bits, acknowledgements, buzzes and summary.
    assert_eq!(
        drawn_bits(&real.lines_of("iopin")),
        drawn_bits(&sim.lines_of("iopin"))
    );
    let summary = |finished: &support::Finished| {
        finished
            .lines_of("circuit")
            .into_iter()
            .find(|line| line.starts_with("50 ticks sent"))
            .map(str::to_owned)
    };
    assert!(summary(&real).is_some(), "{real:?}");
    assert_eq!(summary(&real), summary(&sim));
    // The same transitions of every signal, in the same order.
    let (real_changes, sim_changes) = (vcd_changes(&real_vcd), vcd_changes(&sim_vcd));
    assert_eq!(real_changes, sim_changes);
    // Under --sim the times are exact: tick k at k × 10 ms.
    // Read back by the runtime's own reader: what a replay reads.
    let recorded = circuit_runtime::observe::inputs::read(&sim_vcd).expect("the recording");
    let ticks = &recorded["clock.tick"];
    assert_eq!(ticks.len(), 50);
    for (k, (at, value)) in ticks.iter().enumerate() {
        assert_eq!(*at, k as u64 * 10_000_000, "tick {k}");
        assert_eq!(value, &k.to_string());
    }
    // And log lines carry the simulated time.
    assert!(
        sim.out
            .iter()
            .any(|line| line.trim_start().starts_with("0.490s [ clock ] > 49")),
        "{sim:?}"
    );
}

#[test]
fn a_recording_replays_the_buzzer_alone_and_check_finds_an_altered_buzz() {
    let dir = scratch("replay");
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
    let recorded = vcd_changes(&recording);
    assert_eq!(
        recorded["buzzer.in"].len(),
        60,
        "what the buzzer heard, with its path"
    );
    assert!(recorded["buzzer.in"]
        .iter()
        .all(|lane| lane.starts_with("/pin%20")));
    // The buzzer alone, fed what it heard: the same buzzes, and --check agrees.
    let replay = run(&["buzzer", "--replay", recording.to_str().unwrap(), "--check"]);
    assert_eq!(replay.code(), 0, "{replay:?}");
    let buzzes = |lines: Vec<&str>| lines.iter().filter(|l| l.starts_with("buzz #")).count();
    let levels: Vec<u8> = recorded["iopin.level"]
        .iter()
        .map(|level| u8::from(level == "1"))
        .collect();
    assert_eq!(
        buzzes(replay.lines_of("buzzer")),
        rising_edges(&levels),
        "{replay:?}"
    );
    let matched = format!(
        "the replay matches the recording: {} changes",
        recorded["buzzer.buzz"].len()
    );
    assert!(
        replay
            .lines_of("buzzer")
            .iter()
            .any(|l| l.starts_with(&matched)),
        "{replay:?}"
    );
    // A recording whose buzz lane was altered: --check exits 1 with the first difference.
    let text = std::fs::read_to_string(&recording).unwrap();
    let code = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("$var wire 1 ")
                .filter(|rest| rest.ends_with(" buzz $end"))
        })
        .and_then(|rest| rest.split(' ').next())
        .expect("the buzz wire")
        .to_owned();
    let first_rise = format!("\n1{code}\n");
    assert!(text.contains(&first_rise), "a buzz in the recording");
    let altered = dir.join("altered.vcd");
    std::fs::write(
        &altered,
        text.replacen(&first_rise, &format!("\n0{code}\n"), 1),
    )
    .unwrap();
    let check = run(&["buzzer", "--replay", altered.to_str().unwrap(), "--check"]);
    assert_eq!(check.code(), 1, "{check:?}");
    let said = check.err.join("\n");
    assert!(said.contains("buzzer.buzz at "), "{said}");
    assert!(said.contains("expected 0, got 1"), "{said}");
    // A recording that holds nothing the sketch received is a usage error.
    let none = run(&["echo", "--replay", recording.to_str().unwrap()]);
    assert_eq!(none.code(), 2, "{none:?}");
}
