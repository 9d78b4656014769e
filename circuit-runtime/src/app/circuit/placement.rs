//! Where the sketches of a run placed on this host run: the address they
//! bind, how they reach each other (in-process wires or loopback sockets),
//! what their DNS-SD records say across hosts, and the ports its servers
//! listen on.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::app::circuit::command_sketch::Around;
use crate::app::circuit::options::Every;
use crate::app::circuit::plan::Plan;
use crate::base::options::{LinkOptions, Options, TlsFiles};
use crate::base::shutdown::Shutdown;

/// Every sketch of a circuit on one host listens on loopback only.
pub(crate) const HOST: &str = "127.0.0.1";

/// Sketches of a circuit across hosts listen on every address (and advertise).
const EVERY_ADDRESS: &str = "0.0.0.0";

/// Where the sketches of this process run: what their DNS-SD records say,
/// and whether they are one part of a circuit across hosts.
pub(crate) struct Placement {
    /// The circuit's name.
    pub(crate) circuit: Arc<str>,
    /// Whether only some sketches run here (`--host`), the others found by name.
    pub(crate) across_hosts: bool,
    /// The address the servers are bound to.
    pub(crate) bind: &'static str,
    /// The framework's options given for every sketch.
    pub(crate) every: Every,
    /// Their certificate files: one for every server here.
    pub(crate) tls: TlsFiles,
    /// Whether sketches of this process reach each other over in-memory
    /// pipes (else over loopback sockets, `--sockets`).
    pub(crate) in_process: bool,
    /// What tells this run's in-memory wires from another run's in the same
    /// process (empty for the first run): `mem://buzzer.2/pin`.
    pub(crate) wires: String,
    /// How long a command sketch has between SIGTERM and SIGKILL.
    pub(crate) stop_timeout: Duration,
    /// The circuit's stop, which a command sketch that fails for good fires.
    pub(crate) stop: Shutdown,
}

impl Placement {
    /// Where the sketches of `circuit` placed here run: on loopback, or,
    /// across hosts (`--host`), on every address; wired in process unless
    /// `sockets` (or a certificate, which is for a name on the network) says not.
    pub(crate) fn of(circuit: &Plan, every: Every, tls: TlsFiles, sockets: bool) -> Placement {
        let across_hosts = circuit.here.is_some();
        Placement {
            circuit: circuit.name.as_str().into(),
            across_hosts,
            bind: if across_hosts { EVERY_ADDRESS } else { HOST },
            in_process: !sockets && tls.cert.is_none(),
            wires: wires_of_this_run(),
            every,
            tls,
            stop_timeout: Options::STOP_TIMEOUT,
            stop: Shutdown::new(),
        }
    }
}

impl Placement {
    /// What a command sketch of this run sees around it: the servers of
    /// this process at `ports`, and how it runs and stops.
    pub(crate) fn around<'a>(&'a self, ports: &'a HashMap<&'a str, u16>) -> Around<'a> {
        Around {
            bind: self.bind,
            ports,
            tls: self.tls.cert.is_some(),
            resolve_timeout: LinkOptions::default().resolve_timeout,
            stop_timeout: self.stop_timeout,
            circuit: self.stop.clone(),
            across_hosts: self.across_hosts.then_some(&*self.circuit),
        }
    }
}

/// The suffix of the in-memory wires of a new run: none for the first run
/// of the process, `.2`, `.3`, … for later (or concurrent) ones.
fn wires_of_this_run() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    match RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => String::new(),
        n => format!(".{}", n + 1),
    }
}

/// Where the servers of this process listen.
#[derive(Default)]
pub(crate) struct Ports<'a> {
    /// The port of each, by its name.
    pub(crate) of: HashMap<&'a str, u16>,
    /// Those reached by socket alone, even in process: the command sketches.
    pub(crate) by_socket: HashSet<&'a str>,
}
