//! The MQTT mode: 50,000 QoS 1 messages from a link through a mosquitto on
//! loopback (an ephemeral port) to `mosquitto_sub -C 50000 -q 1`, end to end
//! messages/s, against `mosquitto_pub -l -q 1` publishing as many lines to
//! the same subscriber, and against the WebSocket link to the echo sketch.
//! The subscriber knows it is subscribed when it gets the topic's retained
//! `ready`, so that no message goes out before it listens.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use circuit_runtime::Link;

/// Messages per measurement.
const MESSAGES: usize = 50_000;

/// How long one measurement may take before it is called failed.
const LIMIT: Duration = Duration::from_secs(120);

/// A mosquitto of the benchmark's own, killed when dropped.
struct Mosquitto {
    /// The broker process.
    child: Child,
    /// Its port on 127.0.0.1.
    port: u16,
    /// Its folder (configuration, log).
    dir: PathBuf,
}

impl Mosquitto {
    /// Starts mosquitto on a free loopback port; waits until it accepts.
    fn start() -> Mosquitto {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a port")
            .local_addr()
            .expect("bound")
            .port();
        let dir = std::env::temp_dir().join(format!("circuit-bench-mqtt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let config = dir.join("mosquitto.conf");
        // Root would drop to the user mosquitto, who cannot write our folder.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let user = if root { "user root\n" } else { "" };
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n{user}"
            ),
        )
        .expect("the configuration");
        let log = std::fs::File::create(dir.join("mosquitto.log")).expect("a log");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .spawn()
            .expect("mosquitto starts (apt-get install mosquitto mosquitto-clients)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto accepts within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Mosquitto { child, port, dir }
    }

    /// A subscriber to `topic` that exits after `count` messages, returned
    /// once subscribed: the topic's retained `ready` (its first line) came.
    fn subscriber(&self, topic: &str, count: usize) -> Child {
        let port = self.port.to_string();
        let published = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-r", "-t", topic])
            .args(["-m", "ready"])
            .status()
            .expect("mosquitto_pub runs");
        assert!(published.success());
        let mut sub = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", topic])
            .args(["-C", &(count + 1).to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub runs");
        let mut lines = BufReader::new(sub.stdout.take().expect("its output"));
        let mut first = String::new();
        lines.read_line(&mut first).expect("the retained message");
        assert_eq!(first.trim(), "ready");
        // The rest is counted by the subscriber itself; drain it.
        std::thread::spawn(move || for _ in lines.lines() {});
        // Not retained any more, for the next subscriber to wait for it again.
        let cleared = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-r", "-n", "-t", topic])
            .status()
            .expect("mosquitto_pub runs");
        assert!(cleared.success());
        sub
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits for `sub` to exit (after its count), within [`LIMIT`] of `started`.
fn finished(mut sub: Child, started: Instant) -> Duration {
    loop {
        if let Some(status) = sub.try_wait().expect("try_wait") {
            assert!(status.success(), "mosquitto_sub: {status}");
            return started.elapsed();
        }
        if started.elapsed() > LIMIT {
            let _ = sub.kill();
            panic!("the subscriber did not get {MESSAGES} messages within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Messages/s from a link to the broker to the subscriber.
fn through_link(broker: &Mosquitto, run: usize) -> f64 {
    let topic = format!("bench/link/{run}");
    let sub = broker.subscriber(&topic, MESSAGES);
    let url = format!("mqtt://127.0.0.1:{}/{topic}", broker.port);
    let started = crate::block_on(async {
        let link = Link::new(&url).expect("an mqtt:// URL");
        let started = Instant::now();
        for number in 0..MESSAGES {
            link.send(number).await;
        }
        link.flush().await;
        let report = link.report();
        assert_eq!(report.delivered, MESSAGES as u64, "{report:?}");
        link.close().await;
        started
    });
    MESSAGES as f64 / finished(sub, started).as_secs_f64()
}

/// Messages/s from `mosquitto_pub -l -q 1` to the subscriber.
fn through_mosquitto_pub(broker: &Mosquitto, run: usize) -> f64 {
    let topic = format!("bench/pub/{run}");
    let sub = broker.subscriber(&topic, MESSAGES);
    let lines: String = (0..MESSAGES).map(|number| format!("{number}\n")).collect();
    let port = broker.port.to_string();
    let started = Instant::now();
    let mut publisher = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-q",
            "1",
            "-l",
            "-t",
            &topic,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub runs");
    let mut input = publisher.stdin.take().expect("its input");
    input.write_all(lines.as_bytes()).expect("lines written");
    drop(input);
    let elapsed = finished(sub, started);
    let _ = publisher.wait();
    MESSAGES as f64 / elapsed.as_secs_f64()
}

/// The three figures, medians of `runs`; `echo` is the echo sketch's port,
/// for the WebSocket link.
pub fn run(echo: u16, runs: usize) {
    let broker = Mosquitto::start();
    println!();
    println!(
        "mqtt mode: {MESSAGES} QoS 1 messages through mosquitto on loopback to mosquitto_sub, end to end messages/s, medians of {runs}"
    );
    let mut link = Vec::new();
    let mut baseline = Vec::new();
    for run in 0..runs {
        link.push(through_link(&broker, run));
        baseline.push(through_mosquitto_pub(&broker, run));
    }
    let ws_url = format!("ws://127.0.0.1:{echo}/link");
    let websocket: Vec<f64> = (0..runs)
        .map(|_| {
            crate::link_mode::stream(
                &ws_url,
                circuit_runtime::base::LinkOptions::WINDOW,
                MESSAGES,
            )
        })
        .collect();
    let (link, baseline, websocket) = (
        crate::median(link),
        crate::median(baseline),
        crate::median(websocket),
    );
    let ratio = link / baseline;
    println!("{:<40} {link:>12.0}", "link to mqtt:// (QoS 1)");
    println!("{:<40} {baseline:>12.0}", "mosquitto_pub -l -q 1");
    println!(
        "{:<40} {websocket:>12.0}",
        "link to ws:// (the echo sketch)"
    );
    println!(
        "  the link: {ratio:.2}× mosquitto_pub (bar 0.80×): {}",
        if ratio >= 0.8 { "met" } else { "NOT met" }
    );
}
