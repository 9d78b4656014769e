//! The runtime in-process: sketches declared with the macros, served and
//! driven on loopback with ephemeral ports, every wait bounded.

use std::sync::Arc;
use std::time::Duration;

use circuit_runtime::app::parse;
use circuit_runtime::base::Shutdown;
use circuit_runtime::net::{drive, Server};
use circuit_runtime::prelude::*;
use circuit_runtime::{Ack, Reactive, Timed};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/port_hold.rs"]
mod port_hold;

use port_hold::PortHold;

const PATIENCE: Duration = Duration::from_secs(20);

/// Doubles numbers; panics on 13; acknowledges nothing for 0.
#[sketch(name = "doubler", port = 0)]
struct Doubler {
    /// Added after doubling.
    #[setting(default = 0)]
    offset: i64,
    seen: Vec<String>,
}

impl Doubler {
    #[reactive]
    fn double(&mut self, channel: &str, number: i64) -> Option<i64> {
        assert_ne!(number, 13, "unlucky");
        self.seen.push(format!("{channel}:{number}"));
        (number != 0).then_some(number * 2 + self.offset)
    }
}

/// The doubler again, with a loop that waits (`async fn`): a peer runs it in
/// its own task while the sketch is free, else queues to the task that owns it.
#[sketch(name = "waiting-doubler", port = 0)]
struct WaitingDoubler {
    /// Added after doubling.
    #[setting(default = 0)]
    offset: i64,
    seen: Vec<String>,
}

impl WaitingDoubler {
    #[reactive]
    async fn double(&mut self, channel: &str, number: i64) -> Option<i64> {
        tokio::task::yield_now().await;
        assert_ne!(number, 13, "unlucky");
        self.seen.push(format!("{channel}:{number}"));
        (number != 0).then_some(number * 2 + self.offset)
    }
}

/// Counts to `--upto`, with no delay.
#[sketch(every = pause, channel = "/numbers")]
struct Counter {
    /// Where to stop.
    #[setting(default = 3)]
    upto: u64,
    /// Seconds between ticks.
    #[setting(default = 0.0)]
    pause: f64,
}

impl Counter {
    #[reactive]
    async fn count(&mut self, tick: u64) -> Option<u64> {
        (tick < self.upto).then_some(tick + 1)
    }
}

/// Says every tick's number out loud, as a type it does not name, to a server on port 9000.
#[sketch(every = pause, to_port = 9000)]
struct Speaker {
    /// Seconds between ticks.
    #[setting(default = 0.0)]
    pause: f64,
}

impl Speaker {
    #[reactive]
    fn say(&mut self, tick: u64) -> Option<impl std::fmt::Display> {
        (tick < 3).then(|| format!("tick {tick}"))
    }
}

/// The runtime under another name, as a program that re-exports it has it.
mod renamed {
    pub use circuit_runtime::*;
}

/// Adds one, reaching the runtime through `renamed` (`crate = …`).
#[renamed::sketch(crate = "crate::renamed", name = "adder")]
struct Adder {
    /// What is added.
    #[setting(default = 1)]
    step: u8,
}

impl Adder {
    #[renamed::reactive(crate = "crate::renamed")]
    fn add(&mut self, _channel: &str, number: u8) -> u8 {
        number + self.step
    }
}

/// Forwards every message to a link.
#[sketch]
struct Relay {
    /// Where messages go.
    #[setting(default = "ws://127.0.0.1:9/unused")]
    to: Link,
}

impl Relay {
    #[reactive]
    async fn relay(&mut self, _channel: &str, message: String) {
        self.to.send(message).await;
    }
}

/// Counts to three, and copies every tick to a link.
#[sketch(every = pause, channel = "/numbers")]
struct Tapped {
    /// Seconds between ticks.
    #[setting(default = 0.0)]
    pause: f64,
    /// Where a copy of every tick goes.
    #[setting(default = "ws://127.0.0.1:9/unused")]
    tap: Link,
}

impl Tapped {
    #[reactive]
    async fn tick(&mut self, tick: u64) -> Option<u64> {
        if tick == 3 {
            return None;
        }
        self.tap.send(tick).await;
        Some(tick)
    }
}

/// A free loopback port, held until the server meant for it binds it: a port
/// merely bound and released could go to another test's `-p 0` server first.
fn reserved_port() -> (u16, PortHold) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    (port, PortHold::new(port))
}

/// A WebSocket client connection, as any peer would open one.
type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn client(port: u16, path: &str) -> Client {
    let url = format!("ws://127.0.0.1:{port}{path}");
    timeout(PATIENCE, tokio_tungstenite::connect_async(url.as_str()))
        .await
        .unwrap()
        .unwrap()
        .0
}

async fn ask(socket: &mut Client, text: &str) -> Message {
    socket.send(Message::text(text)).await.unwrap();
    timeout(PATIENCE, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

#[test]
fn settings_come_from_the_command_line() {
    let (doubler, options) =
        parse::<Doubler, _, _>(["--offset", "5", "-p", "0", "-s", "127.0.0.1"]).unwrap();
    assert_eq!(doubler.offset, 5);
    assert_eq!((options.port, options.socket.as_str()), (0, "127.0.0.1"));
    let (doubler, options) = parse::<Doubler, _, _>(Vec::<String>::new()).unwrap();
    assert_eq!((doubler.offset, options.socket.as_str()), (0, "localhost"));
    assert!(parse::<Doubler, _, _>(["--offset", "five"]).is_err());
    assert!(
        parse::<Counter, _, _>(["--seed", "1"]).is_err(),
        "no Rng field, no --seed"
    );
    let (counter, _) = parse::<Counter, _, _>(["--upto", "7"]).unwrap();
    assert_eq!(counter.upto, 7);
}

#[test]
fn a_timers_to_port_is_the_port_of_the_server_it_sends_to() {
    let (_, options) = parse::<Speaker, _, _>(Vec::<String>::new()).unwrap();
    assert_eq!(options.port, 9000, "`to_port` is the default of `-p`");
    let (_, options) = parse::<Speaker, _, _>(["-p", "9100"]).unwrap();
    assert_eq!(options.port, 9100);
}

/// A sketch with a switch among its settings.
#[sketch(port = 0)]
struct Talker {
    /// Says more.
    #[setting]
    verbose: bool,
}

impl Talker {
    #[reactive]
    fn talk(&mut self, _channel: &str, message: String) -> String {
        if self.verbose {
            format!("you said {message}")
        } else {
            message
        }
    }
}

#[test]
fn a_bool_setting_is_a_switch_without_a_value() {
    let (talker, _) = parse::<Talker, _, _>(["--verbose"]).unwrap();
    assert!(talker.verbose);
    let (talker, _) = parse::<Talker, _, _>(Vec::<String>::new()).unwrap();
    assert!(!talker.verbose);
    assert!(
        parse::<Talker, _, _>(["--verbose", "true"]).is_err(),
        "a switch takes no value"
    );
}

#[test]
fn two_sketches_with_one_name_in_an_app_are_an_error_not_a_panic() {
    let status = App::new("twice")
        .sketch::<Doubler>()
        .sketch::<Doubler>()
        .status_from(["twice", "doubler"]);
    assert_eq!(status, 1);
    let status = App::new("once")
        .sketch::<Doubler>()
        .sketch::<Talker>()
        .status_from(["once", "neither"]);
    assert_eq!(
        status, 2,
        "distinct names reach the command line: a usage error"
    );
}

#[test]
fn signals_take_reals_and_signed_numbers() {
    use circuit_runtime::observe::Value;
    assert_eq!(Value::from(21.5), Value::Real(21.5));
    assert_eq!(Value::from(-3i64), Value::Signed(-3));
    assert_eq!(Value::from(-3i32), Value::Signed(-3));
    assert_eq!(Value::from(7u8), Value::Unsigned(7));
    assert!(Value::from(-0.5f32).is_high() && !Value::from(0i64).is_high());
    // Compiles for the types a sketch records: the call itself is the check.
    signal("celsius", 21.5);
    signal("offset", -4i64);
}

#[test]
fn a_loop_says_whether_it_waits_and_what_it_takes() {
    let loops = [
        <Doubler as Reactive>::LOOP,
        <WaitingDoubler as Reactive>::LOOP,
        <Relay as Reactive>::LOOP,
    ];
    let waits = loops.map(|looped| looped.waits);
    assert_eq!(waits, [false, true, true], "fn, async fn, async fn");
    let takes = loops.map(|looped| looped.takes.name());
    assert_eq!(takes, ["i64", "i64", "String"]);
}

#[test]
fn a_timer_says_what_it_sends_even_when_its_loop_does_not_name_it() {
    let sends = [<Counter as Timed>::SENDS, <Speaker as Timed>::SENDS];
    assert_eq!(sends.map(|sends| sends.name()), ["u64", "String"]);
}

#[tokio::test]
async fn a_sketch_reaches_the_runtime_by_the_path_its_crate_key_names() {
    let (mut adder, _) = parse::<Adder, _, _>(["--step", "2"]).unwrap();
    let ack = adder.react("/", &Payload::text("40")).await;
    assert_eq!(ack, Ack::Reply(Payload::text("42")));
    assert_eq!(<Adder as Reactive>::LOOP.takes.name(), "u8");
}

#[tokio::test]
async fn a_server_acknowledges_in_order_and_survives_a_panicking_loop() {
    let seen = acknowledge_in_order_despite_a_panic::<Doubler>().await.seen;
    assert_eq!(seen, ["/a:20", "/a:0", "/a:2"]);
    let seen = acknowledge_in_order_despite_a_panic::<WaitingDoubler>()
        .await
        .seen;
    assert_eq!(seen, ["/a:20", "/a:0", "/a:2"]);
}

#[tokio::test]
async fn peers_meeting_at_a_loop_that_waits_each_get_every_answer_in_order() {
    // The loop yields inside every message, so the peers meet at it: some run it
    // in their own task, the others queue to the task that owns the sketch.
    let (doubler, options) = parse::<WaitingDoubler, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();
    let peers: Vec<_> = (0..8)
        .map(|peer| {
            tokio::spawn(async move {
                let mut socket = client(port, &format!("/p{peer}")).await;
                // All of them sent before any answer is read, then the answers
                // in order (13 is the loop's unlucky number).
                for n in 14..64 {
                    socket.send(Message::text(n.to_string())).await.unwrap();
                }
                for n in 14..64 {
                    let answer = timeout(PATIENCE, socket.next()).await.unwrap();
                    assert_eq!(answer.unwrap().unwrap(), Message::text((2 * n).to_string()));
                }
            })
        })
        .collect();
    for peer in peers {
        timeout(PATIENCE, peer).await.unwrap().unwrap();
    }
    let seen = timeout(PATIENCE, server.stop()).await.unwrap().seen;
    assert_eq!(seen.len(), 8 * 50, "every message reached the loop once");
    for peer in 0..8 {
        let prefix = format!("/p{peer}:");
        let own: Vec<&str> = seen
            .iter()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect();
        let expected: Vec<String> = (14..64).map(|n: i64| n.to_string()).collect();
        assert_eq!(own, expected, "peer {peer}'s messages, in its order");
    }
}

/// Serves a doubler with `--offset 1`; hands it back to say what its loop saw.
async fn acknowledge_in_order_despite_a_panic<S: Reactive>() -> S {
    let (doubler, options) =
        parse::<S, _, _>(["-s", "127.0.0.1", "-p", "0", "--offset", "1"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();

    let mut first = client(port, "/a").await;
    assert_eq!(ask(&mut first, "20").await, Message::text("41"));
    assert_eq!(ask(&mut first, "0").await, Message::text("n/a"));
    let refused = ask(&mut first, "twenty").await.into_text().unwrap();
    assert!(
        refused.starts_with("error: cannot read \"twenty\""),
        "{refused}"
    );

    // A panicking loop closes that connection with 1011, and only that one.
    let mut second = client(port, "/b").await;
    match ask(&mut second, "13").await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Error),
        other => panic!("expected close 1011, got {other:?}"),
    }
    assert_eq!(ask(&mut first, "2").await, Message::text("5"));

    drop((first, second));
    timeout(PATIENCE, server.stop()).await.unwrap()
}

#[tokio::test]
async fn a_timer_sketch_ticks_until_its_loop_says_stop() {
    let (doubler, options) = parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port().to_string();

    let (counter, options) =
        parse::<Counter, _, _>(["-s", "127.0.0.1", "-p", &port, "--upto", "4"]).unwrap();
    let report = timeout(PATIENCE, drive(counter, &options, Shutdown::new()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.sent, report.acked), (4, 4));

    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    assert_eq!(
        doubler.seen,
        ["/numbers:1", "/numbers:2", "/numbers:3", "/numbers:4"]
    );
}

#[tokio::test]
async fn a_run_whose_link_delivered_nothing_fails_and_a_clean_one_does_not() {
    let (doubler, options) = parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port().to_string();
    // The tap's peer is down for good: its three copies are lost.
    let (dead, _hold) = reserved_port();
    let dead = format!("ws://127.0.0.1:{dead}/copies");
    let live = format!("ws://127.0.0.1:{port}/copies");
    let args = |tap: &str| {
        let args = [
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "--stop-timeout",
            "0.1",
            "--tap",
            tap,
        ];
        args.map(str::to_owned)
    };

    let (tapped, options) = parse::<Tapped, _, _>(args(&dead)).unwrap();
    let report = timeout(PATIENCE, drive(tapped, &options, Shutdown::new()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (report.sent, report.acked),
        (3, 3),
        "every tick acknowledged"
    );
    let lost = circuit_runtime::base::Losses {
        held: 3,
        ..Default::default()
    };
    assert_eq!(report.lost, lost, "and every copy lost");

    // Run as its program runs it: the loss is a failure (1), a clean run is not.
    let status = |tap: String| {
        let line = [
            vec!["tapped".to_owned(), "tapped".to_owned()],
            args(&tap).to_vec(),
        ]
        .concat();
        tokio::task::spawn_blocking(move || App::new("tapped").sketch::<Tapped>().status_from(line))
    };
    assert_eq!(status(dead).await.unwrap(), 1);
    assert_eq!(status(live).await.unwrap(), 0);
    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    let copies = doubler
        .seen
        .iter()
        .filter(|seen| seen.starts_with("/copies:"));
    assert_eq!(copies.count(), 3, "{:?}", doubler.seen);
}

#[tokio::test]
async fn a_link_delivers_in_order_once_its_peer_comes_up() {
    // Reserve a port for the peer, and start the relay before the peer exists.
    let (peer_port, hold) = reserved_port();
    let link = format!("ws://127.0.0.1:{peer_port}/in");
    let (relay, options) =
        parse::<Relay, _, _>(["-s", "127.0.0.1", "-p", "0", "--to", &link]).unwrap();
    let relay = Server::start(relay, &options).await.unwrap();
    let mut source = client(relay.local_addr().port(), "/").await;
    for n in 0..5 {
        assert_eq!(ask(&mut source, &n.to_string()).await, Message::text("n/a"));
    }

    // Now the peer comes up, on the reserved port.
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", &peer_port.to_string()]).unwrap();
    let peer = Server::start(doubler, &options).await.unwrap();
    drop(hold);
    drop(source);
    let relay = timeout(PATIENCE, relay.stop()).await.unwrap();
    let doubler = timeout(PATIENCE, peer.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/in:0", "/in:1", "/in:2", "/in:3", "/in:4"]);
    drop(relay);
}

#[tokio::test]
async fn a_held_port_refuses_peers_yet_its_own_server_can_bind_it() {
    let (port, hold) = reserved_port();
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert_eq!(
        refused.map(drop).map_err(|err| err.kind()),
        Err(std::io::ErrorKind::ConnectionRefused)
    );
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", &port.to_string()]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    drop(hold);
    let mut peer = client(port, "/held").await;
    assert_eq!(ask(&mut peer, "1").await, Message::text("2"));
    drop(peer);
    timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn shutdown_sends_1001_to_every_peer() {
    let (doubler, options) = parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();
    let peers = Arc::new(Mutex::new(Vec::new()));
    for path in ["/x", "/y", "/z"] {
        let mut peer = client(port, path).await;
        assert_eq!(ask(&mut peer, "1").await, Message::text("2"));
        peers.lock().await.push(peer);
    }
    let stopping = tokio::spawn(server.stop());
    for peer in peers.lock().await.iter_mut() {
        match timeout(PATIENCE, peer.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    drop(peers);
    let doubler = timeout(PATIENCE, stopping).await.unwrap().unwrap();
    assert_eq!(doubler.seen.len(), 3);
}

async fn closed_with(socket: &mut Client, code: CloseCode) {
    // Read past anything else until the close frame (bounded by PATIENCE).
    let seen = timeout(PATIENCE, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(seen, Some(code));
}

#[tokio::test]
async fn bad_frames_close_only_their_own_connection() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--max-message", "1024"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    assert_eq!(options.limits.max_message, 1024);
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();
    let mut good = client(port, "/good").await;
    assert_eq!(ask(&mut good, "1").await, Message::text("2"));

    let mut invalid = client(port, "/utf8").await;
    let frame = Frame::message(vec![b'1', 0xff, 0xfe], OpCode::Data(Data::Text), true);
    invalid.send(Message::Frame(frame)).await.unwrap();
    closed_with(&mut invalid, CloseCode::Invalid).await;

    let mut large = client(port, "/large").await;
    let _ = large.send(Message::text("1".repeat(4096))).await;
    closed_with(&mut large, CloseCode::Size).await;

    let mut binary = client(port, "/binary").await;
    binary.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    closed_with(&mut binary, CloseCode::Unsupported).await;

    // Just under the limit still goes through, and the first peer never noticed.
    let under = "1".repeat(18);
    assert_eq!(
        ask(&mut good, &under).await,
        Message::text("222222222222222222")
    );
    drop(good);
    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/good:1", &format!("/good:{under}")]);
}

#[tokio::test]
async fn peers_beyond_max_clients_are_refused_with_503() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--max-clients", "2"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();
    let mut first = client(port, "/1").await;
    let mut second = client(port, "/2").await;
    assert_eq!(ask(&mut first, "1").await, Message::text("2"));

    let url = format!("ws://127.0.0.1:{port}/3");
    match timeout(PATIENCE, tokio_tungstenite::connect_async(url.as_str()))
        .await
        .unwrap()
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    // The two served peers are unaffected.
    assert_eq!(ask(&mut second, "2").await, Message::text("4"));

    // A place frees up when a peer leaves (bounded retries while it closes).
    first.close(None).await.unwrap();
    let mut third = None;
    for _ in 0..100 {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
            third = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut third = third.expect("a place frees up when a peer leaves");
    assert_eq!(ask(&mut third, "3").await, Message::text("6"));
    drop((second, third));
    timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn silent_and_garbage_peers_are_dropped() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--handshake-timeout", "0.2"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();

    let openings: [&[u8]; 3] = [
        b"",                                                                     // says nothing at all
        b"GET / HTTP/1.1\r\nHost: pin\r\n\r\n", // plain HTTP, no upgrade
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not a handshake\r\n\r\n", // garbage
    ];
    for opening in openings {
        let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        raw.write_all(opening).await.unwrap();
        let mut rest = Vec::new();
        let ended = timeout(PATIENCE, raw.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "the server hangs up on {opening:?}");
    }
    let mut good = client(port, "/").await;
    assert_eq!(ask(&mut good, "5").await, Message::text("10"));
    drop(good);
    timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn a_link_told_to_drop_counts_what_it_cannot_hold() {
    let (peer_port, hold) = reserved_port();
    let link = Link::with_capacity(&format!("ws://127.0.0.1:{peer_port}/in"), 4).unwrap();
    link.configure(circuit_runtime::base::LinkOptions {
        when_full: circuit_runtime::base::WhenFull::Drop,
        ..Default::default()
    });
    // Nothing yields between these sends, so the delivering task has taken none yet.
    for n in 0..10 {
        link.send(n).await;
    }
    assert_eq!(link.overflowed(), 6);

    // The peer comes up: the four that fit arrive, in order.
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", &peer_port.to_string()]).unwrap();
    let peer = Server::start(doubler, &options).await.unwrap();
    drop(hold);
    timeout(PATIENCE, link.close())
        .await
        .expect("delivered once the peer is up");
    let doubler = timeout(PATIENCE, peer.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/in:0", "/in:1", "/in:2", "/in:3"]);
}

#[tokio::test]
async fn a_link_waits_for_room_while_its_peer_is_down_and_drops_nothing() {
    let (peer_port, hold) = reserved_port();
    let link = Link::with_capacity(&format!("ws://127.0.0.1:{peer_port}/in"), 4).unwrap();
    // The peer is down: the queue fills, and the next send waits for room.
    let sending = {
        let link = link.clone();
        tokio::spawn(async move {
            for n in 0..10 {
                link.send(n).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!sending.is_finished(), "the sender waits for room");
    assert_eq!(link.overflowed(), 0);

    // The peer comes up: all ten arrive, in order.
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", &peer_port.to_string()]).unwrap();
    let peer = Server::start(doubler, &options).await.unwrap();
    drop(hold);
    timeout(PATIENCE, sending).await.unwrap().unwrap();
    timeout(PATIENCE, link.close())
        .await
        .expect("delivered once the peer is up");
    let doubler = timeout(PATIENCE, peer.stop()).await.unwrap();
    let expected: Vec<String> = (0..10).map(|n| format!("/in:{n}")).collect();
    assert_eq!(doubler.seen, expected);
    assert_eq!(link.overflowed(), 0);
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_dropped_and_a_lively_one_is_kept() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--ping-interval", "0.2"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();

    // Never reads, so never answers the ping: gone after about two intervals.
    let mut silent = client(port, "/silent").await;
    // Talks every 50 ms: always heard, never dropped.
    let mut lively = client(port, "/lively").await;
    for n in (2..34).step_by(2) {
        assert_eq!(
            ask(&mut lively, &n.to_string()).await,
            Message::text((2 * n).to_string())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut saw_ping = false;
    let code = timeout(PATIENCE, async {
        loop {
            match silent.next().await {
                Some(Ok(Message::Ping(_))) => saw_ping = true,
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert!(saw_ping, "pinged before being dropped");
    assert_eq!(code, Some(CloseCode::Error));
    assert_eq!(ask(&mut lively, "100").await, Message::text("200"));
    drop(lively);
    timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_connected_while_idle() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--ping-interval", "0.1"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let mut idle = client(server.local_addr().port(), "/idle").await;
    // Reading answers pings with pongs (tungstenite does it): idle, but alive.
    let quiet = timeout(Duration::from_millis(800), async {
        loop {
            match idle.next().await {
                Some(Ok(Message::Ping(_))) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "nothing but pings for 0.8 s: {quiet:?}");
    assert_eq!(ask(&mut idle, "21").await, Message::text("42"));
    drop(idle);
    timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn a_token_keeps_strangers_out_and_links_and_timers_present_it() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--token", "s3cret"];
    let (doubler, options) = parse::<Doubler, _, _>(args).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();

    for url in [
        format!("ws://127.0.0.1:{port}/"),
        format!("ws://127.0.0.1:{port}/?token=wrong"),
    ] {
        match timeout(PATIENCE, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .unwrap()
        {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401)
            }
            other => panic!("expected HTTP 401 for {url}, got {other:?}"),
        }
    }
    let mut by_query = client(port, "/q?token=s3cret").await;
    assert_eq!(ask(&mut by_query, "2").await, Message::text("4"));
    let mut request = format!("ws://127.0.0.1:{port}/h")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", "Bearer s3cret".parse().unwrap());
    let (mut by_header, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(ask(&mut by_header, "4").await, Message::text("8"));

    // A timer and a link given the same token get in too.
    let (counter, options) = parse::<Counter, _, _>([
        "-s",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--upto",
        "2",
        "--token",
        "s3cret",
    ])
    .unwrap();
    let report = timeout(PATIENCE, drive(counter, &options, Shutdown::new()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.acked, 2);
    let link = format!("ws://127.0.0.1:{port}/relayed");
    let (relay, options) = parse::<Relay, _, _>([
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--to",
        &link,
        "--token",
        "s3cret",
    ])
    .unwrap();
    let relay = Server::start(relay, &options).await.unwrap();
    let mut source = client(relay.local_addr().port(), "/?token=s3cret").await;
    assert_eq!(ask(&mut source, "6").await, Message::text("n/a"));
    drop(source);
    timeout(PATIENCE, relay.stop()).await.unwrap();

    drop((by_query, by_header));
    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    assert_eq!(
        doubler.seen,
        ["/q:2", "/h:4", "/numbers:1", "/numbers:2", "/relayed:6"]
    );
}

#[tokio::test]
async fn an_in_process_wire_asks_for_the_token_as_a_socket_does() {
    let args = ["-s", "127.0.0.1", "-p", "0", "--token", "s3cret"];
    let (doubler, mut options) = parse::<Doubler, _, _>(args).unwrap();
    options.in_process = Some("guarded-doubler".into());
    let server = Server::start(doubler, &options).await.unwrap();
    let to = "mem://guarded-doubler/numbers";
    let counter = |token: Option<&'static str>| {
        let mut args = vec!["--upto", "2", "--to", to, "--retry-for", "1"];
        args.extend(token.iter().flat_map(|token| ["--token", *token]));
        parse::<Counter, _, _>(args).unwrap()
    };
    for token in [None, Some("wrong")] {
        let (stranger, options) = counter(token);
        match timeout(PATIENCE, drive(stranger, &options, Shutdown::new()))
            .await
            .unwrap()
        {
            Err(err) => assert!(err.to_string().contains("(HTTP 401)"), "{err}"),
            Ok(report) => panic!("a peer with token {token:?} got in: {report:?}"),
        }
    }
    let (friend, options) = counter(Some("s3cret"));
    let report = timeout(PATIENCE, drive(friend, &options, Shutdown::new()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.acked, 2);
    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/numbers:1", "/numbers:2"]);
}

/// A WebSocket opening handshake written by hand, for peers that then misbehave.
const RAW_HANDSHAKE: &[u8] = b"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// One malformed (or just odd) frame: random bytes, or a frame header with
/// random flags, opcode, mask and length around a random payload.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = Vec::new();
    if rng.chance(0.3) {
        bytes.extend((0..1 + rng.below(64)).map(|_| rng.below(256) as u8));
        return bytes;
    }
    let first = (rng.below(16) as u8) << 4 | rng.below(16) as u8; // FIN, RSV1-3, opcode
    let masked = rng.chance(0.8);
    let length = rng.below(200);
    bytes.push(first);
    match rng.below(3) {
        0 => bytes.push(u8::from(masked) << 7 | length.min(125) as u8),
        1 => {
            bytes.push(u8::from(masked) << 7 | 126);
            bytes.extend((length as u16).to_be_bytes());
        }
        _ => {
            bytes.push(u8::from(masked) << 7 | 127);
            bytes.extend((rng.below(u64::MAX)).to_be_bytes()); // absurd lengths too
        }
    }
    if masked {
        bytes.extend((0..4).map(|_| rng.below(256) as u8));
    }
    bytes.extend((0..rng.below(length + 1)).map(|_| rng.below(256) as u8));
    bytes
}

#[tokio::test]
async fn random_frames_never_bring_the_server_down() {
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", "0", "--max-message", "4096"]).unwrap();
    let server = Server::start(doubler, &options).await.unwrap();
    let port = server.local_addr().port();
    let mut rng = Rng::seeded(20261125);
    let cases = 2000;
    timeout(Duration::from_secs(120), async {
        for _ in 0..cases {
            let mut raw = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            raw.write_all(RAW_HANDSHAKE).await.unwrap();
            let mut answer = [0u8; 512];
            let read = raw.read(&mut answer).await.unwrap();
            assert!(
                answer[..read].starts_with(b"HTTP/1.1 101"),
                "the handshake is accepted"
            );
            for _ in 0..1 + rng.below(3) {
                // The server may hang up mid-way; that is one of the right answers.
                if raw.write_all(&random_frame(&mut rng)).await.is_err() {
                    break;
                }
            }
        }
    })
    .await
    .expect("the randomized cases finish in bounded time");

    // Still serving, and still correct.
    let mut good = client(port, "/after").await;
    assert_eq!(ask(&mut good, "21").await, Message::text("42"));
    drop(good);
    timeout(PATIENCE, server.stop()).await.unwrap();
}

/// Takes its time over every message.
#[sketch]
struct Slow {
    /// Milliseconds per message.
    #[setting(default = 300)]
    millis: u64,
}

impl Slow {
    #[reactive]
    async fn ponder(&mut self, _channel: &str, message: String) -> String {
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        format!("pondered {message}")
    }
}

#[tokio::test]
async fn stopping_lets_the_message_in_flight_finish_then_closes_with_1001() {
    let (slow, options) = parse::<Slow, _, _>(["-s", "127.0.0.1", "-p", "0"]).unwrap();
    let server = Server::start(slow, &options).await.unwrap();
    let mut peer = client(server.local_addr().port(), "/").await;
    peer.send(Message::text("this")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await; // the loop is busy with it now

    let started = tokio::time::Instant::now();
    let stopping = tokio::spawn(server.stop());
    let ack = timeout(PATIENCE, peer.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ack, Message::text("pondered this"));
    closed_with(&mut peer, CloseCode::Away).await;
    drop(peer);
    timeout(PATIENCE, stopping).await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}
