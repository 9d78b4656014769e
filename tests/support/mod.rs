//! Running the real `sketches` binary from tests: spawn it, read its lines
//! with timeouts, signal it, and always reap it.

#![allow(dead_code)] // each test file uses its own part of this

pub mod certs;
pub mod mosquitto;
pub mod netns;
mod port_hold;
pub mod proxy;

pub use port_hold::PortHold;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test, built by cargo for this test target.
pub const BIN: &str = env!("CARGO_BIN_EXE_sketches");

/// The bound for any single wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A line from the child, tagged with where it came from.
#[derive(Debug, Clone)]
pub enum Line {
    Out(String),
    Err(String),
}

/// A running `sketches` process.
pub struct Running {
    child: Child,
    lines: Receiver<Line>,
    /// Every stdout line read so far.
    pub out: Vec<String>,
    /// Every stderr line read so far.
    pub err: Vec<String>,
}

/// Starts `sketches ARGS…` with its output piped.
pub fn start(args: &[&str]) -> Running {
    start_with(args, &[])
}

/// Starts `sketches ARGS…` with extra environment variables.
pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Running {
    start_command(BIN, args, env)
}

/// Starts another program (a Python peer, say) with its lines read like the binary's.
pub fn start_program(program: &str, args: &[&str]) -> Running {
    start_command(program, args, &[])
}

/// Starts another program with extra environment variables (`PYTHONPATH`, say).
pub fn start_program_with(program: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    start_command(program, args, env)
}

/// Starts `PROGRAM ARGS…` with its output piped.
fn start_command(program: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut child = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CIRCUIT_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{program} starts: {err}"));
    let (send, lines) = mpsc::channel();
    pump(child.stdout.take().unwrap(), send.clone(), Line::Out);
    pump(child.stderr.take().unwrap(), send, Line::Err);
    Running {
        child,
        lines,
        out: Vec::new(),
        err: Vec::new(),
    }
}

fn pump(stream: impl Read + Send + 'static, send: mpsc::Sender<Line>, tag: fn(String) -> Line) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if send.send(tag(line)).is_err() {
                break;
            }
        }
    });
}

impl Running {
    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads lines until a stdout line satisfies `wanted`; returns it.
    /// Panics with everything read so far when it does not come within `within`.
    pub fn wait_for(&mut self, within: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Out(line)) => {
                    self.out.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Ok(Line::Err(line)) => self.err.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("line not seen within {within:?}; {}", self.dump())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the process ended first; {}", self.dump())
                }
            }
        }
    }

    /// Waits for the `serving on HOST:PORT` line and returns the port.
    pub fn port(&mut self) -> u16 {
        let line = self.wait_for(PATIENCE, |line| line.contains("serving on "));
        line.rsplit(':')
            .next()
            .unwrap()
            .trim()
            .parse()
            .expect("a port number")
    }

    /// Sends a signal by name (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits (bounded) for the process to exit and reads all its remaining output.
    pub fn finish(mut self, within: Duration) -> Finished {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the process did not exit within {within:?}; {}",
                    self.dump()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        // The pipes close with the process; collect what is left (bounded).
        let drain_until = Instant::now() + Duration::from_secs(5);
        loop {
            let left = drain_until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Line::Out(line)) => self.out.push(line),
                Ok(Line::Err(line)) => self.err.push(line),
                Err(_) => break,
            }
        }
        Finished {
            status,
            out: std::mem::take(&mut self.out),
            err: std::mem::take(&mut self.err),
        }
    }

    fn dump(&self) -> String {
        format!(
            "stdout so far:\n{}\nstderr so far:\n{}",
            self.out.join("\n"),
            self.err.join("\n")
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A process that has exited, with all its output.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub out: Vec<String>,
    pub err: Vec<String>,
}

impl Finished {
    /// The exit code (panics if a signal killed the process).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// The stdout lines logged by sketch `name`, without the `[ name ] ` prefix.
    pub fn lines_of<'a>(&'a self, name: &str) -> Vec<&'a str> {
        lines_of(&self.out, name)
    }
}

/// The lines logged by sketch `name`, without the `[ name ] ` prefix.
pub fn lines_of<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    let prefix = format!("[ {name} ] ");
    lines
        .iter()
        // Under `--sim` a line starts with its simulated time: `   0.490s [ clock ] …`.
        .map(|line| match line.trim_start().split_once("s [ ") {
            Some((time, _)) if time.parse::<f64>().is_ok() => &line.trim_start()[time.len() + 2..],
            _ => line.as_str(),
        })
        .filter_map(|line| line.strip_prefix(&prefix))
        .collect()
}

/// Runs `sketches ARGS…` to completion (bounded) and returns what it did.
pub fn run(args: &[&str]) -> Finished {
    start(args).finish(PATIENCE)
}

/// A WebSocket client connection, as any peer would open one.
pub type Peer =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `url` as a plain WebSocket client, within [`PATIENCE`].
pub async fn connect(url: &str) -> Peer {
    let connecting = tokio_tungstenite::connect_async(url);
    let (peer, _response) = tokio::time::timeout(PATIENCE, connecting)
        .await
        .expect("connects in time")
        .expect("connects");
    peer
}

/// A loopback port where nobody listens, reserved until the tests end: a port
/// merely bound and released could be handed to another test's `-p 0` server,
/// which would then get this test's traffic.
pub fn dead_port() -> u16 {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Held for the life of the test process, which is short.
    std::mem::forget(PortHold::new(port));
    port
}

/// The bits of every `toggling pin state: [1, 0, 1]` line, in order.
pub fn drawn_bits(iopin_lines: &[&str]) -> Vec<u8> {
    iopin_lines
        .iter()
        .filter_map(|line| line.strip_prefix("toggling pin state: "))
        .flat_map(|bits| {
            bits.trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .map(|bit| bit.parse::<u8>().expect("a bit"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// How often a pin starting at 0 rises from 0 to 1 over `bits`.
pub fn rising_edges(bits: &[u8]) -> usize {
    let mut level = 0;
    let mut edges = 0;
    for &bit in bits {
        if level == 0 && bit == 1 {
            edges += 1;
        }
        level = bit;
    }
    edges
}

/// The Python of the venv that `tests/run` makes from
/// `tests/python/requirements.txt` (python-zeroconf, websockets, paho-mqtt), or `None`,
/// said in one loud line, when it is missing outside CI.
pub fn python() -> Option<String> {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let python = workspace.join("target/python/bin/python");
    if python.exists() {
        return Some(python.to_string_lossy().into_owned());
    }
    let why = format!(
        "no {} (bash tests/run makes it from tests/python/requirements.txt)",
        python.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("!!! SKIPPED (needs the Python packages): {why} !!!");
    None
}

/// The path of a script of `tests/python/`.
pub fn script(name: &str) -> String {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    workspace
        .join("tests/python")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
