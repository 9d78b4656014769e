//! Discovery by name on this machine's network: how long a new process takes
//! to resolve a sketch's name (a probe by name against the same probe by
//! URL), and how long a link by name takes to reach a standby once the
//! instance it used is killed.
//!
//! The servers are this package's program, each a circuit of one echo
//! sketch bound beyond loopback (so advertised over multicast DNS) under a
//! name of this run's own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use circuit_runtime::Link;

/// Messages the link sends before the kill: enough to be sure it is connected.
const BEFORE_KILL: usize = 50;

/// How long the link runs before the kill.
const WARM: Duration = Duration::from_secs(2);

/// The longest a takeover may take before the run counts as failed.
const TAKEOVER_LIMIT: Duration = Duration::from_secs(20);

/// A server of the program: `up FILE --host here`, killed when dropped.
struct Part {
    child: Child,
    port: u16,
}

impl Drop for Part {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A circuit file with one echo sketch called `name`, placed "here".
fn file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("bench-{name}.toml"));
    let text = format!("[sketches.{name}]\nkind = \"echo\"\nhost = \"here\"\n");
    std::fs::write(&path, text).expect("a temporary file");
    path
}

/// Starts the echo called `name` and waits until it says it is advertised.
fn start(program: &str, name: &str) -> Part {
    let mut child = Command::new(program)
        .args(["up", file(name).to_str().unwrap(), "--host", "here", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the program starts");
    let out = child.stdout.take().expect("piped");
    let mut port = 0;
    for line in BufReader::new(out).lines().map_while(Result::ok).take(20) {
        if let Some(bound) = line.split("serving on 0.0.0.0:").nth(1) {
            port = bound.trim().parse().unwrap_or(0);
        }
        if line.contains("advertised as") {
            break;
        }
    }
    assert!(port != 0, "{name} did not start");
    Part { child, port }
}

/// Wall time of one `probe TARGET --count 1`.
fn probe_time(program: &str, target: &str) -> Duration {
    let started = Instant::now();
    let status = Command::new(program)
        .args(["probe", target, "--count", "1", "--every", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the probe runs");
    assert!(status.success(), "probe {target} failed");
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints the resolve and takeover figures, medians of `runs`.
pub fn run(program: &str, runs: usize) {
    let name = format!("bench-echo-{}", std::process::id());
    let primary = start(program, &name);
    println!();
    println!("discovery by name (multicast DNS on this machine's network), medians of {runs}");
    let mut by_name = Vec::new();
    let mut by_url = Vec::new();
    for _ in 0..runs.max(3) * 3 {
        by_name.push(probe_time(program, &format!("{name}/x")).as_secs_f64() * 1e3);
        let url = format!("ws://127.0.0.1:{}/x", primary.port);
        by_url.push(probe_time(program, &url).as_secs_f64() * 1e3);
    }
    let (named, direct) = (median(by_name), median(by_url));
    println!(
        "| a new process resolving a name (probe by name − probe by URL) | {:.0} ms | ({named:.0} ms − {direct:.0} ms) |",
        named - direct
    );
    drop(primary);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut takeovers = Vec::new();
    for run in 0..runs {
        let name = format!("bench-standby-{}-{run}", std::process::id());
        let mut primary = start(program, &name);
        let standby = start(program, &name);
        let took = runtime.block_on(takeover(&name, &mut primary));
        drop(standby);
        takeovers.push(took.as_secs_f64() * 1e3);
    }
    println!(
        "| a link by name reaching the standby after its instance is killed | {:.0} ms | (kill -9 → first answer; runs: {}) |",
        median(takeovers.clone()),
        takeovers
            .iter()
            .map(|ms| format!("{ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Streams requests to `name` over a link, kills `primary` once they flow,
/// and returns how long until the next answer.
async fn takeover(name: &str, primary: &mut Part) -> Duration {
    let link = Link::new(&format!("{name}/x")).expect("a name");
    for n in 0..BEFORE_KILL {
        link.request(n).await.expect("the primary answers");
    }
    // A link that has been up a while, as in a running circuit: its process
    // has browsed long enough to know every instance.
    tokio::time::sleep(WARM).await;
    let killed = Instant::now();
    let _ = primary.child.kill();
    let _ = primary.child.wait();
    let mut n = BEFORE_KILL;
    loop {
        assert!(killed.elapsed() < TAKEOVER_LIMIT, "no takeover");
        let answered = tokio::time::timeout(Duration::from_secs(5), link.request(n)).await;
        if matches!(answered, Ok(Ok(_))) {
            return killed.elapsed();
        }
        n += 1;
    }
}
