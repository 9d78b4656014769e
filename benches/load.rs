//! Side-by-side load benchmark: the `echo` sketch (built with the macros)
//! against a plain hand-written tokio-tungstenite server, driven by the same
//! load generator, alternating A/B runs so that machine drift cancels.
//!
//! ```sh
//! cargo bench -p circuit-bench            # 3 runs per mode (a few minutes)
//! cargo bench -p circuit-bench -- --quick # 1 run, smaller loads
//! cargo bench -p circuit-bench -- --links # the link mode alone
//! cargo bench -p circuit-bench -- --links --spool # a link with a spool against one without
//! cargo bench -p circuit-bench -- --mqtt  # a link to mosquitto against mosquitto_pub
//! cargo bench -p circuit-bench -- --discovery # resolving a name, a standby taking over
//! cargo bench -p circuit-bench -- --tls   # the echo over wss:// against ws://
//! cargo bench -p circuit-bench -- --metrics # the echo with --metrics against without
//! cargo bench -p circuit-bench -- --sim   # in-process wires against sockets, simulated time
//! cargo bench -p circuit-bench -- --scenarios # a scenario against the plain run; 16 at once
//! ```
//!
//! Everything runs on 127.0.0.1 with ephemeral ports; every loop is bounded in
//! count and time; the server processes are killed when the benchmark ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// This package's program (the echo sketch and the circuit), built by cargo for the benchmark.
const PROGRAM: &str = env!("CARGO_BIN_EXE_circuit-bench");

/// One round trip may take this long before its message counts as unacknowledged.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(10);

/// Connections opened at once; more would overflow the listen backlog.
const CONNECT_BATCH: usize = 200;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

mod discovery;
mod link_mode;
mod metrics_mode;
mod mqtt_mode;
mod scenario_mode;
mod sim_mode;
mod spool_mode;
mod tls_mode;

/// The windows the link mode compares: 1 is a strict request/answer.
const LINK_WINDOWS: [usize; 8] = [1, 64, 256, 1024, 4096, 16_384, 32_768, 65_536];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--raw-server") {
        return raw_server();
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    // `--clients C --each M`: just that one many-clients mode, once per server.
    let number = |flag: &str| {
        let at = args.iter().position(|arg| arg == flag)?;
        args.get(at + 1)?.parse::<usize>().ok()
    };
    if args.iter().any(|arg| arg == "--tcp-server") {
        return tcp_server();
    }
    if let Some(at) = args.iter().position(|arg| arg == "--tcp-client") {
        let rounds = number("--each").unwrap_or(10_000);
        println!("{:.0}", tcp_client(&args[at + 1], rounds));
        return;
    }
    if let Some(at) = args.iter().position(|arg| arg == "--ws-client") {
        let rounds = number("--each").unwrap_or(10_000);
        println!("{:.0}", blocking_ws_client(&args[at + 1], rounds));
        return;
    }
    if let Some(at) = args.iter().position(|arg| arg == "--generate") {
        // A second generator process: drive URL with C clients × M, print the rate.
        let (url, clients, each) = (
            &args[at + 1],
            number("--clients").unwrap_or(100),
            number("--each").unwrap_or(100),
        );
        let load = block_on(drive(url, clients, each, None));
        println!("{:.0} {}", load.rate(), load.unacked);
        return;
    }
    if let (Some(clients), Some(each)) = (number("--clients"), number("--each")) {
        raise_open_file_limit(40_000);
        for kind in [Kind::Circuit, Kind::Raw] {
            let server = Server::start(kind);
            let load = block_on(drive(&server.url, clients, each, Some(server.pid())));
            println!(
                "{kind:?}: {clients} clients × {each}: {:.0} messages/s, p99 {} µs, {} unacknowledged, {} failed to connect, CPU µs per message: server {:.1}, generator {:.1}",
                load.rate(),
                load.percentile(99.0),
                load.unacked,
                load.unconnected,
                load.server_cpu_us(),
                load.generator_cpu_us(),
            );
        }
        return;
    }
    let runs = if quick { 1 } else { 3 };
    if args.iter().any(|arg| arg == "--scenarios") {
        scenario_mode::run(runs, quick);
        return;
    }
    if args.iter().any(|arg| arg == "--sim") {
        sim_mode::run(runs, quick);
        return;
    }
    if args.iter().any(|arg| arg == "--tls") {
        raise_open_file_limit(40_000);
        tls_mode::run(runs, quick);
        return;
    }
    if args.iter().any(|arg| arg == "--metrics") {
        raise_open_file_limit(40_000);
        metrics_mode::run(runs, quick);
        return;
    }
    if args.iter().any(|arg| arg == "--discovery") {
        discovery::run(PROGRAM, runs);
        return;
    }
    if args.iter().any(|arg| arg == "--mqtt") {
        let echo = Server::start(Kind::Circuit);
        mqtt_mode::run(echo.port.parse().expect("a port"), runs);
        return;
    }
    if args.iter().any(|arg| arg == "--links") && args.iter().any(|arg| arg == "--spool") {
        let echo = Server::start(Kind::Circuit);
        spool_mode::run(echo.port.parse().expect("a port"), runs);
        return;
    }
    if args.iter().any(|arg| arg == "--links") {
        let echo = Server::start(Kind::Circuit);
        link_mode::run(echo.port.parse().expect("a port"), &LINK_WINDOWS, runs);
        return;
    }
    raise_open_file_limit(40_000);
    println!(
        "circuit load benchmark — {} cores, {runs} run(s) per mode, medians",
        cores()
    );

    let sequential = if quick { 5_000 } else { 20_000 };
    let mut table = Table::default();
    for _ in 0..runs {
        for kind in [Kind::Circuit, Kind::Raw] {
            let server = Server::start(kind);
            let load = block_on(drive(&server.url, 1, sequential, None));
            table.add(kind, "sequential: messages/s", load.rate());
            table.add(kind, "sequential: p50 µs", load.percentile(50.0));
            table.add(kind, "sequential: p99 µs", load.percentile(99.0));
            for (clients, each) in [(100, 200), (1_000, 50), (10_000, 100)] {
                let each = if quick { each / 5 } else { each };
                let load = block_on(drive(&server.url, clients, each, Some(server.pid())));
                table.add(kind, &format!("{clients} clients: messages/s"), load.rate());
                table.add(
                    kind,
                    &format!("{clients} clients: p99 µs"),
                    load.percentile(99.0),
                );
                table.add(
                    kind,
                    &format!("{clients} clients: unacknowledged"),
                    load.unacked as f64,
                );
                table.add(
                    kind,
                    &format!("{clients} clients: server CPU µs/msg"),
                    load.server_cpu_us(),
                );
                table.add(
                    kind,
                    &format!("{clients} clients: generator CPU µs/msg"),
                    load.generator_cpu_us(),
                );
            }
        }
        for kind in [Kind::Circuit, Kind::Raw] {
            let server = Server::start(kind);
            table.add(
                kind,
                "idle memory: KiB per connection",
                block_on(idle_memory(&server, 10_000)),
            );
        }
    }
    table.print();

    // Is the load generator the bottleneck? Two generator processes at once
    // against the same server: if their total rose well above one generator's
    // rate, one generator was holding the server back; if it stays level (or
    // drops, as the generators take CPU from the server), the server is saturated.
    println!();
    println!("generator check (100 clients × 200, messages/s):");
    for kind in [Kind::Circuit, Kind::Raw] {
        let server = Server::start(kind);
        let one = block_on(drive(&server.url, 100, 200, None)).rate();
        let two = two_generators(&server.url, 100, 200);
        println!(
            "  {kind:?}: one generator {one:.0}, two at once {two:.0} in total ({:.2}×)",
            two / one
        );
    }

    // Sequential round trips with server and generator pinned to one core, next
    // to the floor of any framework: a blocking TCP ping-pong of the same bytes.
    let rounds = if quick { 5_000 } else { 20_000 };
    println!();
    println!("sequential, both processes on core 0 (taskset -c 0), messages/s, medians:");
    // Two clients: the async load generator used everywhere else, and a blocking
    // WebSocket client that, like the TCP floor's client, costs two system calls
    // per round trip (write, read) instead of three (epoll_wait too), so that
    // the ratio shows what the server costs rather than the generator.
    // Alternated like the rest, medians of `runs`: one pinned run is at the
    // mercy of whatever else the machine does in that second.
    let rounds = rounds.to_string();
    let (mut circuit, mut raw, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        for kind in [Kind::Circuit, Kind::Raw] {
            let server = Server::spawn(on_core_zero(Server::command(kind)));
            let rate = generate_on_core_zero(&[
                "--generate",
                &server.url,
                "--clients",
                "1",
                "--each",
                &rounds,
            ]);
            let blocking = generate_on_core_zero(&["--ws-client", &server.url, "--each", &rounds]);
            let rates = if kind == Kind::Circuit {
                &mut circuit
            } else {
                &mut raw
            };
            rates.push((rate, blocking));
        }
        let mut tcp = Command::new(std::env::current_exe().expect("own path"));
        tcp.arg("--tcp-server");
        let server = Server::spawn(on_core_zero(tcp));
        let address = format!("127.0.0.1:{}", server.port);
        floor.push(generate_on_core_zero(&[
            "--tcp-client",
            &address,
            "--each",
            &rounds,
        ]));
    }
    let medians = |rates: &[(f64, f64)]| {
        (
            median(rates.iter().map(|rate| rate.0).collect()),
            median(rates.iter().map(|rate| rate.1).collect()),
        )
    };
    let (circuit, raw, floor) = (medians(&circuit), medians(&raw), median(floor));
    for (kind, (rate, blocking)) in [(Kind::Circuit, circuit), (Kind::Raw, raw)] {
        println!("  {kind:?}: {rate:.0} (async generator), {blocking:.0} (blocking client)");
    }
    println!("  blocking TCP ping-pong: {floor:.0}");
    println!(
        "  circuit / TCP ping-pong: {:.2}× (blocking client), {:.2}× (async generator)",
        circuit.1 / floor,
        circuit.0 / floor
    );

    let ticks = if quick { 5_000 } else { 20_000 };
    let quiet: Vec<f64> = (0..runs)
        .map(|_| circuit_ticks_per_second(ticks, true))
        .collect();
    let logged: Vec<f64> = (0..runs)
        .map(|_| circuit_ticks_per_second(ticks, false))
        .collect();
    let (quiet, logged) = (median(quiet), median(logged));
    println!();
    println!("one-process circuit, {ticks} ticks at delay 0:");
    println!("  -q                      {quiet:>10.0} ticks/s");
    println!(
        "  default logging to file {logged:>10.0} ticks/s  ({:.2}× the -q figure)",
        logged / quiet
    );

    let echo = Server::start(Kind::Circuit);
    link_mode::run(echo.port.parse().expect("a port"), &LINK_WINDOWS, runs);
}

/// Which server a measurement is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `circuit-bench echo`: built with `#[sketch]` / `#[reactive]`.
    Circuit,
    /// The plain tokio-tungstenite server below, in a process of its own.
    Raw,
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    port: String,
    url: String,
}

impl Server {
    fn start(kind: Kind) -> Server {
        Server::spawn(Server::command(kind))
    }

    /// The command line that starts a server of this kind.
    fn command(kind: Kind) -> Command {
        match kind {
            Kind::Circuit => {
                let mut command = Command::new(PROGRAM);
                command.args([
                    "echo",
                    "-s",
                    "127.0.0.1",
                    "-p",
                    "0",
                    "-q",
                    "--max-clients",
                    "20000",
                ]);
                command
            }
            Kind::Raw => {
                let mut command = Command::new(std::env::current_exe().expect("own path"));
                command.arg("--raw-server");
                command
            }
        }
    }

    /// Starts `command` and reads the port from its `serving on` line.
    fn spawn(mut command: Command) -> Server {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server says where it serves")
                .expect("a line");
            if let Some((_, port)) = line.rsplit_once("serving on 127.0.0.1:") {
                break ("ws", port.trim().to_owned());
            }
            if let Some((_, port)) = line.rsplit_once("serving on wss://127.0.0.1:") {
                break ("wss", port.trim().to_owned());
            }
        };
        let (scheme, port) = port;
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            port: port.clone(),
            url: format!("{scheme}://127.0.0.1:{port}/bench"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn resident_kib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The plain server a user would write first: `#[tokio::main]` defaults,
/// default `WebSocketConfig`, echo every text or binary message.
fn raw_server() {
    let runtime = tokio::runtime::Runtime::new().expect("the runtime #[tokio::main] builds");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "serving on 127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if (message.is_text() || message.is_binary())
                        && socket.send(message).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
}

/// `command`, run under `taskset -c 0`.
fn on_core_zero(command: Command) -> Command {
    let mut pinned = Command::new("taskset");
    pinned
        .args(["-c", "0"])
        .arg(command.get_program())
        .args(command.get_args());
    pinned
}

/// Runs this benchmark in generator mode on core 0 and returns the rate it prints.
fn generate_on_core_zero(args: &[&str]) -> f64 {
    let mut generator = Command::new(std::env::current_exe().expect("own path"));
    generator.args(args);
    let output = on_core_zero(generator)
        .stderr(Stdio::null())
        .output()
        .expect("the generator runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .next()
        .and_then(|rate| rate.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A blocking TCP echo of 16-byte messages: the floor for one round trip.
fn tcp_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    println!(
        "serving on 127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    );
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        std::thread::spawn(move || {
            let mut message = [0u8; 16];
            while stream.read_exact(&mut message).is_ok() {
                if stream.write_all(&message).is_err() {
                    break;
                }
            }
        });
    }
}

/// `rounds` blocking round trips of 16 bytes; messages per second.
fn tcp_client(address: &str, rounds: usize) -> f64 {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(ROUND_TRIP_LIMIT))
        .expect("timeout");
    let mut message = *b"0123456789abcdef";
    let started = Instant::now();
    for _ in 0..rounds {
        stream.write_all(&message).expect("write");
        stream.read_exact(&mut message).expect("read");
    }
    rounds as f64 / started.elapsed().as_secs_f64()
}

/// `rounds` round trips of a short text message over a blocking WebSocket
/// client (tungstenite without tokio); messages per second.
fn blocking_ws_client(url: &str, rounds: usize) -> f64 {
    let address = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host:port");
    let stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(ROUND_TRIP_LIMIT))
        .expect("timeout");
    let (mut socket, _) = tokio_tungstenite::tungstenite::client(url, stream).expect("handshake");
    let started = Instant::now();
    for round in 0..rounds {
        socket
            .send(Message::text(format!("tick {round}")))
            .expect("send");
        match socket.read().expect("an acknowledgement") {
            Message::Text(_) => {}
            other => panic!("not an acknowledgement: {other:?}"),
        }
    }
    let rate = rounds as f64 / started.elapsed().as_secs_f64();
    let _ = socket.close(None);
    rate
}

/// Runs two generator processes against `url` at once; their summed rate.
fn two_generators(url: &str, clients: usize, each: usize) -> f64 {
    let me = std::env::current_exe().expect("own path");
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&me)
                .args([
                    "--generate",
                    url,
                    "--clients",
                    &clients.to_string(),
                    "--each",
                    &each.to_string(),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("a generator starts")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("a generator ends");
            let text = String::from_utf8_lossy(&output.stdout);
            text.split_whitespace()
                .next()
                .and_then(|rate| rate.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum()
}

/// The load generator's runtime: one thread, so that it measures the server, not itself.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// What one load run saw.
struct Load {
    elapsed: Duration,
    latencies_us: Vec<u32>,
    unacked: u64,
    unconnected: u64,
    /// Seconds of CPU the server spent while the messages went to and fro, if known.
    server_cpu: Option<f64>,
    /// Seconds of CPU this process (the load generator) spent meanwhile.
    generator_cpu: f64,
}

impl Load {
    fn rate(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The server's CPU time per acknowledged message, in µs.
    fn server_cpu_us(&self) -> f64 {
        self.server_cpu.unwrap_or(f64::NAN) * 1e6 / self.latencies_us.len().max(1) as f64
    }

    /// The generator's CPU time per acknowledged message, in µs.
    fn generator_cpu_us(&self) -> f64 {
        self.generator_cpu * 1e6 / self.latencies_us.len().max(1) as f64
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        f64::from(sorted[index])
    }
}

/// How `wss://` URLs are connected to (the TLS mode's CA), once set.
static TLS_CLIENT: std::sync::OnceLock<tokio_tungstenite::Connector> = std::sync::OnceLock::new();

async fn connect(url: &str) -> Option<Client> {
    // Acknowledgements are a few bytes: a small buffer is less to zero-fill per read.
    let config = WebSocketConfig::default().read_buffer_size(256);
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(config),
        true,
        TLS_CLIENT.get().cloned(),
    );
    match tokio::time::timeout(ROUND_TRIP_LIMIT, attempt).await {
        Ok(Ok((client, _))) => Some(client),
        _ => None,
    }
}

/// Opens `count` connections, in batches that the listen backlog can take.
pub(crate) async fn connect_many(url: &str, count: usize) -> Vec<Option<Client>> {
    let mut clients = Vec::with_capacity(count);
    while clients.len() < count {
        let batch = CONNECT_BATCH.min(count - clients.len());
        clients.extend(futures_util::future::join_all((0..batch).map(|_| connect(url))).await);
    }
    clients
}

/// `clients` connections at once, each doing `each` sequential round trips;
/// with the server's process id, also the CPU time it spent on the messages.
pub(crate) async fn drive(url: &str, clients: usize, each: usize, server: Option<u32>) -> Load {
    let connected = connect_many(url, clients).await;
    let started = Instant::now();
    let cpu_before = (server.map(cpu_seconds), cpu_seconds("self"));
    // One task per client, so that each has its own cooperative budget and the
    // scheduler, not one giant future, decides who runs next.
    let tasks = connected.into_iter().map(|client| {
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(each);
            let Some(mut client) = client else {
                return (latencies, each as u64, 1);
            };
            // A small tick-sized message, shared rather than copied per send.
            let payload = Utf8Bytes::from_static("0123456789abcdef");
            // One timer per client, re-armed only when it fires (as the server's
            // keepalive is): a timer per round trip would cost the generator more
            // than some servers spend on the message.
            let stall = tokio::time::sleep(ROUND_TRIP_LIMIT);
            tokio::pin!(stall);
            for done in 0..each {
                let sent = Instant::now();
                let round_trip = async {
                    client.send(Message::Text(payload.clone())).await.ok()?;
                    loop {
                        match client.next().await? {
                            Ok(Message::Text(_)) => return Some(()),
                            Ok(_) => continue,
                            Err(_) => return None,
                        }
                    }
                };
                tokio::pin!(round_trip);
                let acked = loop {
                    tokio::select! {
                        biased;
                        acked = &mut round_trip => break acked,
                        () = &mut stall => {
                            if sent.elapsed() >= ROUND_TRIP_LIMIT {
                                break None;
                            }
                            let limit = tokio::time::Instant::from_std(sent + ROUND_TRIP_LIMIT);
                            stall.as_mut().reset(limit);
                        }
                    }
                };
                match acked {
                    Some(()) => {
                        latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32)
                    }
                    _ => return (latencies, (each - done) as u64, 0),
                }
            }
            let _ = client.close(None).await;
            (latencies, 0, 0)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    let results = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.expect("a client task"));
    let elapsed = started.elapsed();
    let cpu_after = (server.map(cpu_seconds), cpu_seconds("self"));
    let mut load = Load {
        elapsed,
        latencies_us: Vec::new(),
        unacked: 0,
        unconnected: 0,
        server_cpu: cpu_after
            .0
            .zip(cpu_before.0)
            .map(|(after, before)| after - before),
        generator_cpu: cpu_after.1 - cpu_before.1,
    };
    for (latencies, unacked, unconnected) in results {
        load.latencies_us.extend(latencies);
        load.unacked += unacked;
        load.unconnected += unconnected;
    }
    load
}

/// Resident memory per idle connection: RSS with `count` open, idle peers, minus RSS before.
async fn idle_memory(server: &Server, count: usize) -> f64 {
    // Warm up the allocator and the runtime with a little traffic first.
    drop(drive(&server.url, 10, 10, None).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.resident_kib();
    let clients = connect_many(&server.url, count).await;
    let open = clients.iter().filter(|client| client.is_some()).count();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.resident_kib();
    drop(clients);
    (after - before) / open.max(1) as f64
}

/// Ticks per second of `circuit-bench circuit -t TICKS -d 0`, quiet or logging to a file.
fn circuit_ticks_per_second(ticks: u64, quiet: bool) -> f64 {
    let log = std::env::temp_dir().join(format!("circuit-bench-{}.log", std::process::id()));
    let file = std::fs::File::create(&log).expect("a log file");
    let mut command = Command::new(PROGRAM);
    command.args([
        "circuit",
        "-t",
        &ticks.to_string(),
        "-d",
        "0",
        "--seed",
        "1",
    ]);
    if quiet {
        command.arg("-q");
    }
    let started = Instant::now();
    let status = command
        .env_remove("RUST_LOG")
        .stdout(file)
        .stderr(Stdio::null())
        .status()
        .expect("the circuit runs");
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&log);
    assert!(status.success(), "the circuit failed: {status}");
    ticks as f64 / elapsed.as_secs_f64()
}

/// Figures per mode and kind, printed as medians with the circuit / raw ratio.
#[derive(Default)]
struct Table {
    rows: Vec<(String, Vec<f64>, Vec<f64>)>,
}

impl Table {
    fn add(&mut self, kind: Kind, mode: &str, value: f64) {
        let index = match self.rows.iter().position(|(name, ..)| name == mode) {
            Some(index) => index,
            None => {
                self.rows.push((mode.to_owned(), Vec::new(), Vec::new()));
                self.rows.len() - 1
            }
        };
        let row = &mut self.rows[index];
        match kind {
            Kind::Circuit => row.1.push(value),
            Kind::Raw => row.2.push(value),
        }
    }

    fn print(&self) {
        println!();
        println!(
            "{:<36} {:>8} {:>12} {:>12}",
            "mode", "ratio", "circuit", "raw"
        );
        for (mode, circuit, raw) in &self.rows {
            let (circuit, raw) = (median(circuit.clone()), median(raw.clone()));
            let ratio = if raw == 0.0 { f64::NAN } else { circuit / raw };
            println!("{mode:<36} {ratio:>7.2}× {circuit:>12.1} {raw:>12.1}");
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// User plus system CPU time of process `pid` (or `"self"`) so far, in seconds.
fn cpu_seconds(pid: impl std::fmt::Display) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / per_second
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Raises this process's soft limit on open files (children inherit it).
fn raise_open_file_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(wanted.max(limit.rlim_cur));
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
