//! One view of a circuit spread over many hosts: network namespaces made by
//! the test (`support/netns.rs`, as `tests/across_hosts.rs`) are the hosts;
//! the clock's host records with `--vcd` (or another host does, following
//! the clock's own stream), and its recording holds every
//! sketch of the circuit, each host's changes moved to its clock, in causal
//! order. A host's skewed clock is faked with libfaketime (`faketime -f
//! +30s`, Debian's `faketime`, which `.ci/run` installs): the process's wall
//! clock is really off, as on a badly set machine, with no switch in the code
//! under test. Needs root; otherwise skipped with one loud line, except with
//! `CI=true`.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use support::certs::Ca;
use support::netns::Network;
use support::{drawn_bits, rising_edges, Finished, Running, BIN, PATIENCE};

/// The demo with a placement for each sketch.
fn circuit_file(name: &str, tacks: u64, delay: f64) -> PathBuf {
    let text = format!(
        r#"name = "{name}"

[sketches.clock]
to = "iopin"
tacks = {tacks}
delay = {delay}
host = "h1"

[sketches.iopin]
buzzer = "buzzer"
host = "h2"

[sketches.buzzer]
host = "h3"
"#
    );
    let path = dir().join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Where this file's circuits and recordings go.
fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("one-view");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `up FILE --host PLACEMENT` on `host` (under `faketime -f SKEW` when
/// given), once its servers are up.
fn part(net: &Network, host: usize, file: &Path, placement: &str, skew: Option<&str>) -> Running {
    part_with(net, host, file, placement, skew, &[])
}

/// [`part`] with `extra` flags.
fn part_with(
    net: &Network,
    host: usize,
    file: &Path,
    placement: &str,
    skew: Option<&str>,
    extra: &[&str],
) -> Running {
    let mut args = vec!["up", file.to_str().unwrap(), "--host", placement];
    args.extend_from_slice(extra);
    let mut running = match skew {
        Some(skew) => {
            let mut faked = vec!["-f", skew, BIN];
            faked.append(&mut args);
            net.host(host).start("faketime", &faked)
        }
        None => net.host(host).start(BIN, &args),
    };
    running.wait_for(PATIENCE, |line| line.contains("sketches up"));
    running
}

/// The clock's part on h1, recording the whole circuit to `vcd`, run to its end.
fn record(net: &Network, file: &Path, vcd: &Path) -> Finished {
    let clock = net
        .host(1)
        .start(
            BIN,
            &[
                "up",
                file.to_str().unwrap(),
                "--host",
                "h1",
                "--vcd",
                vcd.to_str().unwrap(),
            ],
        )
        .finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    clock
}

/// Waits for a part to end by itself, with success.
fn ends(running: Running) -> Finished {
    let finished = running.finish(PATIENCE * 2);
    assert_eq!(finished.code(), 0, "{finished:?}");
    finished
}

/// One change of a VCD file: its time, `sketch.name`, and its value as written.
#[derive(Debug, Clone)]
struct Change {
    at: u64,
    signal: String,
    value: String,
}

/// Every change of the VCD file at `path`, in the file's order.
fn changes(path: &Path) -> Vec<Change> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut scope = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut changes = Vec::new();
    let mut at = 0;
    let mut times = Vec::new();
    let mut defined = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["$enddefinitions", "$end"] => defined = true,
            _ if !defined && !line.starts_with('$') => {}
            ["$scope", "module", name, "$end"] => scope.push(name.to_string()),
            ["$upscope", "$end"] => {
                scope.pop();
            }
            ["$var", _, _, id, name, "$end"] => {
                let sketch = scope.last().cloned().unwrap_or_default();
                names.insert(id.to_string(), format!("{sketch}.{name}"));
            }
            [time] if time.starts_with('#') => {
                at = time[1..].parse().unwrap();
                times.push(at);
            }
            [value, id] if !value.starts_with('$') => {
                let value = match value.as_bytes()[0] {
                    b'b' => u64::from_str_radix(&value[1..], 2).unwrap().to_string(),
                    b's' | b'r' => value[1..].to_owned(),
                    _ => value.to_string(),
                };
                let signal = names[*id].clone();
                changes.push(Change { at, signal, value });
            }
            [scalar] if !scalar.starts_with('$') && scalar.len() >= 2 => {
                let (value, id) = scalar.split_at(1);
                if let Some(signal) = names.get(id) {
                    changes.push(Change {
                        at,
                        signal: signal.clone(),
                        value: value.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "a VCD file's times go forward"
    );
    changes
}

/// The times of `signal`'s changes to `value` (any value when `None`), in order.
fn times(changes: &[Change], signal: &str, value: Option<&str>) -> Vec<u64> {
    changes
        .iter()
        .filter(|change| change.signal == signal)
        .filter(|change| value.is_none_or(|value| change.value == value))
        .map(|change| change.at)
        .collect()
}

/// The times of `signal`'s rises from 0 to 1 (a wire starts at 0).
fn rises(changes: &[Change], signal: &str) -> Vec<u64> {
    let mut level = "0".to_owned();
    let mut rises = Vec::new();
    for change in changes.iter().filter(|change| change.signal == signal) {
        if level == "0" && change.value == "1" {
            rises.push(change.at);
        }
        level = change.value.clone();
    }
    rises
}

/// Asserts the recording's causal order: each tick before the pin received
/// it, each message the pin gave its link before the buzzer received it,
/// each rise of the pin before the buzz it caused.
fn assert_causal(changes: &[Change], ticks: usize) {
    let ticked = times(changes, "clock.tick", None);
    let fed = times(changes, "iopin.in", None);
    assert_eq!(ticked.len(), ticks, "every tick: {changes:?}");
    assert_eq!(fed.len(), ticks, "every tick the pin received: {changes:?}");
    for (tick, (sent, received)) in ticked.iter().zip(&fed).enumerate() {
        assert!(
            sent < received,
            "tick {tick} sent at {sent}, received at {received}"
        );
    }
    let given = times(changes, "iopin.buzzer.0.out", None);
    let heard = times(changes, "buzzer.in", None);
    for (n, (sent, received)) in given.iter().zip(&heard).enumerate() {
        assert!(
            sent < received,
            "level {n} sent at {sent}, received at {received}"
        );
    }
    for (n, (rise, buzz)) in rises(changes, "iopin.level")
        .iter()
        .zip(rises(changes, "buzzer.buzz"))
        .enumerate()
    {
        assert!(*rise < buzz, "rise {n} at {rise}, its buzz at {buzz}");
    }
}

/// The clock lines the recorder logged (`h2's clock: +0.012 ms ± 0.030 ms`),
/// printed for the record, with how many receives it moved after their sends.
fn offsets<'a>(clock: &'a Finished, test: &str) -> Vec<&'a str> {
    for line in clock.lines_of("record") {
        if line.contains("placed just after their sends") {
            let _ = writeln!(std::io::stderr(), "{test}: {line}");
        }
    }
    let lines: Vec<&str> = clock
        .lines_of("record")
        .into_iter()
        .filter(|line| line.contains("'s clock: "))
        .collect();
    for line in &lines {
        // Straight to stderr, so that a passing run shows them too.
        let _ = writeln!(std::io::stderr(), "{test}: {line}");
    }
    lines
}

/// The offset a clock line gives, in milliseconds.
fn offset_ms(line: &str) -> f64 {
    let after = line.split("'s clock: ").nth(1).unwrap();
    after.split(" ms").next().unwrap().parse().unwrap()
}

/// The demo over three hosts, recorded on the clock's: complete, in order.
/// `None` when namespaces are not available here (said in one loud line).
fn spread(name: &str, skews: [Option<&str>; 2]) -> Option<Finished> {
    let net = Network::create_or_skip(3)?;
    let file = circuit_file(name, 10, 0.05);
    let vcd = dir().join(format!("{name}-{}.vcd", std::process::id()));
    let buzzer = part(&net, 3, &file, "h3", skews[1]);
    let iopin = part(&net, 2, &file, "h2", skews[0]);
    let clock = record(&net, &file, &vcd);
    let iopin = ends(iopin);
    let buzzer = ends(buzzer);
    let recorded = changes(&vcd);
    // Complete: the pin's every level and the buzzer's every buzz, as they logged them.
    let bits = drawn_bits(&iopin.lines_of("iopin"));
    assert_eq!(bits.len(), 30, "{iopin:?}");
    let mut changed: Vec<u8> = Vec::new();
    for &bit in &bits {
        if changed.last() != Some(&bit) {
            changed.push(bit);
        }
    }
    let levels: Vec<u8> = recorded
        .iter()
        .filter(|change| change.signal == "iopin.level")
        .map(|change| change.value.parse().unwrap())
        .collect();
    assert_eq!(levels, changed, "every level of the pin: {recorded:?}");
    assert_eq!(times(&recorded, "iopin.buzzer.0.out", None).len(), 30);
    assert_eq!(times(&recorded, "buzzer.in", None).len(), 30);
    let buzzes = buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "{buzzer:?}");
    assert_eq!(rises(&recorded, "buzzer.buzz").len(), buzzes, "every buzz");
    assert_causal(&recorded, 10);
    Some(clock)
}

#[test]
fn the_clocks_host_records_the_whole_circuit_complete_and_in_causal_order() {
    let Some(clock) = spread("view", [None, None]) else {
        return;
    };
    let lines = offsets(&clock, "same clock");
    assert_eq!(lines.len(), 2, "h2 and h3: {clock:?}");
    // One machine's clock: no host is more than a few milliseconds off.
    for line in lines {
        assert!(offset_ms(line).abs() < 50.0, "{line}");
    }
}

#[test]
fn a_host_with_a_skewed_clock_is_still_in_order_after_correction() {
    let Some(clock) = spread("skewed", [Some("+30s"), Some("-20s")]) else {
        return;
    };
    let lines = offsets(&clock, "skewed clocks");
    let h2 = lines.iter().find(|line| line.starts_with("h2")).unwrap();
    let h3 = lines.iter().find(|line| line.starts_with("h3")).unwrap();
    // Uncorrected, h2's changes would be 30 s late and h3's 20 s early.
    assert!((offset_ms(h2) - 30_000.0).abs() < 1_000.0, "{h2}");
    assert!((offset_ms(h3) + 20_000.0).abs() < 1_000.0, "{h3}");
}

#[test]
fn a_host_killed_mid_run_is_marked_gone_and_the_rest_keeps_recording() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let file = circuit_file("killed", 40, 0.05);
    let vcd = dir().join(format!("killed-{}.vcd", std::process::id()));
    let mut buzzer = part(&net, 3, &file, "h3", None);
    let iopin = part(&net, 2, &file, "h2", None);
    let clock = net.host(1).start(
        BIN,
        &[
            "up",
            file.to_str().unwrap(),
            "--host",
            "h1",
            "--vcd",
            vcd.to_str().unwrap(),
        ],
    );
    // Some buzzes first, then the buzzer's host loses it for good.
    buzzer.wait_for(PATIENCE, |line| line.contains("buzz #2"));
    buzzer.signal("KILL");
    let _ = buzzer.finish(PATIENCE);
    let clock = clock.finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    iopin.signal("INT");
    let _ = iopin.finish(PATIENCE);
    let recorded = changes(&vcd);
    let gone = times(&recorded, "buzzer._gone", Some("1"));
    assert_eq!(
        gone.len(),
        1,
        "the buzzer is marked gone once: {recorded:?}"
    );
    assert!(
        !times(&recorded, "buzzer.buzz", None).is_empty(),
        "it was recorded until then"
    );
    let ticks = times(&recorded, "clock.tick", None);
    assert_eq!(ticks.len(), 40, "every tick: {recorded:?}");
    let fed = times(&recorded, "iopin.in", None);
    assert_eq!(fed.len(), 40, "the pin, still recorded: {recorded:?}");
    assert!(
        fed.iter().any(|at| *at > gone[0]),
        "the pin's changes after the buzzer was gone: {recorded:?}"
    );
    assert!(
        clock
            .lines_of("record")
            .iter()
            .any(|line| line.contains("lost buzzer's signal stream")),
        "{clock:?}"
    );
    offsets(&clock, "killed");
}

#[test]
fn a_host_that_restarts_appears_again_when_it_is_found() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let file = circuit_file("restarted", 80, 0.05);
    let vcd = dir().join(format!("restarted-{}.vcd", std::process::id()));
    let mut buzzer = part(&net, 3, &file, "h3", None);
    let iopin = part(&net, 2, &file, "h2", None);
    let mut clock = net.host(1).start(
        BIN,
        &[
            "up",
            file.to_str().unwrap(),
            "--host",
            "h1",
            "--vcd",
            vcd.to_str().unwrap(),
        ],
    );
    buzzer.wait_for(PATIENCE, |line| line.contains("buzz #2"));
    buzzer.signal("KILL");
    let _ = buzzer.finish(PATIENCE);
    clock.wait_for(PATIENCE, |line| {
        line.contains("lost buzzer's signal stream")
    });
    // The buzzer's part again, as a supervisor would start it.
    let buzzer = part(&net, 3, &file, "h3", None);
    let clock = clock.finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let iopin = ends(iopin);
    let buzzer = ends(buzzer);
    let recorded = changes(&vcd);
    let gone: Vec<&str> = recorded
        .iter()
        .filter(|change| change.signal == "buzzer._gone")
        .map(|change| change.value.as_str())
        .collect();
    assert_eq!(gone, ["1", "0"], "gone, then back: {recorded:?}");
    let back = times(&recorded, "buzzer._gone", Some("0"))[0];
    let heard_after = times(&recorded, "buzzer.in", None)
        .into_iter()
        .filter(|at| *at > back)
        .count();
    let served_after = buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert!(
        heard_after > 0 && served_after > 0,
        "the restarted buzzer recorded: {recorded:?} {buzzer:?}"
    );
    assert_eq!(times(&recorded, "iopin.in", None).len(), 80, "{iopin:?}");
    offsets(&clock, "restarted");
}

#[test]
fn over_tls_the_signal_streams_are_wss_checked_against_each_sketchs_name() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let certs = dir().join(format!("tls-{}", std::process::id()));
    let ca = Ca::new(&certs, "circuit-ca");
    let ca_pem = ca.pem.to_str().unwrap().to_owned();
    let buzzer_cert = ca.issue("buzzer", &["buzzer"], false);
    let iopin_cert = ca.issue("iopin", &["iopin"], false);
    let file = circuit_file("secure", 6, 0.05);
    let vcd = dir().join(format!("secure-{}.vcd", std::process::id()));
    let flags = |cert: &support::certs::Issued| {
        [
            "--tls-cert".to_owned(),
            cert.cert.to_str().unwrap().to_owned(),
            "--tls-key".to_owned(),
            cert.key.to_str().unwrap().to_owned(),
            "--ca".to_owned(),
            ca_pem.clone(),
        ]
    };
    let buzzer_flags = flags(&buzzer_cert);
    let buzzer_flags: Vec<&str> = buzzer_flags.iter().map(String::as_str).collect();
    let buzzer = part_with(&net, 3, &file, "h3", None, &buzzer_flags);
    let iopin_flags = flags(&iopin_cert);
    let iopin_flags: Vec<&str> = iopin_flags.iter().map(String::as_str).collect();
    let iopin = part_with(&net, 2, &file, "h2", None, &iopin_flags);
    let clock = net
        .host(1)
        .start(
            BIN,
            &[
                "up",
                file.to_str().unwrap(),
                "--host",
                "h1",
                "--ca",
                &ca_pem,
                "--vcd",
                vcd.to_str().unwrap(),
            ],
        )
        .finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    ends(iopin);
    ends(buzzer);
    for (sketch, host) in [("iopin", 2), ("buzzer", 3)] {
        let over = format!(
            "recording {sketch} (on h{host}) from wss://{}:",
            net.host(host).addr()
        );
        assert!(
            clock
                .lines_of("record")
                .iter()
                .any(|line| line.starts_with(&over)),
            "{over}: {clock:?}"
        );
    }
    let recorded = changes(&vcd);
    assert_eq!(times(&recorded, "iopin.in", None).len(), 6, "{recorded:?}");
    assert_eq!(
        times(&recorded, "buzzer.in", None).len(),
        18,
        "{recorded:?}"
    );
    assert_causal(&recorded, 6);
    offsets(&clock, "tls");
}

#[test]
fn a_recorder_away_from_the_clock_follows_the_timers_own_stream() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let file = circuit_file("away", 10, 0.05);
    let vcd = dir().join(format!("away-{}.vcd", std::process::id()));
    // The buzzer's host records; the clock, a timer, serves no peers.
    let recorder = part_with(
        &net,
        3,
        &file,
        "h3",
        None,
        &["--vcd", vcd.to_str().unwrap()],
    );
    let iopin = part(&net, 2, &file, "h2", None);
    let clock = ends(part(&net, 1, &file, "h1", None));
    let iopin = ends(iopin);
    let recorder = ends(recorder);
    let over = format!("recording clock (on h1) from ws://{}:", net.host(1).addr());
    assert!(
        recorder
            .lines_of("record")
            .iter()
            .any(|line| line.starts_with(&over)),
        "{over}: {recorder:?}"
    );
    let recorded = changes(&vcd);
    // Complete: every tick the clock sent, each before the pin received it.
    assert!(
        clock
            .lines_of("clock")
            .iter()
            .any(|line| line.starts_with("10 ticks sent, 10 acknowledged")),
        "{clock:?}"
    );
    let ticks: Vec<&str> = recorded
        .iter()
        .filter(|change| change.signal == "clock.tick")
        .map(|change| change.value.as_str())
        .collect();
    let numbers: Vec<String> = (0..10).map(|tick| tick.to_string()).collect();
    assert_eq!(ticks, numbers, "every tick, in order: {recorded:?}");
    assert_causal(&recorded, 10);
    let bits = drawn_bits(&iopin.lines_of("iopin"));
    assert_eq!(bits.len(), 30, "{iopin:?}");
    assert_eq!(
        times(&recorded, "buzzer.in", None).len(),
        30,
        "{recorded:?}"
    );
    let lines = offsets(&recorder, "away");
    assert_eq!(lines.len(), 2, "h1 and h2: {recorder:?}");
}

#[test]
fn over_tls_a_timers_stream_is_wss_checked_against_its_name() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let certs = dir().join(format!("tls-away-{}", std::process::id()));
    let ca = Ca::new(&certs, "circuit-ca");
    let ca_pem = ca.pem.to_str().unwrap().to_owned();
    let file = circuit_file("secure-away", 6, 0.05);
    let vcd = dir().join(format!("secure-away-{}.vcd", std::process::id()));
    let flags = |cert: &support::certs::Issued| {
        vec![
            "--tls-cert".to_owned(),
            cert.cert.to_str().unwrap().to_owned(),
            "--tls-key".to_owned(),
            cert.key.to_str().unwrap().to_owned(),
            "--ca".to_owned(),
            ca_pem.clone(),
        ]
    };
    let mut recorder_flags = flags(&ca.issue("buzzer", &["buzzer"], false));
    recorder_flags.extend(["--vcd".to_owned(), vcd.to_str().unwrap().to_owned()]);
    let recorder_flags: Vec<&str> = recorder_flags.iter().map(String::as_str).collect();
    let recorder = part_with(&net, 3, &file, "h3", None, &recorder_flags);
    let iopin_flags = flags(&ca.issue("iopin", &["iopin"], false));
    let iopin_flags: Vec<&str> = iopin_flags.iter().map(String::as_str).collect();
    let iopin = part_with(&net, 2, &file, "h2", None, &iopin_flags);
    let clock_flags = flags(&ca.issue("clock", &["clock"], false));
    let clock_flags: Vec<&str> = clock_flags.iter().map(String::as_str).collect();
    ends(part_with(&net, 1, &file, "h1", None, &clock_flags));
    ends(iopin);
    let recorder = ends(recorder);
    let over = format!("recording clock (on h1) from wss://{}:", net.host(1).addr());
    assert!(
        recorder
            .lines_of("record")
            .iter()
            .any(|line| line.starts_with(&over)),
        "{over}: {recorder:?}"
    );
    let recorded = changes(&vcd);
    assert_causal(&recorded, 6);
    offsets(&recorder, "tls away");
}

/// The headless browser's harness (`tests/browser`, as `tests/analyzer.rs`
/// uses it), or why it cannot run.
fn browser() -> Result<PathBuf, String> {
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("/usr/bin/chromium is missing (apt-get install chromium)".into());
    }
    let browser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    if !browser.join("node_modules/playwright-core").exists() {
        return Err("playwright-core is missing (cd tests/browser && npm ci)".into());
    }
    Ok(browser.join("analyzer.mjs"))
}

#[test]
fn the_page_shows_one_timeline_with_a_group_of_rows_and_the_offset_of_each_host() {
    let harness = match browser() {
        Ok(harness) => harness,
        Err(missing) if std::env::var("CI").as_deref() != Ok("true") => {
            let _ = writeln!(
                std::io::stderr(),
                "!!! SKIPPED the page test: {missing} !!!"
            );
            return;
        }
        Err(missing) => panic!("CI=true, but the page test cannot run: {missing}"),
    };
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let file = circuit_file("page", 10, 0.05);
    let buzzer = part(&net, 3, &file, "h3", None);
    let iopin = part(&net, 2, &file, "h2", Some("+30s"));
    let mut clock = net.host(1).start(
        BIN,
        &[
            "up",
            file.to_str().unwrap(),
            "--host",
            "h1",
            "--web",
            "127.0.0.1:0",
        ],
    );
    let line = clock.wait_for(PATIENCE, |line| line.contains("logic analyzer on "));
    let url = line
        .split("logic analyzer on ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    // The page, opened on the clock's host until the run has ended there.
    let screenshot = dir().join("page.png");
    let page = net
        .host(1)
        .command(
            "node",
            &[
                harness.to_str().unwrap(),
                &url,
                screenshot.to_str().unwrap(),
                "60",
            ],
        )
        .output()
        .expect("node runs the harness");
    assert!(
        page.status.success(),
        "the harness failed: {}\n{}",
        String::from_utf8_lossy(&page.stderr),
        String::from_utf8_lossy(&page.stdout)
    );
    let _ = writeln!(
        std::io::stderr(),
        "one view's screenshot: {}",
        screenshot.display()
    );
    let seen: serde_json::Value = serde_json::from_slice(&page.stdout).unwrap();
    let signals: Vec<&str> = seen["signals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|signal| signal.as_str())
        .collect();
    for signal in ["clock.tick", "iopin.level", "buzzer.buzz"] {
        assert!(signals.contains(&signal), "{signal} on the page: {seen}");
    }
    let hosts = seen["hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts
        .iter()
        .filter_map(|host| host["host"].as_str())
        .collect();
    assert_eq!(names, ["h2", "h3"], "{seen}");
    // h2's clock, 30 s ahead, in µs on the page.
    let h2 = hosts[0]["offset"]
        .as_f64()
        .expect("h2's offset is measured");
    assert!((h2 - 30e6).abs() < 1e6, "{seen}");
    assert!(hosts[0]["uncertainty"].as_f64().is_some(), "{seen}");
    assert_eq!(hosts[0]["sketches"], serde_json::json!(["iopin"]), "{seen}");
    clock.signal("INT");
    let clock = clock.finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    ends(iopin);
    ends(buzzer);
}
