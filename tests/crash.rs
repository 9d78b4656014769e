//! Real processes, real kills: a relay (a sketch whose loop sends each tick's
//! messages on a link with `--spool`) killed with -9 mid-stream and restarted
//! on its spool, and a sink killed with -9 and restarted on its own spool.
//! The sink logs every message its loop processes (`got PID:TICK:K`), so the
//! tests see which ones it processed, how often and in what order.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use support::{start, start_program, Finished, Running, PATIENCE};

/// The crash tests' sketches: `crash relay` and `crash sink`.
const CRASH: &str = env!("CARGO_BIN_EXE_crash");

/// Messages a relay sends per tick.
const COUNT: u64 = 50;

/// Starts `crash ARGS…`.
fn crash(args: &[&str]) -> Running {
    start_program(CRASH, args)
}

/// A fresh folder for spools.
fn spool_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A message the sink processed: the relay's process, the tick, the place in the tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Got {
    pid: u32,
    tick: u64,
    k: u64,
}

/// Every message the sink's loop processed, in order, from its stdout lines.
fn got(lines: &[String]) -> Vec<Got> {
    support::lines_of(lines, "sink")
        .iter()
        .filter_map(|line| line.strip_prefix("got "))
        .map(|text| {
            let mut parts = text.split(':').map(|part| part.parse::<u64>().unwrap());
            let mut next = || {
                parts
                    .next()
                    .unwrap_or_else(|| panic!("PID:TICK:K, not {text}"))
            };
            Got {
                pid: next() as u32,
                tick: next(),
                k: next(),
            }
        })
        .collect()
}

/// The message after `got` in its relay's order: the next in the tick, or
/// the first of the next tick.
fn after(got: Got) -> Got {
    if got.k + 1 < COUNT {
        Got {
            k: got.k + 1,
            ..got
        }
    } else {
        Got {
            tick: got.tick + 1,
            k: 0,
            ..got
        }
    }
}

/// Asserts that `run` is one relay's messages in its order from tick 0,
/// message 0, none missing, none repeated; returns how many.
fn consecutive(run: &[Got]) -> usize {
    let mut expected = Got {
        pid: run[0].pid,
        tick: 0,
        k: 0,
    };
    for (at, got) in run.iter().enumerate() {
        assert_eq!(*got, expected, "message {at} of relay {}", expected.pid);
        expected = after(*got);
    }
    run.len()
}

/// The sum of the `N answered from memory` of a sketch's end-of-connection lines.
fn answered_from_memory(lines: &[&str]) -> u64 {
    lines
        .iter()
        .filter_map(|line| line.split(" (").nth(1).or(line.split("} (").nth(1)))
        .filter(|rest| rest.contains("answered from memory"))
        .filter_map(|rest| rest.split(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The number before `what` in `line` (`… 300 resent from the spool`).
fn count_before(line: &str, what: &str) -> u64 {
    line.split(what)
        .next()
        .and_then(|head| head.trim_end().rsplit([' ', ',']).next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

/// Runs a clock of `tacks` ticks against the relay on `port`, to its end.
fn clock(port: u16, tacks: &str) -> Running {
    start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        tacks,
        "-d",
        "0",
        "-q",
    ])
}

/// Stops a sketch with TERM and waits for it.
fn stop(running: Running) -> Finished {
    running.signal("TERM");
    running.finish(PATIENCE)
}

/// The headline crash: the relay is killed with -9 while its link has
/// messages in flight to a sink that stays up, and restarts on its spool.
/// The sink's loop processed every message exactly once and in order: the
/// first relay's messages from its first on, without a gap or a repeat,
/// then the second relay's.
#[test]
fn a_sender_killed_mid_stream_and_restarted_on_its_spool_has_each_message_processed_once() {
    let dir = spool_dir("sender");
    let spool = dir.to_str().unwrap();
    // The sink is slower than the relay, so that the link has a window of
    // messages in flight when the relay dies.
    let mut sink = crash(&["sink", "-s", "127.0.0.1", "-p", "0", "--pause", "1000"]);
    let to = format!("ws://127.0.0.1:{}/in", sink.port());
    let count = COUNT.to_string();
    let relay_args = [
        "relay",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--count",
        &count,
        "--to",
        &to,
        "--spool",
        spool,
    ];
    let mut relay = crash(&relay_args);
    let first = relay.port();
    let feeding = clock(first, "200");
    sink.wait_for(PATIENCE, |line| line.ends_with(":5:0"));
    relay.signal("KILL");
    drop(relay);
    drop(feeding);

    let mut relay = crash(&relay_args);
    let second = relay.port();
    let fed = clock(second, "3").finish(PATIENCE);
    assert_eq!(fed.code(), 0, "{fed:?}");
    // The clock's ticks are acknowledged once on disk, not once at the sink:
    // the relay stops after the sink got its last message, after everything
    // the first relay left in the spool (a slow sink takes a while for that).
    let last = format!("{}:2:{}", relay.pid(), COUNT - 1);
    let arrived = sink.wait_for(Duration::from_secs(120), |line| line.ends_with(&last));
    assert!(arrived.ends_with(&last), "the sink got {last}");
    let relay = stop(relay);
    assert_eq!(relay.code(), 0, "{relay:?}");
    let sink = stop(sink);

    let all = got(&sink.out);
    let unique: HashSet<Got> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "no message processed twice");
    let first_pid = all[0].pid;
    let split = all.iter().position(|got| got.pid != first_pid).unwrap();
    let (before, after) = all.split_at(split);
    let before = consecutive(before);
    let after = consecutive(after);
    assert_eq!(after as u64, 3 * COUNT, "the restarted relay's own");
    let delivered = relay
        .lines_of("relay")
        .iter()
        .find(|line| line.starts_with("link to ") && line.contains(" delivered"))
        .map(|line| line.to_string())
        .unwrap_or_else(|| panic!("the link's line in {relay:?}"));
    let resent = count_before(&delivered, "resent from the spool");
    assert!(resent > 0, "the spool held messages in flight: {delivered}");
    let memory = answered_from_memory(&sink.lines_of("sink"));
    println!(
        "sender killed: the sink processed {before} messages of the first relay and {after} of the second, each once; \
         {resent} resent from the spool, {memory} of them answered from memory; the relay said: {delivered}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `messages` on one connection to `url` as link `link` whose first
/// message is number `next`; the answers.
async fn exchange(url: &str, link: &str, next: u64, messages: &[&str]) -> Vec<String> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Circuit-Link", link.parse().unwrap());
    request
        .headers_mut()
        .insert("Circuit-Next", next.to_string().parse().unwrap());
    let (mut peer, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("connects in time")
        .expect("connects");
    let mut answers = Vec::new();
    for message in messages {
        peer.send(Message::text(*message)).await.unwrap();
        match tokio::time::timeout(PATIENCE, peer.next())
            .await
            .expect("an answer in time")
        {
            Some(Ok(Message::Text(text))) => answers.push(text.as_str().to_owned()),
            other => panic!("an answer to {message}, not {other:?}"),
        }
    }
    answers
}

/// A sink with `--spool` remembers what its loop processed across a kill
/// -9: messages resent to the restarted sink are answered from that memory
/// and not run again; a new one is run. A second sink on the same memory is
/// refused, naming the file.
#[tokio::test]
async fn a_receiver_killed_and_restarted_on_its_spool_remembers_what_it_processed() {
    let dir = spool_dir("memory");
    let spool = dir.to_str().unwrap();
    let link = "0123456789abcdef0123456789abcdef";
    let mut sink = crash(&["sink", "-s", "127.0.0.1", "-p", "0", "--spool", spool]);
    let port = sink.port().to_string();
    let url = format!("ws://127.0.0.1:{port}/in");
    assert_eq!(exchange(&url, link, 1, &["a", "b", "c"]).await, ["ok"; 3]);
    let locked = crash(&["sink", "-s", "127.0.0.1", "-p", "0", "--spool", spool]).finish(PATIENCE);
    assert_eq!(locked.code(), 1, "{locked:?}");
    let said = format!("{locked:?}");
    assert!(
        said.contains("sink.processed") && said.contains("locked"),
        "{said}"
    );
    sink.signal("KILL");
    let first = sink.finish(PATIENCE);

    let mut sink = crash(&["sink", "-s", "127.0.0.1", "-p", &port, "--spool", spool]);
    sink.port();
    // The link resends b and c (their acknowledgements were lost), then d.
    assert_eq!(exchange(&url, link, 2, &["b", "c", "d"]).await, ["ok"; 3]);
    let second = stop(sink);
    let texts = |run: &Finished| -> Vec<String> {
        run.lines_of("sink")
            .iter()
            .filter_map(|line| line.strip_prefix("got "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(texts(&first), ["a", "b", "c"]);
    assert_eq!(
        texts(&second),
        ["d"],
        "b and c are not run again: {second:?}"
    );
    assert_eq!(
        answered_from_memory(&second.lines_of("sink")),
        2,
        "{second:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The headline crash on the other side: the sink (with `--spool`) is
/// killed with -9 while a relay streams to it, and restarts on its spool.
/// Every message reaches its loop (none lost), in order; one is run twice
/// only when the sink died between running it and its memory reaching the
/// disk (it was not acknowledged then).
#[test]
fn a_receiver_killed_mid_stream_and_restarted_on_its_spool_loses_nothing() {
    let dir = spool_dir("receiver");
    let spool = dir.to_str().unwrap();
    let sink_args = |port: &str| {
        crash(&[
            "sink",
            "-s",
            "127.0.0.1",
            "-p",
            port,
            "--pause",
            "1000",
            "--spool",
            spool,
        ])
    };
    let mut sink = sink_args("0");
    let port = sink.port().to_string();
    let to = format!("ws://127.0.0.1:{port}/in");
    let count = COUNT.to_string();
    let mut relay = crash(&[
        "relay",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--count",
        &count,
        "--to",
        &to,
        "--link-attempts",
        "1000",
    ]);
    let feeding = clock(relay.port(), "40");
    sink.wait_for(PATIENCE, |line| line.ends_with(":5:0"));
    sink.signal("KILL");
    let first = sink.finish(PATIENCE);
    let mut sink = sink_args(&port);
    sink.port();
    let fed = feeding.finish(PATIENCE);
    assert_eq!(fed.code(), 0, "every tick acknowledged: {fed:?}");
    let relay = stop(relay);
    assert_eq!(relay.code(), 0, "{relay:?}");
    let second = stop(sink);

    let before = got(&first.out);
    let after = got(&second.out);
    let mut seen = HashSet::new();
    let once: Vec<Got> = before
        .iter()
        .chain(&after)
        .copied()
        .filter(|got| seen.insert(*got))
        .collect();
    assert_eq!(consecutive(&once) as u64, 40 * COUNT, "none lost");
    let twice = before.len() + after.len() - once.len();
    let memory = answered_from_memory(&second.lines_of("sink"));
    println!(
        "receiver killed: {} messages processed before the kill, {} after; {twice} run twice; {memory} answered from memory after the restart",
        before.len(),
        after.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
