//! Each message processed once: a link names itself and numbers its messages
//! on every handshake (`Circuit-Link`, `Circuit-Next`), and a circuit server
//! answers a message it processed before from memory, without running its
//! loop again, while a plain peer's messages are processed as they come.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use futures_util::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use support::*;

/// A link's identity, as a link would present it.
const LINK: &str = "0123456789abcdef0123456789abcdef";

/// Opens a connection to `url` (as a link when `resume` gives its identity
/// and first number), sends `messages` one at a time, and returns the answers.
async fn exchange(url: &str, resume: Option<(&str, u64)>, messages: &[&str]) -> Vec<String> {
    exchange_as(url, resume, false, messages).await
}

/// [`exchange`], saying with `retained` that the first message is the
/// link's retained one, outside the numbering (`Circuit-Retained: 1`).
async fn exchange_as(
    url: &str,
    resume: Option<(&str, u64)>,
    retained: bool,
    messages: &[&str],
) -> Vec<String> {
    let mut request = url.into_client_request().unwrap();
    if let Some((link, next)) = resume {
        let headers = request.headers_mut();
        headers.insert("Circuit-Link", link.parse().unwrap());
        headers.insert("Circuit-Next", next.to_string().parse().unwrap());
        if retained {
            headers.insert("Circuit-Retained", "1".parse().unwrap());
        }
    }
    let (mut peer, _) = timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("connects in time")
        .expect("connects");
    let mut answers = Vec::new();
    for message in messages {
        peer.send(Message::text(*message)).await.unwrap();
        let answer = timeout(PATIENCE, peer.next())
            .await
            .expect("an answer in time");
        match answer {
            Some(Ok(Message::Text(text))) => answers.push(text.as_str().to_owned()),
            other => panic!("an answer to {message}, not {other:?}"),
        }
    }
    peer.close(None).await.unwrap();
    answers
}

/// The buzzes a buzzer logged.
fn buzzes(lines: &[&str]) -> usize {
    lines
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count()
}

#[tokio::test]
async fn a_resent_message_is_answered_from_memory_and_the_loop_runs_once() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());

    let first = exchange(&url, Some((LINK, 1)), &["0", "1"]).await;
    assert_eq!(first, ["n/a", "bzzz"]);
    // The link lost those answers and resends both, then goes on: the
    // resends are answered as the first time (a rise run again would buzz).
    let again = exchange(&url, Some((LINK, 1)), &["0", "1", "0", "1"]).await;
    assert_eq!(again, ["n/a", "bzzz", "n/a", "bzzz"]);
    // Another link is another stream: its first message is new.
    let other = "ffffffffffffffffffffffffffffffff";
    let another = exchange(&url, Some((other, 1)), &["0", "1"]).await;
    assert_eq!(another, ["n/a", "bzzz"]);
    // A plain peer (no headers) has each of its messages processed, resent or not.
    let plain = exchange(&url, None, &["0", "1"]).await;
    assert_eq!(plain, ["n/a", "bzzz"]);

    buzzer.wait_for(PATIENCE, |line| line.ends_with("buzz #4: bzzz"));
    buzzer.signal("INT");
    let buzzer = buzzer.finish(PATIENCE);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let lines = buzzer.lines_of("buzzer");
    assert_eq!(buzzes(&lines), 4, "{buzzer:?}");
    let remembered: Vec<_> = lines
        .iter()
        .filter(|line| line.contains("answered from memory"))
        .collect();
    assert_eq!(remembered.len(), 1, "{buzzer:?}");
    assert!(
        remembered[0].contains("4 acknowledged (2 answered from memory, already processed)"),
        "{buzzer:?}"
    );
}

#[tokio::test]
async fn headers_given_wrong_are_said_and_the_peer_is_served_as_a_plain_one() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    assert_eq!(exchange(&url, Some(("xyz", 1)), &["1"]).await, ["bzzz"]);
    assert_eq!(
        exchange(&url, Some(("xyz", 1)), &["0", "1"]).await,
        ["n/a", "bzzz"]
    );
    buzzer.wait_for(PATIENCE, |line| line.ends_with("buzz #2: bzzz"));
    buzzer.signal("INT");
    let buzzer = buzzer.finish(PATIENCE);
    let said = buzzer.out.join("\n") + &buzzer.err.join("\n");
    assert!(said.contains("32 hex characters"), "{said}");
    assert!(!said.contains("answered from memory"), "{said}");
}

/// A TCP proxy to `target` that cuts each of its first `cuts` connections
/// the moment the server answers a message: the server has processed it, the
/// link never hears so, and resends it (and what followed) on the next one.
fn cutting_proxy(target: u16, cuts: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let cut = n < cuts;
            let (mut from_client, mut to_server) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || {
                let mut chunk = [0u8; 16 * 1024];
                while let Ok(read @ 1..) = from_client.read(&mut chunk) {
                    if to_server.write_all(&chunk[..read]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(Shutdown::Both);
            });
            let (mut from_server, mut to_client) = (server, client);
            thread::spawn(move || {
                let mut chunk = [0u8; 16 * 1024];
                let mut seen = Vec::new();
                let mut handshaken = false;
                while let Ok(read @ 1..) = from_server.read(&mut chunk) {
                    if handshaken && cut {
                        // An acknowledgement: it never arrives.
                        break;
                    }
                    if !handshaken {
                        seen.extend_from_slice(&chunk[..read]);
                        handshaken = seen.windows(4).any(|w| w == b"\r\n\r\n");
                    }
                    if to_client.write_all(&chunk[..read]).is_err() {
                        break;
                    }
                }
                let _ = to_client.shutdown(Shutdown::Both);
                let _ = from_server.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_link_whose_acknowledgements_are_lost_has_each_level_processed_once() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0"]);
    let proxy = cutting_proxy(buzzer.port(), 4);
    let link = format!("ws://127.0.0.1:{proxy}/pin");
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--buzzer",
        &link,
        "--seed",
        "7",
        "--sequence",
        "20",
        "--link-attempts",
        "100",
    ]);
    let port = iopin.port().to_string();
    let clock = run(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "10",
        "-d",
        "0.05",
    ]);
    assert_eq!(clock.code(), 0, "{clock:?}");
    iopin.wait_for(PATIENCE, |line| line.contains("done processing messages"));
    let bits = drawn_bits(&lines_of(&iopin.out, "iopin"));
    assert_eq!(bits.len(), 200);
    let edges = rising_edges(&bits);
    // The iopin delivers everything before it stops.
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    assert_eq!(iopin.code(), 0, "{iopin:?}");
    let said = iopin.out.join("\n");
    assert!(said.contains("200 delivered"), "{said}");
    buzzer.signal("INT");
    let buzzer = buzzer.finish(PATIENCE);
    let lines = buzzer.lines_of("buzzer");
    assert_eq!(buzzes(&lines), edges, "{buzzer:?}");
    // The lost acknowledgements were given again, from memory.
    assert!(
        lines
            .iter()
            .any(|line| line.contains("answered from memory")),
        "{buzzer:?}"
    );
}

/// A receiver that restarts on its spool remembers what it processed, yet a
/// link's retained message (`--retain`) reaches its loop: the restarted peer
/// forgot its state, which is what the retained message is for.
#[tokio::test]
async fn a_retained_message_runs_the_loop_of_a_peer_restarted_with_its_memory() {
    let dir = std::env::temp_dir().join(format!("circuit-once-retained-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = dir.to_str().unwrap().to_owned();
    let args = ["buzzer", "-s", "127.0.0.1", "-p", "0", "--spool", &spool];
    let mut buzzer = start(&args);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    let first = exchange(&url, Some((LINK, 1)), &["0", "1"]).await;
    assert_eq!(first, ["n/a", "bzzz"]);
    buzzer.wait_for(PATIENCE, |line| line.ends_with("buzz #1: bzzz"));
    buzzer.signal("KILL");
    drop(buzzer);

    let mut buzzer = start(&args);
    let url = format!("ws://127.0.0.1:{}/pin", buzzer.port());
    // The link resends what it delivered last, unnumbered, then goes on
    // from message 3; a resend of message 2 is still answered from memory.
    let again = exchange_as(&url, Some((LINK, 3)), true, &["1", "0"]).await;
    assert_eq!(again, ["bzzz", "n/a"]);
    // The "0" was message 3, not the retained "1": a resend of it is
    // answered with its own answer, from memory.
    let resent = exchange(&url, Some((LINK, 2)), &["1", "0"]).await;
    assert_eq!(resent, ["bzzz", "n/a"]);
    buzzer.signal("INT");
    let buzzer = buzzer.finish(PATIENCE);
    assert_eq!(buzzer.code(), 0, "{buzzer:?}");
    let lines = buzzer.lines_of("buzzer");
    assert_eq!(buzzes(&lines), 1, "the retained rise, run once: {buzzer:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
