//! Command sketches through `sketches up FILE`, with real processes: a Rust
//! clock → a Python pin → a Rust buzzer; the Python program killed with -9
//! mid-tick, restarted, the tick resent; a Python clock as a client command
//! ending the run; a program that exits at once, one never ready, one that
//! stays down (`restart = "never"`), one restarted too often; no process
//! left after Ctrl-C or `kill -9` of `up`; the file's mistakes; `--sim`.
//!
//! Each test writes its files into a folder of its own, whose path is in
//! the command line of every process it starts: what is left running is
//! found by that mark in `/proc`.

mod support;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use support::{drawn_bits, python, rising_edges, start, start_with, Finished, Running, PATIENCE};

/// The bound for a whole run of `up` (several programs started, restarts
/// waited out) on a loaded machine.
const RUN_PATIENCE: Duration = Duration::from_secs(90);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// The repository's `python/` folder, the package `circuit_sketch`.
fn package_dir() -> String {
    workspace().join("python").to_string_lossy().into_owned()
}

/// A folder of one test, its path the mark of the processes it starts;
/// removed when the test ends.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let path = std::env::temp_dir().join(format!(
            "circuit-command-sketches-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    /// The folder's path, which marks the processes of the test.
    fn mark(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    /// Writes `name` into the folder; returns its path.
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The processes (pid and command line) whose command line contains `mark`,
/// this test process aside.
fn running_with(mark: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A zombie's command line is empty: it runs nothing any more.
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if pid != me && line.contains(mark) {
            found.push((pid, line));
        }
    }
    found
}

/// Waits (bounded) until no process with `mark` in its command line is left.
fn nothing_left(mark: &str, after: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = running_with(mark);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for (pid, _) in &left {
                kill(*pid, libc::SIGKILL);
            }
            panic!("left running {after}: {left:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn kill(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill(2) takes plain integers; `pid` is a process this test started.
    #[allow(unsafe_code)]
    let done = unsafe { libc::kill(pid, signal) };
    assert_eq!(done, 0, "kill {pid}: {}", std::io::Error::last_os_error());
}

/// The pid of the `started `…` (pid N)` line of sketch `name`, waited for.
fn started_pid(up: &mut Running, name: &str) -> u32 {
    let prefix = format!("[ {name} ] started `");
    let line = up.wait_for(PATIENCE, |line| line.starts_with(&prefix));
    pid_in(&line)
}

/// N of a line's `(pid N)`.
fn pid_in(line: &str) -> u32 {
    let (_, rest) = line.split_once("(pid ").expect("a pid");
    rest.split(')').next().unwrap().parse().expect("a pid")
}

/// Everything `up` wrote to stderr, one text.
fn said(up: &Finished) -> String {
    up.err.join("\n")
}

#[test]
fn a_rust_clock_drives_the_python_pin_which_drives_a_rust_buzzer() {
    let Some(python) = python() else { return };
    let bin = Path::new(&python).parent().unwrap().to_string_lossy();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    // The shipped file as it is, its `python3` the venv's.
    let mixed = workspace().join("sketches/circuits/mixed.toml");
    let mut up = start_with(
        &["up", mixed.to_str().unwrap(), "--set", "clock.delay=0.05"],
        &[("PATH", &path)],
    );
    let pin = started_pid(&mut up, "pin");
    let up = up.finish(RUN_PATIENCE);
    assert_eq!(up.code(), 0, "{up:?}");

    let clock = up.lines_of("clock");
    let acks = clock.iter().filter(|line| line.starts_with("< [")).count();
    assert_eq!(acks, 5, "every tick acknowledged with the bits: {up:?}");
    assert!(
        clock.contains(&"5 ticks sent, 5 acknowledged, 0 resent"),
        "{up:?}"
    );
    let bits = drawn_bits(&up.lines_of("pin"));
    assert_eq!(bits.len(), 15, "three bits a tick, from Python: {up:?}");
    let buzzes = up
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "bits {bits:?}: {up:?}");
    let summary = format!("circuit mixed: 5 ticks sent, 5 acks received, {buzzes} buzzes");
    assert!(up.lines_of("up").contains(&summary.as_str()), "{up:?}");
    // The pin was stopped with the circuit.
    let left = std::fs::read(format!("/proc/{pin}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&left).contains("pin.py"),
        "the pin is still running: {up:?}"
    );
}

/// A Python sketch whose loop takes a while over each tick, so that a kill
/// lands while one is in flight.
const SLOW_PY: &str = r#"
import asyncio
from circuit_sketch import Sketch, out, reactive, run

class Slow(Sketch):
    """Takes a while over every tick."""
    port = 0

    @reactive
    async def loop(self, channel, message):
        out(f"working on {message}")
        await asyncio.sleep(1.5)
        out(f"done with {message}")
        return message

if __name__ == "__main__":
    run(Slow)
"#;

#[test]
fn the_python_sketch_killed_mid_tick_is_restarted_and_the_tick_resent() {
    let Some(python) = python() else { return };
    let folder = Folder::new("killed");
    let script = folder.write("slow.py", SLOW_PY);
    let file = folder.write(
        "killed.toml",
        &format!(
            r#"
[sketches.clock]
to = "slow"
tacks = 3
delay = 0.05

[sketches.slow]
command = ["{python}", "-u", "{script}", "--port", "{{port}}"]
env = {{ PYTHONPATH = "{package}" }}

[summary]
"ticks sent" = "clock.tick"
"acks received" = "clock.ack"
"#,
            package = package_dir()
        ),
    );
    let mut up = start(&["up", &file]);
    let first = started_pid(&mut up, "slow");
    up.wait_for(PATIENCE, |line| line == "[ slow ] working on 1");
    kill(first, libc::SIGKILL);
    let restarted = up.wait_for(PATIENCE, |line| line.starts_with("[ slow ] restarted: "));
    assert_ne!(pid_in(&restarted), first, "a new process");
    let up = up.finish(RUN_PATIENCE);
    assert_eq!(up.code(), 0, "{up:?}");

    let slow = up.lines_of("slow");
    assert!(
        slow.iter()
            .any(|line| line.contains("was killed by SIGKILL; restarting in")),
        "the restart said with its signal: {up:?}"
    );
    let runs_of_1 = slow.iter().filter(|l| **l == "working on 1").count();
    assert_eq!(runs_of_1, 2, "tick 1 came again to the new process: {up:?}");
    let clock = up.lines_of("clock");
    assert!(clock.contains(&"> 1 (resent)"), "{up:?}");
    assert!(
        clock.contains(&"3 ticks sent, 3 acknowledged, 1 resent"),
        "{up:?}"
    );
    assert!(
        up.lines_of("up")
            .contains(&"circuit killed: 3 ticks sent, 3 acks received"),
        "{up:?}"
    );
    nothing_left(&folder.mark(), "after the run");
}

#[test]
fn a_python_clock_as_a_client_command_drives_rust_sketches_and_ends_the_run() {
    let Some(python) = python() else { return };
    let folder = Folder::new("client");
    let clock = workspace().join("python/examples/clock.py");
    let file = folder.write(
        "client.toml",
        &format!(
            r#"
# No timer of this program: the run ends when the Python clock does.
[sketches.clock]
command = ["{python}", "-u", "{clock}", "--to", "{{url:iopin/datafeed}}", "-t", "4", "-d", "0.05"]
env = {{ PYTHONPATH = "{package}" }}

[sketches.iopin]
buzzer = "buzzer"

[sketches.buzzer]

[summary]
"bits drawn" = "iopin.level"
buzzes = {{ rises = "buzzer.buzz" }}
"#,
            clock = clock.display(),
            package = package_dir()
        ),
    );
    let up = start(&["up", &file]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 0, "{up:?}");
    let clock = up.lines_of("clock");
    let sent: Vec<&str> = clock.iter().filter_map(|l| l.strip_prefix("> ")).collect();
    assert_eq!(sent, ["0", "1", "2", "3"], "{up:?}");
    assert!(
        clock.contains(&"4 ticks sent, 4 acknowledged, 0 resent"),
        "{up:?}"
    );
    assert!(
        clock
            .iter()
            .any(|line| line.ends_with("exited with status 0: done")),
        "{up:?}"
    );
    let bits = drawn_bits(&up.lines_of("iopin"));
    assert_eq!(bits.len(), 12, "{up:?}");
    let buzzes = rising_edges(&bits);
    let summary = format!("circuit client: 12 bits drawn, {buzzes} buzzes");
    assert!(up.lines_of("up").contains(&summary.as_str()), "{up:?}");
}

#[test]
fn a_command_that_exits_at_once_fails_the_run_with_its_last_lines() {
    let folder = Folder::new("at-once");
    let mark = folder.mark();
    // It leaves a child behind (named with the mark), which goes with it.
    let file = folder.write(
        "at-once.toml",
        &format!(
            r#"
[sketches.quick]
command = ["bash", "-c", "(exec -a '{mark}-child' sleep 300) & echo one; echo two >&2; exit 3", "{mark}", "{{port}}"]
"#
        ),
    );
    let up = start(&["up", &file]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 1, "{up:?}");
    let heading = "quick: bash exited with status 3 before it was ready; its last lines:";
    let at = up
        .err
        .iter()
        .position(|line| line.ends_with(heading))
        .unwrap_or_else(|| panic!("{}", said(&up)));
    // Its stdout and stderr, each in order, but read apart.
    let mut last: Vec<&str> = up.err[at + 1..].iter().map(String::as_str).collect();
    last.sort_unstable();
    assert_eq!(last, ["    one", "    two"], "{}", said(&up));
    nothing_left(&mark, "after the failed start");
}

#[test]
fn a_command_never_ready_is_stopped_with_what_it_has_started_and_named_limit() {
    let folder = Folder::new("never-ready");
    let mark = folder.mark();
    // A child of its own (named with the mark), which the stop reaches too.
    let file = folder.write(
        "never-ready.toml",
        &format!(
            r#"
[sketches.sleepy]
command = ["bash", "-c", "(exec -a '{mark}-child' sleep 300) & echo hi; wait", "{mark}", "{{port}}"]
ready-timeout = 2
"#
        ),
    );
    let up = start(&["up", &file]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 1, "{up:?}");
    let said = said(&up);
    assert!(
        said.contains("sleepy: bash was not ready within 2.0 s (its port ")
            && said.contains(" accepted no connection; `ready-timeout` gives it longer); its last lines:\n    hi"),
        "{said}"
    );
    nothing_left(&mark, "after the failed start");
}

/// A server that runs until stopped, with a child of its own (the mark its
/// name), as `up` would start it.
fn server_with_a_child(folder: &Folder, name: &str, extra: &str) -> String {
    let mark = folder.mark();
    folder.write(
        &format!("{name}.toml"),
        &format!(
            r#"
[sketches.web]
command = ["bash", "-c", "(exec -a '{mark}-child' sleep 300) & exec python3 -m http.server \"$1\" --bind 127.0.0.1 --directory '{mark}'", "{mark}", "{{port}}"]
{extra}
"#
        ),
    )
}

#[test]
fn ctrl_c_of_up_leaves_no_process_of_a_command() {
    let folder = Folder::new("ctrl-c");
    let file = server_with_a_child(&folder, "ctrl-c", "");
    let mut up = start(&["up", &file]);
    up.wait_for(PATIENCE, |line| line.contains("1 sketches up"));
    assert_eq!(
        running_with(&folder.mark()).len(),
        3,
        "up, the server and its child: {:?}",
        running_with(&folder.mark())
    );
    up.signal("INT");
    let up = up.finish(RUN_PATIENCE);
    assert_eq!(up.code(), 0, "{up:?}");
    nothing_left(&folder.mark(), "after Ctrl-C");
}

#[test]
fn kill_9_of_up_leaves_no_program_running() {
    let folder = Folder::new("kill-9");
    // The parent-death signal reaches the program `up` started itself; the
    // child the program started goes by its watcher, which sees `up` gone.
    let file = server_with_a_child(&folder, "kill-9", "");
    let mut up = start(&["up", &file]);
    let web = started_pid(&mut up, "web");
    up.wait_for(PATIENCE, |line| line.contains("1 sketches up"));
    assert!(running_with(&folder.mark())
        .iter()
        .any(|(pid, _)| *pid == web));
    assert_eq!(
        running_with(&folder.mark()).len(),
        3,
        "up, the server and its child: {:?}",
        running_with(&folder.mark())
    );
    up.signal("KILL");
    let up = up.finish(RUN_PATIENCE);
    assert!(up.status.code().is_none(), "killed: {up:?}");
    nothing_left(&folder.mark(), "after kill -9 of up");
}

#[test]
fn a_server_that_stays_down_with_restart_never_stops_the_circuit() {
    let folder = Folder::new("stays-down");
    let file = server_with_a_child(&folder, "stays-down", r#"restart = "never""#);
    let mut up = start(&["up", &file]);
    let web = started_pid(&mut up, "web");
    up.wait_for(PATIENCE, |line| line.contains("1 sketches up"));
    kill(web, libc::SIGKILL);
    let up = up.finish(RUN_PATIENCE);
    assert_eq!(up.code(), 1, "{up:?}");
    let said = said(&up);
    assert!(
        said.contains(r#"web: bash was killed by SIGKILL (restart = "never"); its last lines:"#),
        "{said}"
    );
    assert!(
        !up.out.iter().any(|line| line.contains("restarting in")),
        "{up:?}"
    );
    // The log says it too, where it happens, before the program's last lines.
    assert!(
        up.out.iter().any(|line| line
            == r#"[ web ] error: the circuit stops: bash was killed by SIGKILL (restart = "never"); its last lines:"#),
        "{up:?}"
    );
    nothing_left(&folder.mark(), "after the failed run");
}

#[test]
fn a_program_restarted_too_often_stops_the_circuit_naming_the_restarts() {
    let folder = Folder::new("flapping");
    let mark = folder.mark();
    let file = folder.write(
        "flapping.toml",
        &format!(
            r#"
[sketches.flap]
command = ["sh", "-c", "echo up-now; sleep 0.2; echo going", "{mark}", "{{port}}"]
ready = "up-now"
restart = "always"
"#
        ),
    );
    let up = start(&["up", &file]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 1, "{up:?}");
    let restarts = up
        .lines_of("flap")
        .iter()
        .filter(|line| line.contains("exited with status 0; restarting in"))
        .count();
    assert_eq!(restarts, 5, "backing off, a few times: {up:?}");
    let said = said(&up);
    assert!(
        said.contains("flap: sh exited with status 0, after 5 restarts within a minute: not restarted again; its last lines:\n    up-now\n    going"),
        "{said}"
    );
    nothing_left(&mark, "after the failed run");
}

#[test]
fn a_missing_program_and_wrong_placeholders_are_reported_at_once_where_they_are() {
    let folder = Folder::new("mistakes");
    let text = r#"
[sketches.ghost]
command = ["no-such-program-of-circuit", "--port", "{port}"]

[sketches.typo]
command = ["sh", "-c", "exit 0", "{prot}"]

[sketches.lost]
command = ["sh", "-c", "exit 0", "--to", "{url:nobody/x}"]

[sketches.both]
command = ["sh", "-c", "exit 0", "{prot}", "{url:elsewhere}"]
"#;
    let file = folder.write("mistakes.toml", text);
    let up = start(&["up", &file]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 2, "{up:?}");
    assert!(
        !up.out.iter().any(|line| line.contains("started `")),
        "nothing started: {up:?}"
    );
    let said = said(&up);
    assert!(said.contains("5 mistakes; nothing was started"), "{said}");
    // Each where its `command` value starts.
    let at = |sketch: &str| {
        let (row, line) = text
            .lines()
            .enumerate()
            .skip_while(|(_, line)| *line != format!("[sketches.{sketch}]"))
            .find(|(_, line)| line.starts_with("command = "))
            .unwrap();
        format!("{file}:{}:{}: ", row + 1, line.find('[').unwrap() + 1)
    };
    for (sketch, why) in [
        (
            "ghost",
            "`command`: no program \"no-such-program-of-circuit\" on PATH",
        ),
        ("typo", "`command`: `{prot}` is no placeholder"),
        ("lost", "`command`: no sketch \"nobody\" in this circuit"),
        // Two mistakes in one command, both said.
        ("both", "`command`: `{prot}` is no placeholder"),
        ("both", "`command`: no sketch \"elsewhere\" in this circuit"),
    ] {
        let expected = format!("{}{why}", at(sketch));
        assert!(
            up.err.iter().any(|line| line.starts_with(&expected)),
            "expected `{expected}`: {said}"
        );
    }
}

#[test]
fn sim_refuses_a_circuit_with_a_command_sketch_naming_it() {
    let folder = Folder::new("sim");
    let mark = folder.mark();
    let file = folder.write(
        "sim.toml",
        &format!(
            r#"
[sketches.clock]
to = "srv"

[sketches.srv]
command = ["python3", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1", "--directory", "{mark}"]
"#
        ),
    );
    let up = start(&["up", &file, "--sim"]).finish(RUN_PATIENCE);
    assert_eq!(up.code(), 2, "{up:?}");
    let said = said(&up);
    assert!(
        said.contains("`srv` is a command sketch; run the circuit without --sim"),
        "{said}"
    );
    assert!(
        !up.out.iter().any(|line| line.contains("started `")),
        "nothing started: {up:?}"
    );
    nothing_left(&mark, "after the refusal");
}
