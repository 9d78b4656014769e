//! A command sketch's program made ready to start: its placeholders filled
//! in from where the circuit's sketches listen (those on other hosts found
//! by name first), then handed to its supervisor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::app::circuit::command_sketch::placeholder::Filling;
use crate::app::circuit::command_sketch::{start, CommandSketch, Filled, Launch, Started};
use crate::app::circuit::part::{self, AdvertisedTimer};
use crate::app::kind::Kind;
use crate::base::error::{Error, Result};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Running;
use crate::net::find::discovery::Seen;
use crate::net::find::{mdns, unicast};
use crate::observe::log;

/// Where the sketches of the circuit listen, for a command sketch's placeholders.
pub(crate) struct Around<'a> {
    /// The address the sketches of this process bind (`{host}`).
    pub(crate) bind: &'a str,
    /// The port of each sketch of this process that listens on a socket.
    pub(crate) ports: &'a HashMap<&'a str, u16>,
    /// Whether this process's sketches speak TLS (`wss://`).
    pub(crate) tls: bool,
    /// How long one search for a sketch on another host lasts (it is
    /// searched for again until found).
    pub(crate) resolve_timeout: Duration,
    /// How long a program has between SIGTERM and SIGKILL, unless its table says.
    pub(crate) stop_timeout: Duration,
    /// The circuit's stop, fired when the program fails the run.
    pub(crate) circuit: Shutdown,
    /// Across hosts, the circuit's name: the sketch is advertised in it.
    pub(crate) across_hosts: Option<&'a str>,
}

/// Starts command sketch `name` (`command`, of `kind`: a server or a
/// client) among the sketches `around` it; across hosts, advertised on its
/// behalf, so that the other hosts find it by name (and see a client end).
///
/// # Errors
/// As [`launch`].
pub(crate) async fn start_in(
    name: &str,
    command: &Arc<CommandSketch>,
    kind: &Kind,
    around: &Around<'_>,
) -> Result<Box<dyn Running>> {
    let name: Arc<str> = name.into();
    let port = around.ports.get(&*name).copied().filter(|_| kind.serves);
    let launched = launch(&name, command, port, around);
    let running = Box::new(log::scoped(Arc::clone(&name), launched).await?);
    let Some(circuit) = around.across_hosts else {
        return Ok(running);
    };
    let advertised = match port {
        Some(port) => part::advertise_command(&name, command, port, circuit).await,
        // A program's signals are its own: nothing to stream.
        None => part::advertise_timer(&name, kind, circuit, None).await,
    };
    Ok(Box::new(AdvertisedTimer {
        running,
        advertised,
        streaming: None,
    }))
}

/// Starts command sketch `name` (`command`), listening on `port` when it
/// serves, once every sketch its placeholders name is found.
///
/// # Errors
/// [`Error::Command`] when the circuit stops before a sketch it names is
/// found, or when it does not start (see [`start`]).
async fn launch(
    name: &Arc<str>,
    command: &Arc<CommandSketch>,
    port: Option<u16>,
    around: &Around<'_>,
) -> Result<Started> {
    let mut elsewhere = HashMap::new();
    for sketch in command.named() {
        if around.ports.contains_key(sketch) {
            continue;
        }
        let seen = awaited(name, sketch, around).await?;
        elsewhere.insert(sketch.to_owned(), seen);
    }
    let places = Places {
        port: port.unwrap_or(0),
        around,
        elsewhere,
    };
    let filled = Filled {
        args: command.command[1..]
            .iter()
            .map(|word| word.fill(&places))
            .collect(),
        env: command
            .env
            .iter()
            .map(|(variable, value)| (variable.clone(), value.fill(&places)))
            .collect(),
    };
    // Ready when its port takes a connection: on loopback when it binds every address.
    let ready_at = match around.bind {
        "0.0.0.0" => "127.0.0.1",
        bind => bind,
    };
    let listens = match port {
        Some(port) => Some(SocketAddr::new(
            ready_at
                .parse()
                .map_err(|_| Error::Command(format!("{name}: cannot wait on {ready_at}")))?,
            port,
        )),
        None => None,
    };
    start(Launch {
        name: Arc::clone(name),
        sketch: Arc::clone(command),
        filled,
        listens,
        stop_timeout: around.stop_timeout,
        circuit: around.circuit.clone(),
    })
    .await
}

/// Sketch `sketch` of another host, found by name for command sketch
/// `name`: asked again until it answers, since the parts of a circuit start
/// in any order and the program cannot start without its address (a link
/// of a Rust sketch waits for its peer the same way). Said once.
///
/// # Errors
/// [`Error::Command`] when the circuit stops before it is found.
async fn awaited(name: &str, sketch: &str, around: &Around<'_>) -> Result<Seen> {
    let mut stop = around.circuit.clone();
    let mut said = false;
    loop {
        let why = tokio::select! {
            found = found(sketch, around.resolve_timeout) => match found {
                Ok(seen) => return Ok(seen),
                Err(why) => why,
            },
            () = stop.wait() => break,
        };
        tracing::debug!("{sketch} not found yet: {why}");
        if !said {
            tracing::info!("starts once {sketch}, on another host, is found by name");
            said = true;
        }
        // A DNS server may say no at once: never ask again at once.
        tokio::select! {
            () = tokio::time::sleep(ASK_AGAIN) => {}
            () = stop.wait() => break,
        }
    }
    Err(Error::Command(format!(
        "{name}: the circuit stopped before {sketch}, which its command names, was found by name; it never started"
    )))
}

/// The pause before a sketch of another host that did not answer is asked for again.
const ASK_AGAIN: Duration = Duration::from_secs(1);

/// Sketch `sketch` of another host, found by name (a DNS server's records
/// when `--discovery` names one, else multicast DNS-SD).
async fn found(sketch: &str, within: Duration) -> std::result::Result<Seen, String> {
    let seen = match unicast::server() {
        Some(dns) => dns.resolve(sketch, within).await?,
        None => mdns::resolve(sketch, within).await?,
    };
    seen.into_iter()
        .find(|seen| !seen.addrs.is_empty())
        .ok_or_else(|| format!("not found by name within {:.1} s", within.as_secs_f64()))
}

/// What a command sketch's placeholders stand for.
struct Places<'a> {
    /// Its own port.
    port: u16,
    /// The sketches of this process.
    around: &'a Around<'a>,
    /// The sketches it names on other hosts, found.
    elsewhere: HashMap<String, Seen>,
}

impl Filling for Places<'_> {
    fn port(&self) -> u16 {
        self.port
    }

    fn host(&self) -> &str {
        self.around.bind
    }

    fn port_of(&self, sketch: &str) -> u16 {
        match self.around.ports.get(sketch) {
            Some(port) => *port,
            None => self.elsewhere.get(sketch).map_or(0, |seen| seen.port),
        }
    }

    fn url_of(&self, sketch: &str, path: &str) -> String {
        if let Some(port) = self.around.ports.get(sketch) {
            let scheme = if self.around.tls { "wss" } else { "ws" };
            return format!("{scheme}://127.0.0.1:{port}{path}");
        }
        self.elsewhere
            .get(sketch)
            .and_then(|seen| seen.urls(path).into_iter().next())
            .unwrap_or_default()
    }
}
