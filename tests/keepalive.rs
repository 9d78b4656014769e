//! Idle connections stay alive and honest: a timer between its ticks and a
//! link with nothing in flight answer a server's keepalive pings, ping a
//! silent server themselves and drop it when it does not answer, and make the
//! connection again quietly, before the next tick or with the next message.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use circuit_runtime::base::LinkOptions;
use circuit_runtime::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use support::{dead_port, run, start, Finished, Peer, PATIENCE};

/// A sketch `[ name ] …` line that `finished` logged, whole, or "".
fn line_of<'a>(finished: &'a Finished, name: &str, starts: &str) -> &'a str {
    finished
        .lines_of(name)
        .into_iter()
        .find(|line| line.starts_with(starts))
        .unwrap_or_default()
}

#[test]
fn a_slow_clock_answers_the_servers_pings_between_ticks() {
    // The pin pings peers silent for a second and drops them a second later;
    // the clock is silent for 2.5 s between two ticks.
    let buzzer = format!("ws://127.0.0.1:{}/pin", dead_port());
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--ping-interval",
        "1",
        "--stop-timeout",
        "0",
        "--buzzer",
        &buzzer,
    ]);
    let port = iopin.port().to_string();
    let clock = run(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "3",
        "-d",
        "2.5",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    assert_eq!(
        clock.lines_of("clock").last(),
        Some(&"3 ticks sent, 3 acknowledged, 0 resent"),
        "{clock:?}"
    );
    assert!(
        !clock
            .out
            .iter()
            .any(|line| line.contains("lost the server")),
        "{clock:?}"
    );
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    assert_eq!(
        line_of(&iopin, "iopin", "served "),
        "served 3 messages from 1 peer",
        "{iopin:?}"
    );
}

#[test]
fn a_simulated_day_of_one_tick_a_minute_keeps_one_connection() {
    // 300 ticks a minute apart: every gap is three of the servers' 20 s
    // keepalive intervals, on simulated time.
    let sim = run(&[
        "circuit", "-t", "300", "-d", "60", "--sim", "-q", "--seed", "1",
    ]);
    assert_eq!(sim.code(), 0, "{sim:?}");
    let said = [&sim.out[..], &sim.err[..]].concat();
    assert!(
        !said.iter().any(|line| line.contains("lost the server")),
        "{:?}",
        said.iter()
            .filter(|line| line.contains("lost"))
            .take(3)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        line_of(&sim, "clock", "300 ticks sent"),
        "300 ticks sent, 300 acknowledged, 0 resent",
        "{sim:?}"
    );
    assert_eq!(
        line_of(&sim, "iopin", "served "),
        "served 300 messages from 1 peer",
        "{sim:?}"
    );
    assert_eq!(
        line_of(&sim, "buzzer", "served "),
        "served 900 messages from 1 peer",
        "the pin's link to the buzzer is idle between ticks too: {sim:?}"
    );
}

/// What a hand-written server saw on each connection (numbered from 0).
#[derive(Clone, Default)]
struct Seen {
    connections: Arc<AtomicUsize>,
    /// `(connection, what)`: a text frame's text, `ping`, or `end`.
    events: Arc<Mutex<Vec<(usize, String)>>>,
}

impl Seen {
    fn note(&self, connection: usize, what: impl Into<String>) {
        self.events.lock().unwrap().push((connection, what.into()));
    }

    fn on(&self, connection: usize) -> Vec<String> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|(on, _)| *on == connection)
            .map(|(_, what)| what.clone())
            .collect()
    }

    /// Waits (bounded) until `connection` saw `what`.
    async fn until(&self, connection: usize, what: &str) {
        timeout(PATIENCE, async {
            while !self.on(connection).iter().any(|seen| seen == what) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "connection {connection} never saw {what:?}: {:?}",
                self.on(connection)
            )
        });
    }
}

/// A hand-written server on an ephemeral loopback port; `first(socket, seen)`
/// talks on the first connection, and every later one acknowledges each text
/// with `ok`. Returns its port.
async fn server<F, Fut>(seen: Seen, first: F) -> u16
where
    F: FnOnce(Peer, Seen) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut first = Some(first);
        while let Ok((stream, _)) = listener.accept().await {
            let number = seen.connections.fetch_add(1, Ordering::SeqCst);
            let plain = tokio_tungstenite::MaybeTlsStream::Plain(stream);
            let Ok(socket) = tokio_tungstenite::accept_async(plain).await else {
                continue;
            };
            let seen = seen.clone();
            match first.take() {
                Some(first) => tokio::spawn(first(socket, seen)),
                None => tokio::spawn(acknowledge(socket, seen, number)),
            };
        }
    });
    port
}

/// Acknowledges every text on `socket` with `ok`, noting what it sees.
async fn acknowledge(mut socket: Peer, seen: Seen, number: usize) {
    while let Some(Ok(frame)) = socket.next().await {
        match frame {
            Message::Text(text) => {
                seen.note(number, text.as_str());
                if socket.send(Message::text("ok")).await.is_err() {
                    break;
                }
            }
            Message::Ping(_) => seen.note(number, "ping"),
            _ => {}
        }
    }
    seen.note(number, "end");
}

/// Reads `socket` from now on, noting pings and its end, without answering.
async fn read_to_the_end(socket: &mut Peer, seen: &Seen, number: usize) {
    loop {
        match socket.next().await {
            Some(Ok(Message::Ping(_))) => seen.note(number, "ping"),
            Some(Ok(Message::Text(text))) => seen.note(number, text.as_str()),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    seen.note(number, "end");
}

/// Runs the clock against `port`, off the async runtime.
async fn clock(port: u16, args: &'static [&'static str]) -> Finished {
    tokio::task::spawn_blocking(move || {
        let port = port.to_string();
        let base = ["clock", "-s", "127.0.0.1", "-p", &port];
        run(&[&base[..], args].concat())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_clock_drops_a_server_gone_silent_between_ticks_and_reconnects_quietly() {
    // The first connection acknowledges the first tick, then its server hangs:
    // it reads nothing more (so it answers no ping) until the clock has had
    // time to give up on it.
    let seen = Seen::default();
    let port = server(seen.clone(), |mut socket, seen| async move {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            seen.note(0, text.as_str());
            let _ = socket.send(Message::text("ok")).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        read_to_the_end(&mut socket, &seen, 0).await;
    })
    .await;
    let clock = clock(port, &["-t", "2", "-d", "3", "--ack-timeout", "0.2"]).await;
    assert_eq!(clock.code(), 0, "{clock:?}");
    assert_eq!(
        clock.lines_of("clock").last(),
        Some(&"2 ticks sent, 2 acknowledged, 0 resent"),
        "{clock:?}"
    );
    assert!(
        !clock.out.iter().any(|line| line.contains("warning")),
        "quietly: {clock:?}"
    );
    seen.until(0, "end").await;
    assert_eq!(seen.on(0), ["0", "ping", "end"], "pinged, then dropped");
    assert_eq!(
        seen.on(1),
        ["1", "end"],
        "the next tick on a new connection"
    );
}

#[tokio::test]
async fn a_message_from_the_server_between_ticks_is_a_protocol_violation() {
    let seen = Seen::default();
    let port = server(seen.clone(), |mut socket, seen| async move {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            seen.note(0, text.as_str());
            let _ = socket.send(Message::text("ok")).await;
            // Answers nothing: no tick awaits it.
            let _ = socket.send(Message::text("surprise")).await;
        }
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    seen.note(0, format!("close {}", u16::from(frame.code)));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
        seen.note(0, "end");
    })
    .await;
    let clock = clock(port, &["-t", "2", "-d", "1"]).await;
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    assert_eq!(
        lines.last(),
        Some(&"2 ticks sent, 2 acknowledged, 0 resent"),
        "{clock:?}"
    );
    assert!(
        !lines.contains(&"< surprise"),
        "never taken for the next tick's acknowledgement: {lines:?}"
    );
    assert!(
        lines.iter().any(|line| line.contains("closed with 1002")),
        "said once: {lines:?}"
    );
    seen.until(0, "end").await;
    assert_eq!(seen.on(0), ["0", "close 1002", "end"]);
    assert_eq!(seen.on(1), ["1", "end"]);
}

#[tokio::test]
async fn an_idle_link_answers_the_servers_pings_and_keeps_its_connection() {
    let echo = tokio::task::spawn_blocking(|| {
        let args = [
            "echo",
            "-s",
            "127.0.0.1",
            "-p",
            "0",
            "--ping-interval",
            "0.1",
        ];
        let mut echo = start(&args);
        let port = echo.port();
        (echo, port)
    })
    .await
    .unwrap();
    let link = Link::new(&format!("ws://127.0.0.1:{}/echo", echo.1)).unwrap();
    assert_eq!(link.request("one").await, Ok("one".to_owned()));
    // Idle for several of the server's intervals (pinged after 0.1 s of
    // silence, dropped 0.1 s later unless it answers).
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(link.request("two").await, Ok("two".to_owned()));
    link.close().await;
    let echo = tokio::task::spawn_blocking(move || {
        echo.0.signal("TERM");
        echo.0.finish(PATIENCE)
    })
    .await
    .unwrap();
    assert_eq!(
        line_of(&echo, "echo", "served "),
        "served 2 messages from 1 peer",
        "{echo:?}"
    );
}

#[tokio::test]
async fn an_idle_link_pings_a_silent_server_drops_it_and_reconnects_with_the_next_message() {
    let seen = Seen::default();
    let port = server(seen.clone(), |mut socket, seen| async move {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            seen.note(0, text.as_str());
            let _ = socket.send(Message::text("ok")).await;
        }
        // Hangs until the link has had time to give up on it.
        tokio::time::sleep(Duration::from_secs(2)).await;
        read_to_the_end(&mut socket, &seen, 0).await;
    })
    .await;
    let link = Link::new(&format!("ws://127.0.0.1:{port}/in")).unwrap();
    link.configure(LinkOptions {
        ack_timeout: Duration::from_millis(200),
        ..LinkOptions::default()
    });
    assert_eq!(link.request("one").await, Ok("ok".to_owned()));
    seen.until(0, "end").await;
    assert_eq!(seen.on(0), ["one", "ping", "end"], "pinged, then dropped");
    assert_eq!(link.request("two").await, Ok("ok".to_owned()));
    assert_eq!(seen.on(1), ["two"], "the next message on a new connection");
    let report = link.report();
    assert_eq!(
        (report.delivered, report.dead_lettered),
        (2, 0),
        "{report:?}"
    );
    link.close().await;
}

#[tokio::test]
async fn a_tick_the_server_dropped_unacknowledged_is_resent_once() {
    // Unlike a connection that ends between ticks: this one ends while tick 1
    // awaits its acknowledgement.
    let seen = Seen::default();
    let port = server(seen.clone(), |mut socket, seen| async move {
        for _ in 0..2 {
            if let Some(Ok(Message::Text(text))) = socket.next().await {
                seen.note(0, text.as_str());
            }
            if seen.on(0).len() == 1 {
                let _ = socket.send(Message::text("ok")).await;
            }
        }
        seen.note(0, "end"); // dropped without an answer, nor a close
    })
    .await;
    let clock = clock(port, &["-t", "3", "-d", "0.1"]).await;
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    assert_eq!(
        lines.last(),
        Some(&"3 ticks sent, 3 acknowledged, 1 resent"),
        "{clock:?}"
    );
    assert!(lines.contains(&"> 1 (resent)"), "{lines:?}");
    seen.until(1, "end").await;
    assert_eq!(seen.on(0), ["0", "1", "end"]);
    assert_eq!(seen.on(1), ["1", "2", "end"]);
}
