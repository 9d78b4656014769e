//! A command sketch across hosts, found by name: `up FILE --host H` starts
//! the programs placed on H and advertises them by DNS-SD on their behalf,
//! and fills their placeholders with where sketches on other hosts listen.
//! A Rust clock and buzzer on h1, a Python pin (python/examples/pin.py, on
//! the circuit_sketch package) on h2 between them; network namespaces made
//! by the test (`support/netns.rs`) are the hosts. Needs root and the tests'
//! Python venv; otherwise skipped with one loud line, except with `CI=true`.

mod support;

use std::path::{Path, PathBuf};

use support::netns::{ip, Network};
use support::{drawn_bits, python, rising_edges, Finished, Running, BIN, PATIENCE};

/// The repository's `python/` folder, where the package and its examples live.
fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("python")
}

/// Circuit file `name` of `sketches` (TOML tables), written for this test process.
fn circuit_file(name: &str, sketches: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("command-hosts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, format!("name = \"{name}\"\n{sketches}")).unwrap();
    path
}

/// The table of command sketch `name` on `host`: the Python pin, its levels
/// sent to `buzzer` (a `{url:…}` placeholder).
fn python_pin(python: &str, name: &str, host: &str, buzzer: &str) -> String {
    let package = package_dir();
    format!(
        r#"
[sketches.{name}]
command = ["{python}", "-u", "{pin}", "--port", "{{port}}", "--host", "{{host}}", "--buzzer", "{{url:{buzzer}/pin}}"]
env = {{ PYTHONPATH = "{package}" }}
takes = "u64"
host = "{host}"
"#,
        pin = package.join("examples/pin.py").display(),
        package = package.display(),
    )
}

/// Waits for a part to end by itself, with success.
fn ends(running: Running) -> Finished {
    let finished = running.finish(PATIENCE * 2);
    assert_eq!(finished.code(), 0, "{finished:?}");
    finished
}

/// The processes still running on `host` (in its network namespace).
fn left_on(net: &Network, host: usize) -> Vec<String> {
    let pids = ip(&format!("netns pids {}", net.host(host).netns())).unwrap();
    pids.split_whitespace()
        .map(|pid| {
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!(
                "{pid}: {}",
                String::from_utf8_lossy(&command).replace('\0', " ")
            )
        })
        .collect()
}

#[test]
fn a_command_sketch_on_one_host_is_found_by_name_from_the_other() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    // The mixed circuit (clock → Python pin → buzzer) with the pin on h2 and
    // the others on h1, so each host must find the other's sketches by name.
    let pin = python_pin(&python, "pin", "h2", "buzzer");
    let sketches = format!(
        r#"
[sketches.clock]
to = "pin"
tacks = 8
delay = 0.05
host = "h1"
{pin}
[sketches.buzzer]
host = "h1"
"#
    );
    let file = circuit_file("mixed-hosts", &sketches);
    let file = file.to_str().unwrap();
    // The pin's part first: its program waits for the buzzer on h1 to be
    // found, then starts, and is advertised on its behalf.
    let mut h2 = net.host(2).start(BIN, &["up", file, "--host", "h2"]);
    h2.wait_for(PATIENCE, |line| {
        line == "[ pin ] starts once buzzer, on another host, is found by name"
    });
    let h1 = net.host(1).start(BIN, &["up", file, "--host", "h1"]);
    h2.wait_for(PATIENCE, |line| line.contains("sketches up"));
    // Advertised by `up` on the program's behalf, as a command taking ticks.
    let ls = net
        .host(1)
        .start(BIN, &["ls", "--for", "2"])
        .finish(PATIENCE);
    assert_eq!(ls.code(), 0, "{ls:?}");
    let row = ls
        .out
        .iter()
        .find(|line| line.starts_with("pin "))
        .unwrap_or_else(|| panic!("ls lists the pin: {ls:?}"));
    assert!(
        row.contains(&format!("{}:", net.host(2).addr()))
            && row.contains("command (u64)")
            && row.contains("mixed-hosts"),
        "{row}"
    );

    let h1 = ends(h1);
    let h2 = ends(h2);
    let ticks = h1.lines_of("clock");
    assert!(
        ticks.contains(&"8 ticks sent, 8 acknowledged, 0 resent"),
        "{h1:?}"
    );
    let on_h2 = format!("pin is \"pin\" at ws://{}:", net.host(2).addr());
    assert!(
        ticks.iter().any(|line| line.starts_with(&on_h2)),
        "the clock found the pin on h2 by name: {h1:?}"
    );
    // The Python program was handed the buzzer's URL on h1, found by name.
    let pin = h2.lines_of("pin");
    let bits = drawn_bits(&pin);
    assert_eq!(bits.len(), 24, "three bits a tick: {h2:?}");
    let to_h1 = format!("link to ws://{}:", net.host(1).addr());
    assert!(
        pin.iter()
            .any(|line| line.starts_with(&to_h1) && line.ends_with("/pin: 24 delivered")),
        "every level reached the buzzer on h1: {h2:?}"
    );
    let buzzes = h1
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "bits {bits:?}; {h1:?}");
    // Nothing of the Python program outlives its part.
    assert_eq!(left_on(&net, 2), Vec::<String>::new(), "{h2:?}");
    assert_eq!(left_on(&net, 1), Vec::<String>::new(), "{h1:?}");
}

#[test]
fn a_part_starts_its_own_servers_before_its_commands_wait_for_the_other_hosts() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    // Each host's program names the other host's buzzer, and comes first in
    // the file: had a part waited for the other's buzzer before starting its
    // own, neither would ever start.
    let sketches = format!(
        "{}{}{}{}",
        python_pin(&python, "pin1", "h1", "buzzer2"),
        python_pin(&python, "pin2", "h2", "buzzer1"),
        "\n[sketches.buzzer1]\nkind = \"buzzer\"\nhost = \"h1\"\n",
        "\n[sketches.buzzer2]\nkind = \"buzzer\"\nhost = \"h2\"\n",
    );
    let file = circuit_file("crossed", &sketches);
    let file = file.to_str().unwrap();
    let mut parts: Vec<Running> = [1, 2]
        .into_iter()
        .map(|host| {
            let placement = format!("h{host}");
            net.host(host)
                .start(BIN, &["up", file, "--host", &placement])
        })
        .collect();
    for part in &mut parts {
        part.wait_for(PATIENCE, |line| line.contains("sketches up"));
    }
    for (part, host, other) in [(0, 1, 2), (1, 2, 1)] {
        let started = format!("--buzzer ws://{}:", net.host(other).addr());
        assert!(
            parts[part]
                .out
                .iter()
                .any(|line| line.starts_with(&format!("[ pin{host} ] started `"))
                    && line.contains(&started)),
            "pin{host} was handed the buzzer of h{other}: {:?}",
            parts[part].out
        );
    }
    // Fed by each other, the parts serve until Ctrl-C.
    for part in &parts {
        part.signal("INT");
    }
    for (host, part) in parts.into_iter().enumerate() {
        let finished = part.finish(PATIENCE);
        assert_eq!(finished.code(), 0, "{finished:?}");
        assert_eq!(
            left_on(&net, host + 1),
            Vec::<String>::new(),
            "{finished:?}"
        );
    }
}

#[test]
fn ctrl_c_while_a_command_waits_for_another_host_stops_the_part_and_says_why() {
    let Some(net) = Network::create_or_skip(1) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let sketches = format!(
        "{}\n[sketches.buzzer]\nhost = \"h2\"\n",
        python_pin(&python, "pin", "h1", "buzzer")
    );
    let file = circuit_file("alone", &sketches);
    // h2 never comes: the pin waits for its buzzer until stopped.
    let mut part = net
        .host(1)
        .start(BIN, &["up", file.to_str().unwrap(), "--host", "h1"]);
    part.wait_for(PATIENCE, |line| {
        line == "[ pin ] starts once buzzer, on another host, is found by name"
    });
    part.signal("INT");
    let finished = part.finish(PATIENCE);
    assert_eq!(finished.code(), 1, "the circuit did not run: {finished:?}");
    assert!(
        finished.err.iter().any(|line| line.contains(
            "pin: the circuit stopped before buzzer, which its command names, was found by name; it never started"
        )),
        "{finished:?}"
    );
    assert!(
        !finished.out.iter().any(|line| line.contains("started `")),
        "{finished:?}"
    );
    assert_eq!(left_on(&net, 1), Vec::<String>::new(), "{finished:?}");
}
