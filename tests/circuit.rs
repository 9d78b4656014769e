//! The circuit end to end: the real `sketches` binary on loopback, ephemeral
//! ports only, every wait bounded.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::handshake::server::Request;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use support::{
    connect, dead_port, drawn_bits, lines_of, rising_edges, run, start, start_with, PortHold,
    PATIENCE,
};

#[test]
fn the_clock_drives_an_iopin() {
    // The pin's buzzer is down: the pin must serve anyway and say so once.
    let buzzer = format!("ws://127.0.0.1:{}/pin", dead_port());
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--buzzer",
        &buzzer,
        "--stop-timeout",
        "0.2",
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
        "0",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    let sent: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("> "))
        .collect();
    let acked: Vec<_> = lines.iter().filter(|l| l.starts_with("< ")).collect();
    assert_eq!(sent, ["> 0", "> 1", "> 2"]);
    assert_eq!(acked.len(), 3, "{lines:?}");
    // Each tick is answered before the next goes out.
    let order: Vec<char> = lines
        .iter()
        .filter_map(|l| l.chars().next())
        .filter(|c| "<>".contains(*c))
        .collect();
    assert_eq!(order, ['>', '<', '>', '<', '>', '<']);
    for ack in &acked {
        let bits = ack.trim_start_matches("< ");
        assert!(
            bits.starts_with('[') && bits.ends_with(']') && bits.split(", ").count() == 3,
            "{ack}"
        );
    }

    iopin.wait_for(PATIENCE, |l| l.contains("done processing messages"));
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    // The levels it could not deliver make its run a failure, said last.
    assert_eq!(iopin.code(), 1, "{iopin:?}");
    assert_eq!(
        iopin.err.last().map(String::as_str),
        Some("[ iopin ] error: 9 messages lost (9 not delivered by the end); the lines above say where"),
        "{iopin:?}"
    );
    let pin = iopin.lines_of("iopin");
    assert!(
        pin.contains(&format!(
            "warning: link to {buzzer}: 0 delivered, 9 not delivered (9 lost); stopped after 0.2s (--stop-timeout)"
        ).as_str()),
        "{pin:?}"
    );
    assert!(
        pin.contains(&"** new client connected, path=/datafeed"),
        "{pin:?}"
    );
    assert!(
        pin.contains(&"new tick triggered on /datafeed: 0"),
        "{pin:?}"
    );
    assert_eq!(drawn_bits(&pin).len(), 9);
    let down = pin.iter().filter(|l| l.contains("is down")).count();
    assert_eq!(down, 1, "the dead link is reported exactly once: {pin:?}");
}

#[test]
fn the_circuit_buzzes_on_every_rising_edge() {
    let circuit = run(&["circuit", "-t", "8", "-d", "0", "--seed", "42"]);
    assert_eq!(circuit.code(), 0, "{circuit:?}");
    let bits = drawn_bits(&circuit.lines_of("iopin"));
    assert_eq!(bits.len(), 24);
    let buzzes = circuit
        .lines_of("buzzer")
        .iter()
        .filter(|l| l.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, rising_edges(&bits), "{circuit:?}");
    let summary = circuit.lines_of("circuit");
    let expected = format!("8 ticks sent, 8 acks received, 24 bits drawn, {buzzes} buzzes");
    assert_eq!(summary.last(), Some(&expected.as_str()), "{circuit:?}");

    // The same seed draws the same bits; another seed (almost surely) does not.
    let again = run(&["circuit", "-t", "8", "-d", "0", "--seed", "42", "-q"]);
    let other = run(&["circuit", "-t", "8", "-d", "0", "--seed", "43", "-q"]);
    assert_eq!(again.lines_of("circuit").last(), summary.last());
    assert_eq!(other.code(), 0);
    assert!(
        again
            .lines_of("iopin")
            .iter()
            .all(|l| !l.starts_with("toggling")),
        "-q hides per-message lines"
    );
    assert!(
        again.lines_of("clock").iter().all(|l| !l.starts_with('>')),
        "-q hides per-message lines"
    );
}

#[test]
fn an_iopin_streams_to_a_buzzer_in_another_process() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0", "--sound", "beep"]);
    let link = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--buzzer",
        &link,
        "--seed",
        "5",
        "--chance",
        "0.4",
    ]);
    let port = iopin.port().to_string();
    let clock = run(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "6",
        "-d",
        "0.01",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");

    iopin.wait_for(PATIENCE, |l| l.contains("done processing messages"));
    let bits = drawn_bits(&lines_of(&iopin.out, "iopin"));
    assert_eq!(bits.len(), 18);
    let edges = rising_edges(&bits);
    // The levels reach the buzzer in the background: wait for the last buzz.
    if edges > 0 {
        let last = format!("[ buzzer ] buzz #{edges}: beep");
        buzzer.wait_for(PATIENCE, |l| l == last);
    }
    iopin.signal("TERM");
    buzzer.signal("INT");
    let (iopin, buzzer) = (iopin.finish(PATIENCE), buzzer.finish(PATIENCE));
    assert_eq!((iopin.code(), buzzer.code()), (0, 0));
    let buzzes = buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|l| l.starts_with("buzz #"))
        .count();
    assert_eq!(buzzes, edges, "{buzzer:?}");
    assert!(buzzer
        .lines_of("buzzer")
        .contains(&"** new client connected, path=/pin"));
}

#[test]
fn an_unknown_sketch_is_a_usage_error() {
    let unknown = run(&["toaster"]);
    assert_eq!(unknown.code(), 2);
    let said = unknown.err.join("\n");
    assert!(said.contains("unrecognized subcommand 'toaster'"), "{said}");

    let bad_flag = run(&["iopin", "--chanse", "0.3"]);
    assert_eq!(bad_flag.code(), 2);
    assert!(
        bad_flag.err.join("\n").contains("--chance"),
        "clap suggests the right flag: {bad_flag:?}"
    );

    let bad_value = run(&["iopin", "--chance", "often"]);
    assert_eq!(bad_value.code(), 2);
    assert!(
        bad_value.err.join("\n").contains("invalid value 'often'"),
        "{bad_value:?}"
    );

    let out_of_range = run(&["iopin", "-p", "0", "--chance", "1.5"]);
    assert_eq!(out_of_range.code(), 2, "{out_of_range:?}");
    assert!(
        out_of_range.err.join("\n").contains("between 0 and 1"),
        "{out_of_range:?}"
    );

    let bad_link = run(&["iopin", "--buzzer", "localhost:8766"]);
    assert_eq!(bad_link.code(), 2, "{bad_link:?}");
}

#[test]
fn an_unknown_sketch_lists_the_sketches_to_choose_from() {
    let unknown = run(&["toaster"]);
    assert_eq!(unknown.code(), 2);
    let said = unknown.err.join("\n");
    assert!(
        said.contains("please choose clock, iopin, buzzer or echo"),
        "{said}"
    );
}

#[test]
fn an_invalid_rust_log_is_a_usage_error() {
    let iopin = start_with(
        &["iopin", "-s", "127.0.0.1", "-p", "0"],
        &[("RUST_LOG", "iopin=loudest")],
    )
    .finish(PATIENCE);
    assert_eq!(iopin.code(), 2, "{iopin:?}");
    let said = iopin.err.join("\n");
    assert!(
        said.contains("RUST_LOG=\"iopin=loudest\" is not a log filter"),
        "{said}"
    );
}

#[test]
fn rust_log_debug_shows_the_runtimes_own_lines() {
    let port = dead_port().to_string();
    let args = [
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "--retry-for",
        "0.3",
    ];
    let quiet = start_with(&args, &[]).finish(PATIENCE);
    let debug = start_with(&args, &[("RUST_LOG", "debug")]).finish(PATIENCE);
    assert_eq!((quiet.code(), debug.code()), (1, 1), "{debug:?}");
    let said = |run: &support::Finished| [run.out.clone(), run.err.clone()].concat().join("\n");
    assert!(!said(&quiet).contains("could not connect"), "{quiet:?}");
    let debug = said(&debug);
    assert!(
        debug.contains(&format!("could not connect to ws://127.0.0.1:{port}")),
        "{debug}"
    );
    assert!(debug.contains("retrying"), "{debug}");
}

/// Where each of `marks` begins in `text`, which must hold them in that order.
fn in_order(text: &str, marks: &[&str]) {
    let mut from = 0;
    for mark in marks {
        let at = text[from..]
            .find(mark)
            .unwrap_or_else(|| panic!("{mark:?} after {:?} in:\n{text}", &text[..from]));
        from += at + mark.len();
    }
}

#[test]
fn help_shows_a_sketchs_own_settings_then_the_frameworks_flags_under_headings() {
    let help = |args: &[&str]| {
        let shown = run(args);
        assert_eq!(shown.code(), 0, "{shown:?}");
        shown.out.join("\n")
    };
    in_order(
        &help(&["iopin", "--help"]),
        &[
            "Options:",
            "--chance",
            "--sequence",
            "--buzzer",
            "--help",
            "Server options:",
            "--socket",
            "--port",
            "--max-message",
            "--ping-interval",
            "--advertise",
            "Link options:",
            "--ack-timeout",
            "--link-window",
            "--stop-timeout",
            "Discovery options:",
            "--discovery",
            "--resolve-timeout",
            "TLS and token options:",
            "--token",
            "--tls-cert",
            "Replay options:",
            "--replay",
            "--check",
            "Run options:",
            "--quiet",
            "--vcd",
            "--seed",
        ],
    );
    let clock = help(&["clock", "--help"]);
    in_order(
        &clock,
        &[
            "Options:",
            "--tacks",
            "--delay",
            "Target options:",
            "--socket <HOST>",
            "Host or address of the server the ticks go to",
            "--port <PORT>",
            "Port of the server the ticks go to",
            "--retry-for",
            "--to",
            "Run options:",
        ],
    );
    assert!(!clock.contains("Server options:"), "{clock}");
    assert!(
        !clock.contains("Replay options:"),
        "a timer has no inputs: {clock}"
    );
    in_order(
        &help(&["up", "--help"]),
        &[
            "Options:",
            "--host",
            "Link options:",
            "Discovery options:",
            "TLS and token options:",
            "Replay options:",
            "Run options:",
            "--sim",
        ],
    );
    in_order(
        &help(&["circuit", "--help"]),
        &["Options:", "--tacks", "--delay", "Run options:", "--quiet"],
    );
}

#[test]
fn a_busy_port_is_reported() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let busy = run(&["buzzer", "-s", "127.0.0.1", "-p", &port]);
    assert_eq!(busy.code(), 1, "{busy:?}");
    let said = busy.err.join("\n");
    assert!(
        said.contains("Cannot bind to this port! Is the server already running?"),
        "{said}"
    );
}

#[test]
fn an_address_of_another_machine_is_reported_as_such() {
    // A documentation address (RFC 5737) this machine does not have: binding
    // it is refused with EADDRNOTAVAIL, which the kernel decides at once.
    let foreign = ["192.0.2.1", "198.51.100.1", "203.0.113.1"]
        .into_iter()
        .find(|ip| {
            TcpListener::bind((*ip, 0))
                .is_err_and(|err| err.kind() == std::io::ErrorKind::AddrNotAvailable)
        })
        .expect("one of the documentation addresses is not this machine's");
    let refused = run(&["buzzer", "-s", foreign, "-p", "0"]);
    assert_eq!(refused.code(), 1, "{refused:?}");
    let said = refused.err.join("\n");
    assert!(
        said.contains(&format!("{foreign} is not an address of this machine")),
        "{said}"
    );
    assert!(!said.contains("already running"), "{said}");
}

#[test]
fn a_name_that_does_not_resolve_says_a_server_on_localhost_is_not_advertised() {
    // Bound to loopback, as by default: not advertised, so its name is unknown.
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    buzzer.port();
    let probe = run(&["probe", "buzzer/pin", "-n", "1", "--resolve-timeout", "1"]);
    assert_eq!(probe.code(), 1, "{probe:?}");
    let said = probe.err.join("\n");
    assert!(
        said.contains("no sketch called \"buzzer\" answered")
            && said.contains("a server bound to localhost (the default) is not advertised")
            && said.contains("start it with -s 0.0.0.0")
            && said.contains("--advertise"),
        "{said}"
    );
    buzzer.signal("TERM");
    assert_eq!(buzzer.finish(PATIENCE).code(), 0);
}

#[test]
fn a_clock_without_a_server_gives_up_in_bounded_time() {
    let port = dead_port().to_string();
    let started = Instant::now();
    let clock = run(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "--retry-for",
        "0.5",
    ]);
    assert_eq!(clock.code(), 1, "{clock:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(clock.err.len(), 1, "one clear line: {clock:?}");
    assert!(
        clock.err[0].contains("no server answered at ws://127.0.0.1:"),
        "{clock:?}"
    );
}

#[tokio::test]
async fn sigterm_closes_peers_and_exits_cleanly() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    let mut peer = connect(&url).await;
    // Plain text frames: any WebSocket client can play the pin.
    let mut acks = Vec::new();
    for level in ["1", "0", "1", "x"] {
        peer.send(Message::text(level)).await.unwrap();
        let ack = tokio::time::timeout(PATIENCE, peer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        acks.push(ack.into_text().unwrap().as_str().to_owned());
    }
    assert_eq!(acks[..3], ["bzzz", "n/a", "bzzz"]);
    assert!(acks[3].starts_with("error: cannot read \"x\""), "{acks:?}");

    buzzer.signal("TERM");
    let close = tokio::time::timeout(PATIENCE, peer.next())
        .await
        .expect("closed in time");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a close frame, got {other:?}"),
    }
    let buzzer = buzzer.finish(PATIENCE);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let lines = buzzer.lines_of("buzzer");
    assert!(
        lines.contains(&"Keyboard interruption, aborting."),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("done processing messages: path=/pin, 4 acknowledged")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_refused_message_is_logged_once_per_peer_then_counted() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    // Two peers, each sending what a u8 loop cannot read among what it can.
    for texts in [["x", "1", "seven", "0", "-1"], ["0", "y", "1", "1", "1"]] {
        let mut peer = connect(&url).await;
        for text in texts {
            peer.send(Message::text(text)).await.unwrap();
            tokio::time::timeout(PATIENCE, peer.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        }
        peer.close(None).await.unwrap();
        buzzer.wait_for(PATIENCE, |l| l.contains("done processing messages"));
    }
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let lines = buzzer.lines_of("buzzer");
    let warned: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("refused a message"))
        .collect();
    // The first refusal of each peer, with what was wrong; the others counted.
    assert_eq!(warned.len(), 2, "{lines:?}");
    assert!(
        warned[0].starts_with(
            "warning: refused a message from the peer on /pin: error: cannot read \"x\""
        ),
        "{warned:?}"
    );
    assert!(warned[1].contains("cannot read \"y\""), "{warned:?}");
    let done: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("done processing messages"))
        .collect();
    assert!(done[0].contains("5 acknowledged (3 refused)"), "{done:?}");
    assert!(done[1].contains("5 acknowledged (1 refused)"), "{done:?}");
    assert!(
        lines.contains(&"served 10 messages from 2 peers, 4 refused"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_binary_frame_is_refused_with_1003() {
    let mut iopin = start(&["iopin", "-s", "127.0.0.1", "-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/datafeed", iopin.port());
    let mut peer = connect(&url).await;
    peer.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    match tokio::time::timeout(PATIENCE, peer.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Unsupported),
        other => panic!("expected close 1003, got {other:?}"),
    }
    // The server carries on serving others.
    let mut other = connect(&url).await;
    other.send(Message::text("0")).await.unwrap();
    let ack = tokio::time::timeout(PATIENCE, other.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(ack.into_text().unwrap().starts_with('['));
}

#[tokio::test]
#[allow(clippy::result_large_err)] // the handshake callback's error type is tungstenite's
async fn our_clock_talks_to_a_plain_websocket_server() {
    // A server with no circuit code at all: plain tokio-tungstenite, as a peer
    // written by someone else would be.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut path = String::new();
        let mut socket =
            tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response| {
                path = request.uri().path().to_owned();
                Ok(response)
            })
            .await
            .unwrap();
        let mut received = Vec::new();
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                received.push(text.as_str().to_owned());
                socket
                    .send(Message::text(format!("got {text}")))
                    .await
                    .unwrap();
            }
        }
        (path, received)
    });

    let clock = tokio::task::spawn_blocking(move || {
        run(&[
            "clock",
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "4",
            "-d",
            "0",
        ])
    })
    .await
    .unwrap();
    assert_eq!(clock.code(), 0, "{clock:?}");
    assert!(clock.lines_of("clock").contains(&"< got 3"), "{clock:?}");
    let (path, received) = tokio::time::timeout(PATIENCE, server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(path, "/datafeed");
    assert_eq!(received, ["0", "1", "2", "3"]);
}

#[test]
fn a_fast_circuit_loses_no_level_on_the_way_to_the_buzzer() {
    // Each tick sends three levels over the pin's link: the link must keep up
    // (or slow the pin down), never drop levels while the buzzer is up.
    let circuit = run(&["circuit", "-t", "1500", "-d", "0", "-q", "--seed", "9"]);
    assert_eq!(circuit.code(), 0, "{:?}", circuit.err);
    let buzzer = circuit.lines_of("buzzer");
    assert!(
        buzzer
            .iter()
            .any(|l| l.starts_with("done processing messages: path=/pin, 4500 acknowledged")),
        "{buzzer:?}"
    );
    let summary = circuit.lines_of("circuit");
    assert!(summary
        .last()
        .unwrap()
        .starts_with("1500 ticks sent, 1500 acks received, 4500 bits drawn"));
    assert!(
        circuit.out.iter().all(|l| !l.contains("warning")),
        "{:?}",
        circuit.out
    );
}

/// Starts an iopin on `port` ("0" for any) whose buzzer is down; returns it and its port.
fn iopin_on(port: &str) -> (support::Running, String) {
    let buzzer = format!("ws://127.0.0.1:{}/pin", dead_port());
    let mut iopin = start(&["iopin", "-s", "127.0.0.1", "-p", port, "--buzzer", &buzzer]);
    let port = iopin.port().to_string();
    (iopin, port)
}

#[test]
fn the_clock_carries_on_when_its_server_is_killed_and_comes_back() {
    let (first, port) = iopin_on("0");
    let mut clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "6",
        "-d",
        "0.2",
    ]);
    for _ in 0..2 {
        clock.wait_for(PATIENCE, |l| l.starts_with("[ clock ] < "));
    }
    first.signal("KILL");
    drop(first);
    // Until the second pin binds it, no other test's `-p 0` server may get the port.
    let hold = PortHold::new(port.parse().unwrap());
    let (second, _) = iopin_on(&port);
    drop(hold);

    let clock = clock.finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let lines = clock.lines_of("clock");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("< ")).count(),
        6,
        "{lines:?}"
    );
    // Killed between two ticks (nearly always, 0.2 s apart), the pin lost no
    // tick: the clock connects again before the next one. Killed while a tick
    // awaited its acknowledgement, that tick is resent.
    let resent = lines.iter().filter(|l| l.ends_with("(resent)")).count();
    assert!(resent <= 1, "{lines:?}");
    assert_eq!(
        lines.last().copied(),
        Some(format!("6 ticks sent, 6 acknowledged, {resent} resent").as_str()),
        "{lines:?}"
    );

    second.signal("TERM");
    let second = second.finish(PATIENCE);
    let ticks = second
        .lines_of("iopin")
        .iter()
        .filter(|l| l.starts_with("new tick"))
        .count();
    assert!(
        (4..=5).contains(&ticks),
        "the second pin got the rest: {second:?}"
    );
}

#[test]
fn the_clock_gives_up_when_its_server_does_not_come_back() {
    let (first, port) = iopin_on("0");
    let mut clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "50",
        "-d",
        "0.1",
        "--retry-for",
        "0.5",
    ]);
    clock.wait_for(PATIENCE, |l| l.starts_with("[ clock ] < "));
    first.signal("KILL");
    drop(first);
    // The clock retries this port: no other test's `-p 0` server may get it.
    let _hold = PortHold::new(port.parse().unwrap());
    let clock = clock.finish(PATIENCE);
    assert_eq!(clock.code(), 1, "{clock:?}");
    assert_eq!(clock.err.len(), 1, "{clock:?}");
    assert!(
        clock.err[0].contains("did not come back") && clock.err[0].contains("within 0.5s"),
        "{clock:?}"
    );
}

#[tokio::test]
async fn a_clock_stopped_before_its_tick_is_acknowledged_exits_1() {
    // A server that takes the tick and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        while let Some(Ok(_)) = socket.next().await {}
    });
    let clock = tokio::task::spawn_blocking(move || {
        let mut clock = start(&["clock", "-s", "127.0.0.1", "-p", &port, "-t", "1"]);
        clock.wait_for(PATIENCE, |line| line == "[ clock ] > 0");
        clock.signal("INT");
        clock.finish(PATIENCE)
    })
    .await
    .unwrap();
    server.abort();
    assert_eq!(clock.code(), 1, "{clock:?}");
    assert!(
        clock.lines_of("clock").contains(
            &"warning: 1 ticks sent, 0 acknowledged, 0 resent, 1 not acknowledged (lost)"
        ),
        "{clock:?}"
    );
    assert_eq!(
        clock.err.last().map(String::as_str),
        Some(
            "[ clock ] error: 1 message lost (1 tick not acknowledged); the lines above say where"
        ),
        "{clock:?}"
    );
}

#[test]
fn a_token_from_the_environment_guards_a_server() {
    let secret = [("CIRCUIT_TOKEN", "let-me-in")];
    let buzzer = format!("ws://127.0.0.1:{}/pin", dead_port());
    // No bits drawn: its buzzer is down, and levels it could not deliver
    // would fail its run (exit 1), which is not what this test is about.
    let mut iopin = support::start_with(
        &[
            "iopin",
            "-s",
            "127.0.0.1",
            "-p",
            "0",
            "--buzzer",
            &buzzer,
            "--sequence",
            "0",
        ],
        &secret,
    );
    let port = iopin.port().to_string();
    let clock = [
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "2",
        "-d",
        "0",
    ];

    let stranger = run(&[&clock[..], &["--retry-for", "0.3"]].concat());
    assert_eq!(stranger.code(), 1, "{stranger:?}");
    assert!(stranger.err[0].contains("401"), "{stranger:?}");

    let friend = support::start_with(&clock, &secret).finish(PATIENCE);
    assert_eq!(friend.code(), 0, "{friend:?}");
    assert_eq!(
        friend
            .lines_of("clock")
            .iter()
            .filter(|l| l.starts_with("< "))
            .count(),
        2
    );

    iopin.wait_for(PATIENCE, |l| l.contains("refused a peer with 401"));
    iopin.signal("TERM");
    assert_eq!(iopin.finish(PATIENCE).code(), 0);
}

#[test]
fn serving_beyond_loopback_comes_with_a_warning() {
    let mut buzzer = start(&["buzzer", "-s", "0.0.0.0", "-p", "0"]);
    buzzer.wait_for(PATIENCE, |l| l.contains("reachable from the network"));
    buzzer.port();
    buzzer.signal("TERM");
    assert_eq!(buzzer.finish(PATIENCE).code(), 0);

    let mut local = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    local.port();
    local.signal("TERM");
    let local = local.finish(PATIENCE);
    assert!(
        local
            .out
            .iter()
            .all(|l| !l.contains("reachable from the network")),
        "{local:?}"
    );
}

/// The echo sketch, served in-process on an ephemeral loopback port.
async fn echo_server() -> (circuit_runtime::net::Server<sketches::Echo>, String) {
    let (echo, options) =
        circuit_runtime::app::parse::<sketches::Echo, _, _>(["-s", "127.0.0.1", "-p", "0"])
            .unwrap();
    let server = circuit_runtime::net::Server::start(echo, &options)
        .await
        .unwrap();
    let url = format!("ws://127.0.0.1:{}/echo", server.local_addr().port());
    (server, url)
}

#[tokio::test]
async fn the_echo_follows_rfc_6455() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    let (server, url) = echo_server().await;
    let mut peer = connect(&url).await;
    let next = async |peer: &mut tokio_tungstenite::WebSocketStream<_>| {
        tokio::time::timeout(PATIENCE, peer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };

    // Text as text, binary as binary, empty ones too.
    for message in [
        Message::text("héllo"),
        Message::binary(vec![0, 159, 146, 150]),
        Message::text(""),
        Message::binary(vec![]),
    ] {
        peer.send(message.clone()).await.unwrap();
        assert_eq!(next(&mut peer).await, message);
    }

    // A fragmented message, with a ping between its fragments (RFC 6455 §5.4, §5.5):
    // the pong comes first, then the whole message echoed as one.
    let fragment = |data: &'static str, opcode, fin| {
        Message::Frame(Frame::message(data.as_bytes().to_vec(), opcode, fin))
    };
    peer.send(fragment("frag", OpCode::Data(Data::Text), false))
        .await
        .unwrap();
    peer.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    peer.send(fragment("men", OpCode::Data(Data::Continue), false))
        .await
        .unwrap();
    peer.send(fragment("ted", OpCode::Data(Data::Continue), true))
        .await
        .unwrap();
    assert_eq!(
        next(&mut peer).await,
        Message::Pong(b"are you there".to_vec().into())
    );
    assert_eq!(next(&mut peer).await, Message::text("fragmented"));

    // The closing handshake: our close is answered with the same code, then the end.
    peer.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    match next(&mut peer).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the closing handshake, got {other:?}"),
    }
    assert!(tokio::time::timeout(PATIENCE, peer.next())
        .await
        .unwrap()
        .is_none());
    tokio::time::timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn a_protocol_violation_is_closed_with_1002() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;

    let (server, url) = echo_server().await;
    let mut peer = connect(&url).await;
    // A continuation frame with no message to continue.
    let stray = Frame::message(b"orphan".to_vec(), OpCode::Data(Data::Continue), true);
    peer.send(Message::Frame(stray)).await.unwrap();
    match tokio::time::timeout(PATIENCE, peer.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Protocol),
        other => panic!("expected close 1002, got {other:?}"),
    }
    drop(peer);
    tokio::time::timeout(PATIENCE, server.stop()).await.unwrap();
}

#[tokio::test]
async fn a_link_logs_the_peers_close_code_backs_off_and_dead_letters() {
    // A buzzer whose loop fails on everything: it closes 1011 on each level.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let buzzer = format!("ws://{}/pin", listener.local_addr().unwrap());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                continue;
            };
            tokio::spawn(async move {
                if let Some(Ok(Message::Text(_))) = socket.next().await {
                    let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                        code: CloseCode::Error,
                        reason: "boom".into(),
                    };
                    let _ = socket.close(Some(frame)).await;
                }
            });
        }
    });
    let mut iopin = tokio::task::spawn_blocking(move || {
        let args = ["iopin", "-s", "127.0.0.1", "-p", "0", "--sequence", "1"];
        let mut iopin =
            start(&[&args[..], &["--link-attempts", "2", "--buzzer", &buzzer]].concat());
        let port = iopin.port();
        (iopin, port)
    })
    .await
    .unwrap();
    let mut clock = connect(&format!("ws://127.0.0.1:{}/datafeed", iopin.1)).await;
    clock.send(Message::text("0")).await.unwrap();
    let ack = tokio::time::timeout(PATIENCE, clock.next()).await.unwrap();
    assert!(matches!(ack, Some(Ok(Message::Text(_)))), "{ack:?}");
    let iopin = tokio::task::spawn_blocking(move || {
        iopin
            .0
            .wait_for(PATIENCE, |line| line.contains("dead-lettered"));
        iopin.0.signal("TERM");
        iopin.0.finish(PATIENCE)
    })
    .await
    .unwrap();
    let said = iopin.out.join("\n");
    assert!(said.contains("the peer closed with 1011: boom"), "{said}");
    assert!(said.contains("after 2 attempts"), "{said}");
    assert!(
        said.contains("0 delivered, 1 dead-lettered"),
        "the end-of-run line: {said}"
    );
    let connections = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(connections, 2, "one message, two attempts, no storm");
}

#[test]
fn in_memory_wires_and_loopback_sockets_give_the_same_run_for_the_same_seed() {
    let in_process = run(&["circuit", "-t", "20", "-d", "0", "--seed", "5"]);
    let sockets = run(&["circuit", "-t", "20", "-d", "0", "--seed", "5", "--sockets"]);
    assert_eq!(in_process.code(), 0, "{in_process:?}");
    assert_eq!(sockets.code(), 0, "{sockets:?}");
    // The same bits drawn, the same buzzes, the same acknowledgements, the same summary.
    // (Only the ports the servers were given differ.)
    let lines = |finished: &support::Finished, sketch: &str| {
        finished
            .lines_of(sketch)
            .into_iter()
            .filter(|line| !line.starts_with("serving on "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for sketch in ["clock", "buzzer", "circuit"] {
        assert_eq!(
            lines(&in_process, sketch),
            lines(&sockets, sketch),
            "{sketch}: {in_process:?} vs {sockets:?}"
        );
    }
    assert_eq!(
        drawn_bits(&in_process.lines_of("iopin")),
        drawn_bits(&sockets.lines_of("iopin"))
    );
    // Only the wire differs: the pin's link says which.
    let link = |finished: &support::Finished| {
        finished
            .lines_of("iopin")
            .into_iter()
            .find(|line| line.starts_with("link to "))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        link(&in_process).starts_with("link to mem://buzzer/pin: 60 delivered"),
        "{in_process:?}"
    );
    assert!(
        link(&sockets).starts_with("link to ws://127.0.0.1:"),
        "{sockets:?}"
    );
}

#[test]
fn a_million_ticks_of_simulated_time_run_to_their_summary() {
    // 11.6 simulated days; only this test's own bound limits the wall time
    // (the speed is the benchmark's business).
    let sim = support::start(&[
        "circuit", "-t", "1000000", "-d", "1", "--sim", "-q", "--seed", "3",
    ])
    .finish(std::time::Duration::from_secs(900));
    assert_eq!(sim.code(), 0, "{sim:?}");
    let summary = sim.lines_of("circuit");
    let last = summary.last().expect("a summary");
    assert!(
        last.starts_with("1000000 ticks sent, 1000000 acks received, 3000000 bits drawn, "),
        "{sim:?}"
    );
    assert!(
        sim.out.iter().any(|line| line
            .trim_start()
            .starts_with("999999.000s [ clock ] 1000000 ticks sent")),
        "the last tick a million seconds in, less one: {:?}",
        sim.out.iter().rev().take(8).collect::<Vec<_>>()
    );
}

#[test]
fn simulated_time_refuses_wires_that_leave_the_process() {
    let sockets = run(&["circuit", "-t", "2", "--sim", "--sockets"]);
    assert_eq!(sockets.code(), 2, "{sockets:?}");
    assert!(
        sockets.err.join("\n").contains("drop --sockets"),
        "{sockets:?}"
    );
}
