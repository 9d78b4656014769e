//! Links in-process, against hand-written peers that misbehave on purpose:
//! backoff instead of a retry storm, checked acknowledgements, silent peers,
//! fan-out, delivery at stop, and a window of messages in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circuit_runtime::app::parse;
use circuit_runtime::base::{LinkOptions, LinkReport};
use circuit_runtime::net::{LinkError, Server};
use circuit_runtime::prelude::*;
use circuit_runtime::{Reactive, Sketch};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

mod support;

const PATIENCE: Duration = Duration::from_secs(20);

/// How a hand-written peer answers one text frame.
#[derive(Clone)]
enum Reply {
    /// With this text.
    Text(String),
    /// With a binary frame: not an acknowledgement.
    Binary,
    /// With a close frame.
    Close(u16, &'static str),
    /// Not at all.
    Silent,
}

/// What a hand-written peer saw: every text frame, with the number of the
/// connection (from 0) it came on.
#[derive(Clone, Default)]
struct Seen {
    connections: Arc<AtomicUsize>,
    frames: Arc<Mutex<Vec<(usize, String)>>>,
    closes: Arc<Mutex<Vec<u16>>>,
}

impl Seen {
    fn texts(&self) -> Vec<String> {
        let frames = self.frames.lock().unwrap();
        frames.iter().map(|(_, text)| text.clone()).collect()
    }

    fn on(&self, connection: usize) -> Vec<String> {
        let frames = self.frames.lock().unwrap();
        frames
            .iter()
            .filter(|(on, _)| *on == connection)
            .map(|(_, text)| text.clone())
            .collect()
    }
}

/// Serves a hand-written WebSocket peer on an ephemeral loopback port;
/// `answer(connection, text)` says how it answers each frame. Acknowledgements
/// go `delay` after their frame arrived, without holding up later frames.
async fn peer(
    delay: Duration,
    answer: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/in", listener.local_addr().unwrap());
    let seen = Seen::default();
    let answer = Arc::new(answer);
    let watch = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let number = watch.connections.fetch_add(1, Ordering::SeqCst);
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            let (mut write, mut read) = socket.split();
            let (replies, mut replying) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Some((at, reply)) = replying.recv().await {
                    tokio::time::sleep_until(at).await;
                    let message = match reply {
                        Reply::Text(text) => Message::text(text),
                        Reply::Binary => Message::binary(vec![1, 2, 3]),
                        Reply::Close(code, reason) => Message::Close(Some(CloseFrame {
                            code: CloseCode::from(code),
                            reason: reason.into(),
                        })),
                        Reply::Silent => continue,
                    };
                    if write.send(message).await.is_err() {
                        break;
                    }
                }
            });
            let answer = Arc::clone(&answer);
            let watch = watch.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = read.next().await {
                    match message {
                        Message::Text(text) => {
                            watch
                                .frames
                                .lock()
                                .unwrap()
                                .push((number, text.as_str().to_owned()));
                            let at = tokio::time::Instant::now() + delay;
                            let _ = replies.send((at, answer(number, text.as_str())));
                        }
                        Message::Close(frame) => {
                            let code = frame.map_or(1005, |frame| u16::from(frame.code));
                            watch.closes.lock().unwrap().push(code);
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (url, seen)
}

fn link_to(url: &str, options: LinkOptions) -> Link {
    let link = Link::new(url).unwrap();
    link.configure(options);
    link
}

fn options(attempts: u32, ack_timeout: Duration, window: usize) -> LinkOptions {
    LinkOptions {
        attempts,
        ack_timeout,
        window,
        ..LinkOptions::default()
    }
}

#[tokio::test]
async fn a_peer_that_closes_on_every_message_sees_a_bounded_number_of_connections() {
    let (url, seen) = peer(Duration::ZERO, |_, _| {
        Reply::Close(1011, "the loop panicked")
    })
    .await;
    let link = link_to(&url, options(2, PATIENCE, 8));
    let started = Instant::now();
    for n in 0..3 {
        link.send(n).await;
    }
    timeout(PATIENCE, link.flush())
        .await
        .expect("gives up in time");
    let connections = seen.connections.load(Ordering::SeqCst);
    assert!(
        connections <= 6,
        "2 attempts for each of 3 messages, not a storm: {connections} connections"
    );
    // Each failure waits longer: 50 + 100 + 200 + 400 + 800 ms at least before the sixth.
    assert!(
        started.elapsed() >= Duration::from_millis(1_400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        link.report(),
        LinkReport {
            dead_lettered: 3,
            ..LinkReport::default()
        }
    );
    // In order: each connection starts with the oldest message not given up on.
    let firsts: Vec<String> = (0..connections)
        .filter_map(|connection| seen.on(connection).first().cloned())
        .collect();
    assert_eq!(firsts, ["0", "0", "1", "1", "2", "2"]);
}

#[tokio::test]
async fn refusals_are_counted_and_a_binary_answer_closes_with_1002() {
    let (url, seen) = peer(Duration::ZERO, |_, text| {
        Reply::Text(format!("error: cannot read {text:?}"))
    })
    .await;
    let link = link_to(&url, LinkOptions::default());
    for word in ["on", "off", "on"] {
        link.send(word).await;
    }
    let answer = timeout(PATIENCE, link.request("maybe")).await.unwrap();
    assert_eq!(
        answer,
        Err(LinkError::Refused(
            "error: cannot read \"maybe\"".to_owned()
        ))
    );
    let report = link.report();
    assert_eq!((report.delivered, report.refused), (0, 4), "{report:?}");
    assert_eq!(seen.texts(), ["on", "off", "on", "maybe"]);

    let (url, seen) = peer(Duration::ZERO, |_, _| Reply::Binary).await;
    let link = link_to(&url, options(1, PATIENCE, 8));
    let answer = timeout(PATIENCE, link.request("7")).await.unwrap();
    assert!(
        matches!(answer, Err(LinkError::DeadLettered { attempts: 1, .. })),
        "{answer:?}"
    );
    timeout(PATIENCE, async {
        while seen.closes.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(*seen.closes.lock().unwrap(), [1002]);
}

#[tokio::test]
async fn request_returns_the_peers_answer() {
    let (url, _seen) = peer(Duration::ZERO, |_, text| Reply::Text(format!("{text}!"))).await;
    let link = link_to(&url, LinkOptions::default());
    link.send("first").await;
    assert_eq!(link.request("second").await, Ok("second!".to_owned()));
    assert_eq!(link.report().delivered, 2);
}

#[tokio::test]
async fn a_silent_peer_is_dropped_and_what_it_left_goes_again_in_order() {
    // Silent on its first connection, attentive on the next.
    let (url, seen) = peer(Duration::ZERO, |connection, _| {
        if connection == 0 {
            Reply::Silent
        } else {
            Reply::Text("ok".to_owned())
        }
    })
    .await;
    let link = link_to(&url, options(3, Duration::from_millis(300), 8));
    for n in 0..5 {
        link.send(n).await;
    }
    timeout(PATIENCE, link.flush())
        .await
        .expect("delivered in time");
    assert_eq!(
        seen.on(0),
        ["0", "1", "2", "3", "4"],
        "the window went out at once"
    );
    assert_eq!(seen.on(1), ["0", "1", "2", "3", "4"], "resent, in order");
    assert_eq!(link.report().delivered, 5);
}

#[tokio::test]
async fn a_window_keeps_messages_in_flight_behind_a_slow_round_trip() {
    let texts: Vec<String> = (0..200).map(|n| n.to_string()).collect();
    for (window, at_most) in [(1, None), (64, Some(Duration::from_secs(2)))] {
        let (url, seen) = peer(Duration::from_millis(20), |_, _| Reply::Text("n/a".into())).await;
        let link = link_to(&url, options(3, PATIENCE, window));
        let started = Instant::now();
        for text in &texts[..if window == 1 { 20 } else { 200 }] {
            link.send(text).await;
        }
        timeout(PATIENCE, link.flush()).await.unwrap();
        let took = started.elapsed();
        if let Some(at_most) = at_most {
            // 200 messages a window of 64 at a time: four round trips, not 200.
            assert!(
                took < at_most,
                "{took:?} for 200 messages with a window of 64"
            );
            assert_eq!(seen.texts(), texts, "in order");
        } else {
            // One at a time: every message waits a whole round trip.
            assert!(took >= Duration::from_millis(20 * 20), "{took:?}");
        }
    }
}

/// Sends each message it gets to every link of a fan-out, and to an optional one.
#[sketch(port = 0)]
struct Splitter {
    /// Where every message goes.
    #[setting]
    outs: Vec<Link>,
    /// Where every message also goes, if given.
    #[setting]
    tap: Option<Link>,
}

impl Splitter {
    #[reactive]
    async fn split(&mut self, _channel: &str, message: String) -> usize {
        for out in &self.outs {
            out.send(&message).await;
        }
        if let Some(tap) = &self.tap {
            tap.send(&message).await;
        }
        self.outs.len()
    }
}

#[tokio::test]
async fn a_vec_of_links_fans_out_and_an_option_may_be_absent() {
    let ok = |_: usize, _: &str| Reply::Text("ok".to_owned());
    let (a, seen_a) = peer(Duration::ZERO, ok).await;
    let (b, seen_b) = peer(Duration::ZERO, ok).await;
    let (c, seen_c) = peer(Duration::ZERO, ok).await;
    let both = format!("{b},{c}");
    let (splitter, options) =
        parse::<Splitter, _, _>(["-s", "127.0.0.1", "-p", "0", "--outs", &a, "--outs", &both])
            .unwrap();
    assert_eq!(
        splitter.outs.len(),
        3,
        "a flag given twice, one of them a comma list"
    );
    assert!(splitter.tap.is_none());
    assert_eq!(splitter.links().len(), 3);
    let server = Server::start(splitter, &options).await.unwrap();
    let port = server.local_addr().port();
    let (mut source, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap();
    for word in ["x", "y"] {
        source.send(Message::text(word)).await.unwrap();
        let ack = timeout(PATIENCE, source.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ack, Message::text("3"));
    }
    drop(source);
    // Stopping delivers what every link holds.
    timeout(PATIENCE, server.stop()).await.unwrap();
    for seen in [&seen_a, &seen_b, &seen_c] {
        assert_eq!(seen.texts(), ["x", "y"]);
    }

    let (tap, seen_tap) = peer(Duration::ZERO, ok).await;
    let (splitter, _) = parse::<Splitter, _, _>(["--tap", &tap]).unwrap();
    assert!(splitter.outs.is_empty());
    assert_eq!(
        splitter.links().len(),
        1,
        "the optional link is one of the sketch's links"
    );
    drop(seen_tap);

    let Err(refused) = parse::<Splitter, _, _>(["--outs", "http://localhost:1/x"]) else {
        panic!("an http:// link is refused");
    };
    assert!(
        refused.to_string().contains("is not a WebSocket URL"),
        "{refused}"
    );
    let (secure, _) = parse::<Splitter, _, _>(["--outs", "wss://localhost:1/x"]).unwrap();
    assert_eq!(secure.outs[0].url(), "wss://localhost:1/x");
}

/// Sends `--count` numbers to its link for every message it gets.
#[sketch(port = 0)]
struct Burst {
    /// Where the numbers go.
    #[setting(default = "ws://127.0.0.1:9/unused")]
    to: Link,
    /// Numbers per message.
    #[setting(default = 2000)]
    count: u32,
}

impl Burst {
    #[reactive]
    async fn burst(&mut self, _channel: &str, _message: String) {
        // Once the peer has answered, a full queue makes `send` wait instead of dropping.
        let _ = self.to.request("start").await;
        for n in 0..self.count {
            self.to.send(n).await;
        }
    }
}

#[tokio::test]
async fn a_stop_delivers_what_the_link_holds_behind_a_slow_round_trip() {
    let (url, seen) = peer(Duration::from_millis(20), |_, _| Reply::Text("n/a".into())).await;
    let (burst, options) =
        parse::<Burst, _, _>(["-s", "127.0.0.1", "-p", "0", "--to", &url]).unwrap();
    let server = Server::start(burst, &options).await.unwrap();
    let port = server.local_addr().port();
    let (mut source, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap();
    source.send(Message::text("go")).await.unwrap();
    let ack = timeout(PATIENCE, source.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ack, Message::text("n/a"));
    drop(source);
    let burst = timeout(PATIENCE, server.stop()).await.unwrap();
    let expected: Vec<String> = std::iter::once("start".to_owned())
        .chain((0..2000).map(|n| n.to_string()))
        .collect();
    let texts = seen.texts();
    assert_eq!(texts.len(), 2001, "every number before the stop ended");
    assert!(texts == expected, "in order");
    assert_eq!(burst.to.report().delivered, 2001);
}

/// A fan that keeps every command it gets and answers `got COMMAND`.
#[sketch(port = 0)]
struct Recorder {
    /// The commands, in order.
    seen: Vec<String>,
}

impl Recorder {
    #[reactive]
    fn record(&mut self, _channel: &str, command: String) -> String {
        let answer = format!("got {command}");
        self.seen.push(command);
        answer
    }
}

/// What every `Witness` heard, in order, as it heard it.
static WITNESSED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A fan that tells the test what it hears (one test uses it).
#[sketch(port = 0)]
struct Witness {}

impl Witness {
    #[reactive]
    fn witness(&mut self, _channel: &str, command: String) -> String {
        let answer = format!("got {command}");
        WITNESSED.lock().unwrap().push(command);
        answer
    }
}

/// A fan `S` on `port` (0: any), on 127.0.0.1.
async fn fan_on<S: Reactive>(port: u16) -> Server<S> {
    let (fan, options) = parse::<S, _, _>(["-s", "127.0.0.1", "-p", &port.to_string()]).unwrap();
    Server::start(fan, &options).await.unwrap()
}

/// Stops `fan` and starts another on its port: the one stopped, and the new one.
async fn restart<S: Reactive>(fan: Server<S>) -> (S, Server<S>) {
    let port = fan.local_addr().port();
    let stopped = timeout(PATIENCE, fan.stop()).await.unwrap();
    // Until the new fan binds it, no other test's `-p 0` server may get the port.
    let hold = support::PortHold::new(port);
    let fan = fan_on(port).await;
    drop(hold);
    (stopped, fan)
}

#[tokio::test]
async fn a_retained_link_tells_a_restarted_peer_its_last_message_first() {
    for retain in [true, false] {
        let fan = fan_on::<Recorder>(0).await;
        let link = Link::new(&format!("ws://127.0.0.1:{}/fan", fan.local_addr().port())).unwrap();
        let link = if retain { link.retain_last() } else { link };
        for command in ["1", "0", "1"] {
            let answer = timeout(PATIENCE, link.request(command)).await.unwrap();
            assert_eq!(answer, Ok(format!("got {command}")));
        }
        let (before, fan) = restart(fan).await;
        assert_eq!(before.seen, ["1", "0", "1"]);
        // The resend's acknowledgement is its own, not this message's.
        let answer = timeout(PATIENCE, link.request("0")).await.unwrap();
        assert_eq!(answer, Ok("got 0".to_owned()), "retain: {retain}");
        link.close().await;
        let after = timeout(PATIENCE, fan.stop()).await.unwrap().seen;
        let report = link.report();
        if retain {
            assert_eq!(after, ["1", "0"], "the last delivered, first");
            assert_eq!((report.delivered, report.retained_resends), (4, 1));
        } else {
            assert_eq!(after, ["0"], "only what came after");
            assert_eq!((report.delivered, report.retained_resends), (4, 0));
        }
        assert_eq!(report.held, 0, "{report:?}");
    }
}

/// Passes every message to its fan and answers with the fan's answer.
#[sketch(port = 0)]
struct Relay {
    /// Where the messages go.
    #[setting(default = "ws://127.0.0.1:9/unused")]
    fan: Link,
}

impl Relay {
    #[reactive]
    async fn relay(&mut self, _channel: &str, message: String) -> String {
        self.fan
            .request(message)
            .await
            .unwrap_or_else(|err| err.to_string())
    }
}

#[tokio::test]
async fn retain_names_a_link_setting_and_a_restarted_peer_gets_the_last_message_without_a_new_one()
{
    let Err(unknown) = parse::<Relay, _, _>(["--retain", "fna"]) else {
        panic!("--retain takes the name of a link setting only");
    };
    assert_eq!(unknown.exit_code(), 2, "a usage error: {unknown}");
    assert!(
        unknown.to_string().contains("[possible values: fan]"),
        "{unknown}"
    );

    let fan = fan_on::<Witness>(0).await;
    let url = format!("ws://127.0.0.1:{}/fan", fan.local_addr().port());
    let args = [
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--fan",
        &url,
        "--retain",
        "fan",
    ];
    let (relay, options) = parse::<Relay, _, _>(args).unwrap();
    assert_eq!(options.retain, ["fan"]);
    let relay = Server::start(relay, &options).await.unwrap();
    let port = relay.local_addr().port();
    let (mut source, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap();
    for command in ["1", "0", "1"] {
        source.send(Message::text(command)).await.unwrap();
        let ack = timeout(PATIENCE, source.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ack, Message::text(format!("got {command}")));
    }
    let (_, fan) = restart(fan).await;
    // Nothing new is sent: the link reconnects by itself to resend "1".
    timeout(PATIENCE, async {
        while WITNESSED.lock().unwrap().len() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the restarted fan hears the retained message");
    drop(source);
    let relay = timeout(PATIENCE, relay.stop()).await.unwrap();
    timeout(PATIENCE, fan.stop()).await.unwrap();
    assert_eq!(*WITNESSED.lock().unwrap(), ["1", "0", "1", "1"]);
    let report = relay.fan.report();
    assert_eq!(
        (report.delivered, report.retained_resends),
        (3, 1),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_message_sent_behind_a_close_goes_on_the_next_connection() {
    let (url, seen) = peer(Duration::from_millis(100), |_, _| Reply::Text("ok".into())).await;
    let link = link_to(&url, LinkOptions::default());
    link.send("a").await;
    // The close waits for "a"; "b", queued behind it, is on the wire by then,
    // and its answer never comes on the connection that closes.
    let behind = async {
        tokio::task::yield_now().await;
        link.send("b").await;
    };
    timeout(PATIENCE, async { tokio::join!(link.close(), behind) })
        .await
        .unwrap();
    timeout(PATIENCE, link.flush())
        .await
        .expect("\"b\" is delivered on the next connection");
    assert_eq!(seen.on(0), ["a", "b"]);
    assert_eq!(seen.on(1), ["b"]);
    assert_eq!(link.report().delivered, 2);
}
