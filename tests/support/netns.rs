//! A small network of Linux network namespaces for tests that need real
//! hosts: a "switch" namespace holding a bridge, and hosts `h1`…`hN`, each in
//! its own namespace and plugged into the bridge by a veth pair, so programs
//! started on different hosts talk over real interfaces (TCP, UDP, multicast
//! such as mDNS on 224.0.0.251:5353) instead of one shared loopback.
//!
//! Everything is done with the `ip` command (iproute2) and lives inside the
//! namespaces this module makes: no interface is created in the machine's own
//! namespace, so nothing outside can be touched, and deleting the namespaces
//! deletes everything. Dropping a [`Network`] does that, also when a test
//! panics; namespaces left by a test process that was killed are swept by the
//! next one. Needs root: tests call [`Network::create_or_skip`], which skips
//! with one loud line when namespaces are unavailable, except with `CI=true`.

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{self, Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Mutex, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Every namespace made here is named `circuit-test-PID-…`: the process id
/// tells a later process whether the owner is gone and the namespace stale.
const PREFIX: &str = "circuit-test-";

/// The bridge inside the switch namespace.
const BRIDGE: &str = "br0";

/// Each host's end of its veth pair, named like an ordinary first interface.
const DEVICE: &str = "eth0";

/// Where multicast goes: without this route a host with no default route
/// cannot send to 224.0.0.251 at all ("Network is unreachable").
const MULTICAST: &str = "224.0.0.0/4";

/// Host `hN` gets 10.213.X.N, so at most this many hosts fit in the /24.
const MAX_HOSTS: usize = 250;

/// The bound on any single `ip` command.
const IP_PATIENCE: Duration = Duration::from_secs(10);

/// Numbers the networks of this process, for unique names and subnets.
static NEXT_NETWORK: AtomicUsize = AtomicUsize::new(0);

/// A switch and its hosts, removed when dropped.
pub struct Network {
    /// `circuit-test-PID-SEQ`: the start of every namespace name of this network.
    id: String,
    hosts: Vec<Host>,
    /// The namespaces made so far, in order, for the cleanup.
    made: Vec<String>,
}

/// One host of a [`Network`]: a namespace with loopback and one interface on the switch.
pub struct Host {
    /// `h1`, `h2`, …
    name: String,
    netns: String,
    addr: Ipv4Addr,
    /// The switch namespace and this host's port there (the veth's other end).
    switch: String,
    port: String,
}

impl Network {
    /// Why namespace tests cannot run here (not root, or `ip netns` does not
    /// work), or `None` when they can. Probed once per process.
    pub fn skip_reason() -> Option<String> {
        static REASON: OnceLock<Option<String>> = OnceLock::new();
        REASON.get_or_init(probe).clone()
    }

    /// A network for a test, or `None` after one loud line when namespaces are
    /// unavailable; with `CI=true` that panics instead, since CI must run them.
    /// Panics if the network cannot be made although namespaces work.
    pub fn create_or_skip(hosts: usize) -> Option<Network> {
        if let Some(reason) = Network::skip_reason() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true, but the network-namespace tests cannot run: {reason}");
            }
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "!!! SKIPPED (needs root and ip netns): {reason} !!!"
            );
            return None;
        }
        Some(Network::create(hosts).unwrap_or_else(|error| panic!("the test network: {error}")))
    }

    /// Makes the switch and `hosts` hosts `h1`…`hN`, ready to use. On an error
    /// whatever was made already is removed again.
    pub fn create(hosts: usize) -> Result<Network, String> {
        if hosts > MAX_HOSTS {
            return Err(format!("{hosts} hosts asked for, at most {MAX_HOSTS} fit"));
        }
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            sweep_stale();
        });
        let seq = NEXT_NETWORK.fetch_add(1, Ordering::Relaxed);
        // The namespaces alone keep networks apart; a subnet of its own per
        // network only keeps addresses in logs unambiguous.
        let subnet = (seq % 256) as u8;
        // From here on an early return drops `network`, which removes what was made.
        let mut network = Network {
            id: format!("{PREFIX}{}-{seq}", process::id()),
            hosts: Vec::new(),
            made: Vec::new(),
        };
        let switch = network.add_namespace("sw")?;
        ip(&format!("-n {switch} link add {BRIDGE} type bridge"))?;
        // With snooping on, the bridge would forward a group's traffic only to
        // ports it saw join it; off, it floods multicast to every port like a
        // plain switch, so a datagram reaches a host that joined without an
        // IGMP report being seen (and without any querier on the network).
        ip(&format!(
            "-n {switch} link set {BRIDGE} type bridge mcast_snooping 0"
        ))?;
        ip(&format!("-n {switch} link set {BRIDGE} up"))?;
        for number in 1..=hosts {
            let name = format!("h{number}");
            let netns = network.add_namespace(&name)?;
            let port = format!("to-{name}");
            let addr = Ipv4Addr::new(10, 213, subnet, number as u8);
            // Both ends are created inside the namespaces, never in the
            // machine's own, so no name there can clash or be touched.
            ip(&format!(
                "-n {switch} link add {port} type veth peer name {DEVICE} netns {netns}"
            ))?;
            ip(&format!("-n {switch} link set {port} master {BRIDGE}"))?;
            ip(&format!("-n {switch} link set {port} up"))?;
            ip(&format!("-n {netns} link set lo up"))?;
            ip(&format!("-n {netns} addr add {addr}/24 dev {DEVICE}"))?;
            ip(&format!("-n {netns} link set {DEVICE} up"))?;
            ip(&format!("-n {netns} route add {MULTICAST} dev {DEVICE}"))?;
            network.hosts.push(Host {
                name,
                netns,
                addr,
                switch: switch.clone(),
                port,
            });
        }
        Ok(network)
    }

    /// Host `hN` (numbered from 1, like its name); panics if there is none.
    pub fn host(&self, number: usize) -> &Host {
        number
            .checked_sub(1)
            .and_then(|index| self.hosts.get(index))
            .unwrap_or_else(|| panic!("no host h{number} in a network of {}", self.hosts.len()))
    }

    /// Every host, `h1` first.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The name of the switch's namespace, which holds the bridge `br0` and
    /// each host's port on it, `to-hN`.
    pub fn switch(&self) -> &str {
        &self.made[0]
    }

    /// The names of the namespaces this network made (switch first), as
    /// `ip netns list` shows them.
    pub fn namespaces(&self) -> &[String] {
        &self.made
    }

    /// Adds the namespace `ID-SUFFIX`, recorded for the cleanup, and returns its name.
    fn add_namespace(&mut self, suffix: &str) -> Result<String, String> {
        let name = format!("{}-{suffix}", self.id);
        {
            // The first `ip netns add` on a machine also sets up /run/netns as
            // a mount point; two racing in one process could stack that mount.
            static ADDING: Mutex<()> = Mutex::new(());
            let _one_at_a_time = ADDING
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            ip(&format!("netns add {name}"))?;
        }
        self.made.push(name.clone());
        Ok(name)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let mut failures = Vec::new();
        for name in self.made.iter().rev() {
            if let Err(error) = remove_namespace(name) {
                failures.push(error);
            }
        }
        // Anything of this network's that was made but not recorded (an `ip`
        // that timed out after creating its namespace): only our own prefix.
        let ours = format!("{}-", self.id);
        if let Ok(names) = listed() {
            for name in names.iter().filter(|name| name.starts_with(&ours)) {
                if let Err(error) = remove_namespace(name) {
                    failures.push(error);
                }
            }
        }
        if !failures.is_empty() {
            // No panic here: this may run while a test is already panicking.
            let _ = writeln!(
                std::io::stderr(),
                "!!! the test network {} was not removed completely: {} !!!",
                self.id,
                failures.join("; ")
            );
        }
    }
}

impl Host {
    /// `h1`, `h2`, …
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its IPv4 address on the switch.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The name of its namespace, for `ip -n NAME …` or `ip netns exec NAME …`.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// `PROGRAM ARGS…` to be run on this host (through `ip netns exec`), with
    /// stdin closed and stdout and stderr piped; adjust it before spawning.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.netns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Starts `PROGRAM ARGS…` on this host; panics if it cannot start. The
    /// child is the program itself (`ip netns exec` execs it), so killing it
    /// kills the program; the network kills it anyway when dropped.
    pub fn run(&self, program: &str, args: &[&str]) -> Child {
        self.command(program, args)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {program} on {}: {error}", self.name))
    }

    /// Starts `PROGRAM ARGS…` on this host with its lines read as the
    /// `sketches` binary's are: `wait_for` and `finish` with timeouts, and
    /// killed when dropped.
    pub fn start(&self, program: &str, args: &[&str]) -> super::Running {
        let mut child = self.run(program, args);
        let (send, lines) = mpsc::channel();
        super::pump(child.stdout.take().unwrap(), send.clone(), super::Line::Out);
        super::pump(child.stderr.take().unwrap(), send, super::Line::Err);
        super::Running {
            child,
            lines,
            out: Vec::new(),
            err: Vec::new(),
        }
    }

    /// Pulls this host's cable: takes its port on the switch down. The host
    /// keeps its address and routes, so its programs meet silence (timeouts),
    /// as on a real network, rather than "network unreachable" at once.
    pub fn unplug(&self) -> Result<(), String> {
        ip(&format!("-n {} link set {} down", self.switch, self.port)).map(drop)
    }

    /// Plugs the cable back in: its port on the switch up again.
    pub fn plug(&self) -> Result<(), String> {
        ip(&format!("-n {} link set {} up", self.switch, self.port)).map(drop)
    }
}

/// Runs `ip ARGS` (bounded by [`IP_PATIENCE`]) and returns its stdout; a
/// failure is the command and its stderr. `args` is split at whitespace:
/// every name here is made without any.
pub fn ip(args: &str) -> Result<String, String> {
    let shown = format!("`ip {args}`");
    let child = Command::new("ip")
        .args(args.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{shown} does not start (is iproute2 installed?): {error}"))?;
    let output = output_within(child, IP_PATIENCE).map_err(|error| format!("{shown}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The namespaces `ip netns list` shows, by name.
pub fn listed() -> Result<Vec<String>, String> {
    // Lines are `NAME` or `NAME (id: N)`.
    Ok(ip("netns list")?
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Removes the namespaces of this naming scheme whose process is gone (a test
/// killed before its cleanup), and returns their names. Best effort: a
/// namespace that cannot be removed is left for the next sweep.
pub fn sweep_stale() -> Vec<String> {
    let Ok(names) = listed() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for name in names {
        let stale = owner(&name).is_some_and(|pid| !alive(pid));
        if stale && remove_namespace(&name).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// Waits at most `within` for `child` to exit and collects its output; kills
/// it when it overstays.
pub fn output_within(mut child: Child, within: Duration) -> Result<Output, String> {
    // Read both pipes meanwhile, so a chatty child never blocks on a full one.
    let stdout = child.stdout.take().map(read_in_background);
    let stderr = child.stderr.take().map(read_in_background);
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {within:?}, killed"));
            }
            Err(error) => return Err(format!("waiting for it: {error}")),
        }
    };
    // The pipes close with the program, unless something it started still
    // holds them: wait for what is left, bounded.
    let collect = |reader: Option<Receiver<Vec<u8>>>| {
        reader
            .and_then(|reader| reader.recv_timeout(Duration::from_secs(5)).ok())
            .unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn read_in_background(mut stream: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        let _ = send.send(bytes);
    });
    receive
}

/// Kills what still runs in the namespace, then deletes it. The kill comes
/// first because `ip netns del` only unlinks the name: a process inside would
/// keep the namespace, and itself, running unseen.
fn remove_namespace(name: &str) -> Result<(), String> {
    if let Ok(pids) = ip(&format!("netns pids {name}")) {
        for pid in pids.split_whitespace().filter_map(|pid| pid.parse().ok()) {
            // Never this process, whatever the namespace holds.
            if pid != process::id() as libc::pid_t {
                // SAFETY: kill(2) takes plain integers and touches no memory.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    ip(&format!("netns del {name}")).map(drop)
}

/// The process id in a name of this scheme, `circuit-test-PID-…`.
fn owner(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

fn alive(pid: u32) -> bool {
    pid == process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// The probe behind [`Network::skip_reason`]: root, then a namespace made,
/// entered and deleted.
fn probe() -> Option<String> {
    match effective_uid() {
        Ok(0) => {}
        Ok(uid) => return Some(format!("running as uid {uid}, not root")),
        Err(error) => return Some(error),
    }
    let name = format!("{PREFIX}{}-probe", process::id());
    if let Err(error) = ip(&format!("netns add {name}")) {
        return Some(format!("ip netns is unusable: {error}"));
    }
    let entered = ip(&format!("netns exec {name} true"));
    let deleted = ip(&format!("netns del {name}"));
    match (entered, deleted) {
        (Ok(_), Ok(_)) => None,
        (Err(error), _) | (_, Err(error)) => Some(format!("ip netns is unusable: {error}")),
    }
}

/// The effective uid, from /proc/self/status (`Uid: REAL EFFECTIVE SAVED FS`).
fn effective_uid() -> Result<u32, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|error| format!("cannot read /proc/self/status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
        .ok_or_else(|| "no Uid line in /proc/self/status".to_owned())
}
