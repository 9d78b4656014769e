//! The runtime in-process: sketches declared with the macros, served and
//! driven on loopback with ephemeral ports, every wait bounded.

use std::sync::Arc;
use std::time::Duration;

use circuit_runtime::prelude::*;
use circuit_runtime::{drive, parse, Server, Shutdown};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Mutex;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

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

async fn client(
    port: u16,
    path: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("ws://127.0.0.1:{port}{path}");
    timeout(PATIENCE, tokio_tungstenite::connect_async(url.as_str()))
        .await
        .unwrap()
        .unwrap()
        .0
}

async fn ask(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    text: &str,
) -> Message {
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

#[tokio::test]
async fn a_server_acknowledges_in_order_and_survives_a_panicking_loop() {
    let (doubler, options) =
        parse::<Doubler, _, _>(["-s", "127.0.0.1", "-p", "0", "--offset", "1"]).unwrap();
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
    let doubler = timeout(PATIENCE, server.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/a:20", "/a:0", "/a:2"]);
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
async fn a_link_delivers_in_order_once_its_peer_comes_up() {
    // Reserve a port for the peer, and start the relay before the peer exists.
    let peer_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    drop(source);
    let relay = timeout(PATIENCE, relay.stop()).await.unwrap();
    let doubler = timeout(PATIENCE, peer.stop()).await.unwrap();
    assert_eq!(doubler.seen, ["/in:0", "/in:1", "/in:2", "/in:3", "/in:4"]);
    drop(relay);
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
