//! `--metrics ADDR`: every process serves `/metrics` (Prometheus text, or
//! OpenMetrics when asked) and `/healthz`; the counts equal what the
//! end-of-run lines say; Prometheus' own tools read them: `promtool check
//! metrics` accepts every endpoint's output, and a real Prometheus server
//! scrapes a circuit and answers queries with its counts. Without
//! `promtool` or `prometheus` (Debian's `prometheus` package) those parts
//! are skipped loudly, unless `CI=true`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use support::{start, Running, PATIENCE};
use tokio_tungstenite::tungstenite::Message;

/// Debian's paths of Prometheus' tools.
const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// `None` when `program` is installed; else says loudly that a part is
/// skipped (and fails under `CI=true`, where it must run).
fn missing(program: &str) -> Option<()> {
    if Path::new(program).exists() {
        return None;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true, but {program} is missing (apt-get install prometheus)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED (needs {program}: apt-get install prometheus) !!!"
    );
    Some(())
}

/// An HTTP answer: its status, headers (lower-cased names) and body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// `GET path` on `address`, with extra header lines `headers`.
fn get(address: SocketAddr, path: &str, headers: &str) -> Answer {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("an answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// The address of the `metrics on http://ADDR/metrics` line.
fn metrics_address(run: &mut Running) -> SocketAddr {
    let line = run.wait_for(PATIENCE, |line| line.contains("metrics on http://"));
    address_in(&line)
}

/// The `HOST:PORT` after `http://` in `line`.
fn address_in(line: &str) -> SocketAddr {
    let after = line.split("http://").nth(1).expect("an http:// URL");
    after
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("an address")
}

/// The value of series `series` (its name and labels, as written) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The value of `series`, which must be there.
fn count(text: &str, series: &str) -> u64 {
    let value = value(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    value as u64
}

/// The number just before `word` in the line of `lines` that contains
/// `marker` and `word`.
fn said(lines: &[String], marker: &str, word: &str) -> u64 {
    let line = lines
        .iter()
        .find(|line| line.contains(marker) && line.contains(word))
        .unwrap_or_else(|| panic!("no line with {marker:?}:\n{}", lines.join("\n")));
    let before = line.split(word).next().unwrap();
    before
        .split_whitespace()
        .last()
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no number before {word:?} in {line:?}"))
}

/// `promtool check metrics` on `text`: it must find nothing wrong.
fn promtool_accepts(text: &str, what: &str) {
    if missing(PROMTOOL).is_some() {
        return;
    }
    let mut check = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool rejects {what}: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The demo file, with the clock sending `ticks` ticks at once.
fn demo_up(ticks: u32, extra: &[&str]) -> Running {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/demo.toml");
    let tacks = format!("clock.tacks={ticks}");
    let mut args = vec![
        "up",
        file,
        "--set",
        "clock.delay=0",
        "--set",
        &tacks,
        "--metrics",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    start(&args)
}

#[test]
fn a_circuit_counts_what_its_end_of_run_lines_say() {
    let mut run = demo_up(9, &[]);
    let address = metrics_address(&mut run);
    run.wait_for(PATIENCE, |line| line.contains("its metrics stay up"));
    let scraped = get(address, "/metrics", "");
    assert_eq!(scraped.status, 200);
    assert!(
        scraped
            .head
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        scraped.head
    );
    let text = scraped.body;
    let lines = &run.out;
    // The clock: `9 ticks sent, 9 acknowledged, 0 resent`.
    let ticks = said(lines, "[ clock ] ", "ticks sent");
    assert_eq!(ticks, 9);
    assert_eq!(
        count(&text, "circuit_timer_ticks_total{sketch=\"clock\"}"),
        ticks
    );
    // Each server: `served N messages from 1 peer`.
    for (sketch, path) in [("iopin", "/datafeed"), ("buzzer", "/pin")] {
        let served = said(lines, &format!("[ {sketch} ] served"), "messages");
        let labels = format!("{{sketch=\"{sketch}\",path=\"{path}\"}}");
        assert_eq!(
            count(&text, &format!("circuit_acks_sent_total{labels}")),
            served
        );
        assert_eq!(
            count(&text, &format!("circuit_messages_received_total{labels}")),
            served
        );
        assert_eq!(count(&text, &format!("circuit_refusals_total{labels}")), 0);
        assert_eq!(
            count(
                &text,
                &format!("circuit_loop_duration_seconds_count{{sketch=\"{sketch}\"}}")
            ),
            served
        );
        // Its peer has left.
        assert_eq!(
            count(
                &text,
                &format!("circuit_peers_connected{{sketch=\"{sketch}\"}}")
            ),
            0
        );
    }
    // The pin's link: `link to mem://buzzer/pin: 27 delivered`.
    let delivered = said(lines, "link to mem://buzzer/pin", "delivered");
    let link = "sketch=\"iopin\",link=\"mem://buzzer/pin\"";
    assert_eq!(
        count(
            &text,
            &format!("circuit_link_messages_total{{{link},outcome=\"delivered\"}}")
        ),
        delivered
    );
    for outcome in ["refused", "dead_lettered", "dropped"] {
        let series = format!("circuit_link_messages_total{{{link},outcome=\"{outcome}\"}}");
        assert_eq!(count(&text, &series), 0);
    }
    assert_eq!(
        count(&text, &format!("circuit_link_ack_seconds_count{{{link}}}")),
        delivered
    );
    assert_eq!(count(&text, &format!("circuit_link_queued{{{link}}}")), 0);
    assert_eq!(
        count(&text, &format!("circuit_link_in_flight{{{link}}}")),
        0
    );
    // The summary: `9 ticks sent, 9 acks received, 27 bits drawn, …`.
    let bits = said(lines, "circuit demo:", "bits drawn");
    assert_eq!(
        count(
            &text,
            "circuit_signal_changes_total{sketch=\"iopin\",signal=\"level\"}"
        ),
        bits
    );
    promtool_accepts(&text, "up's /metrics");
    // The run is over: not serving.
    let health = get(address, "/healthz", "");
    assert_eq!((health.status, health.body.as_str()), (503, "finished\n"));
    // A scraper that asks for OpenMetrics gets it.
    let open = get(
        address,
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n",
    );
    assert!(
        open.head
            .contains("content-type: application/openmetrics-text"),
        "{}",
        open.head
    );
    assert!(open.body.ends_with("# EOF\n"), "{}", open.body);
    assert_eq!(
        count(&open.body, "circuit_timer_ticks_total{sketch=\"clock\"}"),
        ticks
    );
    assert_eq!(get(address, "/nowhere", "").status, 404);
    run.signal("INT");
    assert_eq!(run.finish(PATIENCE).code(), 0);
}

#[test]
fn a_lone_server_counts_its_peers_refusals_and_is_healthy_while_serving() {
    let mut run = start(&["buzzer", "-p", "0", "--metrics", "127.0.0.1:0"]);
    let address = metrics_address(&mut run);
    let port = run.port();
    let health = get(address, "/healthz", "");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut peer = runtime.block_on(support::connect(&format!("ws://127.0.0.1:{port}/pin")));
    // Three levels, and one the loop's type cannot read.
    for level in ["1", "0", "x", "1"] {
        runtime.block_on(async {
            peer.send(Message::text(level)).await.unwrap();
            peer.next().await.unwrap().unwrap();
        });
    }
    let text = get(address, "/metrics", "").body;
    let labels = "{sketch=\"buzzer\",path=\"/pin\"}";
    assert_eq!(
        count(&text, &format!("circuit_messages_received_total{labels}")),
        4
    );
    assert_eq!(count(&text, &format!("circuit_acks_sent_total{labels}")), 4);
    assert_eq!(count(&text, &format!("circuit_refusals_total{labels}")), 1);
    assert_eq!(
        count(&text, "circuit_peers_connected{sketch=\"buzzer\"}"),
        1,
        "{text}"
    );
    assert_eq!(
        count(
            &text,
            "circuit_signal_changes_total{sketch=\"buzzer\",signal=\"buzz\"}"
        ),
        3
    );
    promtool_accepts(&text, "a lone sketch's /metrics");
    runtime.block_on(async {
        peer.close(None).await.unwrap();
        while peer.next().await.is_some() {}
    });
    run.signal("INT");
    let finished = run.finish(PATIENCE);
    assert_eq!(finished.code(), 0);
    let served = said(&finished.out, "[ buzzer ] served", "messages");
    assert_eq!(served, 4);
    assert!(
        finished.out.iter().any(|line| line.contains("1 refused")),
        "{:?}",
        finished.out
    );
}

#[test]
fn a_timer_alone_counts_its_ticks() {
    let mut server = start(&["buzzer", "-p", "0"]);
    let port = server.port().to_string();
    let mut run = start(&[
        "clock",
        "-p",
        &port,
        "-t",
        "4",
        "-d",
        "0",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let address = metrics_address(&mut run);
    run.wait_for(PATIENCE, |line| line.contains("its metrics stay up"));
    let text = get(address, "/metrics", "").body;
    assert_eq!(
        count(&text, "circuit_timer_ticks_total{sketch=\"clock\"}"),
        4
    );
    promtool_accepts(&text, "a timer's /metrics");
    run.signal("INT");
    assert_eq!(run.finish(PATIENCE).code(), 0);
    server.signal("INT");
    let _ = server.finish(PATIENCE);
}

#[test]
fn the_analyzer_page_serves_metrics_and_health_too() {
    let mut run = start(&[
        "circuit",
        "-d",
        "0",
        "-t",
        "5",
        "--web",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let page = run.wait_for(PATIENCE, |line| line.contains("logic analyzer on http://"));
    let page = address_in(&page);
    run.wait_for(PATIENCE, |line| line.contains("the analyzer stays up"));
    let scraped = get(page, "/metrics", "");
    assert_eq!(scraped.status, 200);
    assert_eq!(
        count(&scraped.body, "circuit_timer_ticks_total{sketch=\"clock\"}"),
        5
    );
    promtool_accepts(&scraped.body, "the analyzer page's /metrics");
    assert_eq!(get(page, "/healthz", "").status, 503);
    run.signal("INT");
    assert_eq!(run.finish(PATIENCE).code(), 0);
}

/// A free loopback port, for a program that takes no port 0.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh folder for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-metrics-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The value of the first sample in Prometheus' answer to an instant query.
fn queried(answer: &str) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_str(answer).ok()?;
    let sample = json["data"]["result"].as_array()?.first()?;
    sample["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_scrapes_a_circuit() {
    if missing(PROMETHEUS).is_some() {
        return;
    }
    let mut run = demo_up(6, &[]);
    let address = metrics_address(&mut run);
    run.wait_for(PATIENCE, |line| line.contains("its metrics stay up"));
    let served = said(&run.out, "[ buzzer ] served", "messages");
    let dir = scratch("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: circuit\n    static_configs:\n      - targets: ['{address}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let prometheus = support::start_program(
        PROMETHEUS,
        &[
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", dir.join("data").display()),
            &format!("--web.listen-address=127.0.0.1:{port}"),
        ],
    );
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + PATIENCE;
    let (mut ticks, mut acks) = (None, None);
    while Instant::now() < deadline && (ticks.is_none() || acks.is_none()) {
        std::thread::sleep(Duration::from_millis(500));
        if TcpStream::connect(api).is_err() {
            continue;
        }
        ticks = queried(&get(api, "/api/v1/query?query=circuit_timer_ticks_total", "").body);
        acks = queried(
            &get(
                api,
                "/api/v1/query?query=circuit_acks_sent_total%7Bsketch%3D%22buzzer%22%7D",
                "",
            )
            .body,
        );
    }
    assert_eq!(ticks, Some(6), "Prometheus' query of the clock's ticks");
    assert_eq!(acks, Some(served), "Prometheus' query of the buzzer's acks");
    let up = queried(&get(api, "/api/v1/query?query=up%7Bjob%3D%22circuit%22%7D", "").body);
    assert_eq!(up, Some(1), "the target is up");
    prometheus.signal("TERM");
    let _ = prometheus.finish(PATIENCE);
    let _ = std::fs::remove_dir_all(&dir);
    run.signal("INT");
    assert_eq!(run.finish(PATIENCE).code(), 0);
}

#[test]
fn without_metrics_the_page_has_health_but_no_metrics() {
    let mut run = start(&["circuit", "-d", "0", "-t", "2", "--web", "127.0.0.1:0"]);
    let page = run.wait_for(PATIENCE, |line| line.contains("logic analyzer on http://"));
    let page = address_in(&page);
    run.wait_for(PATIENCE, |line| line.contains("the analyzer stays up"));
    let scraped = get(page, "/metrics", "");
    assert_eq!(scraped.status, 404);
    assert!(
        scraped.body.contains("without --metrics"),
        "{}",
        scraped.body
    );
    assert_eq!(get(page, "/healthz", "").status, 503, "the run is over");
    run.signal("INT");
    assert_eq!(run.finish(PATIENCE).code(), 0);
}

#[test]
fn metrics_are_the_whole_runs_not_one_sketchs() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/circuits/demo.toml");
    let finished = support::run(&["up", file, "--set", "clock.metrics=127.0.0.1:0"]);
    assert_eq!(finished.code(), 2, "{finished:?}");
    assert!(
        finished
            .err
            .iter()
            .any(|line| line.contains("unknown setting `metrics` of clock")),
        "{finished:?}"
    );
}
