//! Links that keep their word: a full queue makes a sender wait instead of
//! dropping (unless told to drop), and a link with `--spool DIR` keeps what
//! is not acknowledged on disk, across a crash of its process.

mod support;

use std::time::Duration;

use support::{drawn_bits, rising_edges, start, Finished, PATIENCE};

/// Finding 1: an iopin streaming 100 levels a tick to a buzzer behind a
/// proxy that delays 10 ms each way, its clock started at once: the link is
/// still connecting when its queue (1,024) fills. Every level arrives.
#[test]
fn a_link_still_connecting_waits_for_room_and_drops_nothing() {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", "0", "-q"]);
    let buzzer_port = buzzer.port();
    let proxy = support::proxy::delaying(buzzer_port, Duration::from_millis(10));
    let target = format!("ws://127.0.0.1:{proxy}/pin");
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--sequence",
        "100",
        "--buzzer",
        &target,
    ]);
    let iopin_port = iopin.port().to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &iopin_port,
        "-t",
        "20",
        "-d",
        "0",
        "-q",
    ])
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "{clock:?}");
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    let line = format!("link to {target}: 2000 delivered");
    assert!(
        iopin.lines_of("iopin").contains(&line.as_str()),
        "{line:?} in {iopin:?}"
    );
    assert_eq!(iopin.code(), 0, "nothing lost: {iopin:?}");
    assert!(
        buzzer
            .lines_of("buzzer")
            .iter()
            .any(|line| line.contains("2000 acknowledged")),
        "{buzzer:?}"
    );
}

/// A sketch whose `send` waits for room (its peer down) still stops on a
/// signal: the waiting send gives up after `--stop-timeout`, and what the
/// link held is counted as lost (exit 1).
#[test]
fn a_send_waiting_for_room_is_released_by_a_stop_and_counted() {
    let (_silent, dead) = silent_peer();
    let target = format!("ws://127.0.0.1:{dead}/pin");
    let mut iopin = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--sequence",
        "100",
        "--buzzer",
        &target,
        "--stop-timeout",
        "0.3",
    ]);
    let iopin_port = iopin.port().to_string();
    let mut clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &iopin_port,
        "-t",
        "50",
        "-d",
        "0",
    ]);
    // Ten ticks fill the queue (1,024 levels); the eleventh waits in `send`.
    clock.wait_for(PATIENCE, |line| line.ends_with("> 10"));
    std::thread::sleep(Duration::from_millis(500));
    iopin.signal("TERM");
    let iopin = iopin.finish(PATIENCE);
    assert_eq!(iopin.code(), 1, "{iopin:?}");
    let said = iopin.out.join("\n");
    assert!(said.contains("dropped (queue full)"), "{iopin:?}");
    assert!(said.contains("not delivered"), "{iopin:?}");
    drop(clock);
}

/// A fresh folder for spools.
fn spool_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("circuit-durable-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A peer that never answers: a listener that accepts no connection (kept
/// as long as the first value lives), and its port.
fn silent_peer() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A port nobody listens on now, for a sink started later.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finding 2: a relay (the iopin) between a clock and a sink (the buzzer)
/// that is down; the relay acknowledges every tick (each level it sent is on
/// disk by then), is killed with -9, and restarts on the same spool with the
/// sink up: every level reaches the sink.
#[test]
fn what_a_relay_acknowledged_reaches_the_sink_after_a_kill_and_a_restart() {
    let dir = spool_dir("crash");
    let spool = dir.to_str().unwrap();
    let sink = free_port().to_string();
    let target = format!("ws://127.0.0.1:{sink}/pin");
    let relay_args = [
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--sequence",
        "10",
        "--buzzer",
        &target,
        "--spool",
        spool,
    ];
    let mut relay = start(&relay_args);
    let relay_port = relay.port().to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &relay_port,
        "-t",
        "30",
        "-d",
        "0",
        "-q",
    ])
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "every tick acknowledged: {clock:?}");
    relay.signal("KILL");
    drop(relay);
    assert!(dir.join("iopin.buzzer.0.spool").exists());

    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", &sink, "-q"]);
    buzzer.port();
    let mut relay = start(&relay_args);
    relay.port();
    relay.signal("TERM");
    let relay = relay.finish(PATIENCE);
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    let line = format!("link to {target}: 300 delivered, 300 resent from the spool");
    assert!(
        relay.lines_of("iopin").contains(&line.as_str()),
        "{line:?} in {relay:?}"
    );
    assert_eq!(relay.code(), 0, "{relay:?}");
    assert!(
        buzzer
            .lines_of("buzzer")
            .iter()
            .any(|line| line.contains("300 acknowledged")),
        "{buzzer:?}"
    );

    // Delivered: a third run has nothing left to send.
    let mut again = start(&relay_args);
    again.port();
    again.signal("TERM");
    let again = again.finish(PATIENCE);
    assert!(!again.out.join("\n").contains("resent"), "{again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second process on the same spool is refused (exit 1, naming the file);
/// a spool written for another link is an error naming it, and kept.
#[test]
fn a_locked_spool_and_another_links_spool_are_refused() {
    let dir = spool_dir("locked");
    let spool = dir.to_str().unwrap();
    let (_silent, dead) = silent_peer();
    let target = format!("ws://127.0.0.1:{dead}/pin");
    let args = [
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--buzzer",
        &target,
        "--spool",
        spool,
    ];
    let mut first = start(&args);
    first.port();
    let second = start(&args).finish(PATIENCE);
    assert_eq!(second.code(), 1, "{second:?}");
    let said = format!("{second:?}");
    assert!(
        said.contains("iopin.buzzer.0.spool") && said.contains("locked"),
        "{said}"
    );
    first.signal("TERM");
    assert_eq!(first.finish(PATIENCE).code(), 0);

    // Another link's file under this link's name.
    std::fs::copy(
        dir.join("iopin.buzzer.0.spool"),
        dir.join("iopin.buzzer.1.spool"),
    )
    .unwrap();
    let two = format!("{target},{target}");
    let other = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "-q",
        "--buzzer",
        &two,
        "--spool",
        spool,
    ])
    .finish(PATIENCE);
    assert_eq!(other.code(), 1, "{other:?}");
    let said = format!("{other:?}");
    assert!(
        said.contains("iopin.buzzer.1.spool") && said.contains("link `buzzer.0`"),
        "{said}"
    );
    assert!(dir.join("iopin.buzzer.1.spool").exists(), "nothing deleted");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A disk that refuses writes (a file-size limit: EFBIG): one error line,
/// and the relay acknowledges no tick whose levels it did not store.
#[test]
fn a_full_disk_is_said_once_and_nothing_unstored_is_acknowledged() {
    let dir = spool_dir("full");
    let spool = dir.to_str().unwrap();
    let (_silent, dead) = silent_peer();
    let target = format!("ws://127.0.0.1:{dead}/pin");
    // 2 blocks: the header and a few ticks' records fit, then writes fail.
    let script = format!(
        "trap '' XFSZ; ulimit -f 2; exec {} iopin -s 127.0.0.1 -p 0 --sequence 10 --buzzer {target} --spool {spool} --stop-timeout 0.2",
        support::BIN
    );
    let mut relay = support::start_program("sh", &["-c", &script]);
    let relay_port = relay.port().to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &relay_port,
        "-t",
        "50",
        "-d",
        "0",
    ]);
    relay.wait_for(PATIENCE, |line| line.contains("cannot write the spool"));
    std::thread::sleep(Duration::from_millis(500));
    relay.signal("TERM");
    // Its loop waits in `send` until the process leaves (--stop-timeout + 2 s).
    let relay = relay.finish(PATIENCE);
    let clock = clock.finish(PATIENCE);
    let errors = relay
        .out
        .iter()
        .filter(|line| line.contains("cannot write the spool"))
        .count();
    assert_eq!(errors, 1, "said once: {relay:?}");
    // Ticks the relay acknowledged: their levels are all in the spool.
    let acked = clock
        .lines_of("clock")
        .iter()
        .filter(|line| line.starts_with("< "))
        .count();
    assert!(acked < 50, "the relay stopped acknowledging: {clock:?}");
    let mut restarted = start(&[
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--buzzer",
        &target,
        "--spool",
        spool,
        "--stop-timeout",
        "0.2",
    ]);
    let resending = restarted.wait_for(PATIENCE, |line| line.contains("left unacknowledged in"));
    restarted.signal("TERM");
    drop(restarted);
    let stored: usize = resending
        .split("link to ")
        .nth(1)
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("a count in {resending:?}"));
    assert!(
        stored >= acked * 10,
        "{stored} stored, {acked} ticks acknowledged"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A circuit on simulated time with spools: `up --sim --spool DIR` runs to
/// its end, every link's file under DIR.
#[test]
fn a_simulated_circuit_keeps_its_spools() {
    let dir = spool_dir("sim");
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("circuits/demo.toml");
    let up = support::run(&[
        "up",
        demo.to_str().unwrap(),
        "--sim",
        "-q",
        "--spool",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(up.code(), 0, "{up:?}");
    assert!(dir.join("iopin.buzzer.0.spool").exists(), "{up:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The buzzes a buzzer said: as many as the rises of the levels it was
/// sent, when they reached it in order.
fn buzzes(buzzer: &Finished) -> usize {
    buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count()
}

/// A relay (the iopin) with a spool whose sink is down, sending 100 levels
/// a tick over a window of 16, with `--spool-max BYTES` if given.
fn spooled_relay(spool: &str, target: &str, max: Option<&str>) -> support::Running {
    let mut args = vec![
        "iopin",
        "-s",
        "127.0.0.1",
        "-p",
        "0",
        "--sequence",
        "100",
        "--buzzer",
        target,
        "--link-window",
        "16",
        "--spool",
        spool,
    ];
    if let Some(max) = max {
        args.extend(["--spool-max", max]);
    }
    start(&args)
}

/// The sink, up at last on port `sink`.
fn sink_up(sink: &str) -> support::Running {
    let mut buzzer = start(&["buzzer", "-s", "127.0.0.1", "-p", sink]);
    buzzer.port();
    buzzer
}

/// Its sink up: the relay delivers everything, the sink buzzes on every
/// rise of the levels the relay drew (in order), nothing is lost.
fn delivered_in_order(
    relay: support::Running,
    buzzer: support::Running,
    target: &str,
    sent: usize,
) {
    relay.signal("TERM");
    let relay = relay.finish(PATIENCE);
    buzzer.signal("TERM");
    let buzzer = buzzer.finish(PATIENCE);
    assert_eq!(relay.code(), 0, "nothing lost: {relay:?}");
    let line = format!("link to {target}: {sent} delivered");
    assert!(
        relay.lines_of("iopin").contains(&line.as_str()),
        "{line:?} in {relay:?}"
    );
    let bits = drawn_bits(&relay.lines_of("iopin"));
    assert_eq!(bits.len(), sent);
    assert_eq!(buzzes(&buzzer), rising_edges(&bits), "in order: {buzzer:?}");
}

/// With a spool the queue overflows to disk: a relay whose sink is down
/// takes 6,000 levels (its queue holds 1,024) without its loop waiting, so
/// that the clock has every tick acknowledged; once the sink is up, all of
/// them arrive, in order.
#[test]
fn a_spooled_link_whose_peer_is_down_takes_more_than_its_queue() {
    let dir = spool_dir("overflow");
    let sink = free_port().to_string();
    let target = format!("ws://127.0.0.1:{sink}/pin");
    let mut relay = spooled_relay(dir.to_str().unwrap(), &target, None);
    let relay_port = relay.port().to_string();
    let clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &relay_port,
        "-t",
        "60",
        "-d",
        "0",
        "-q",
    ])
    .finish(PATIENCE);
    assert_eq!(clock.code(), 0, "every tick acknowledged: {clock:?}");
    let buzzer = sink_up(&sink);
    delivered_in_order(relay, buzzer, &target, 6000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small `--spool-max` makes the relay's `send` wait once its spool holds
/// that much: the clock's ticks wait for their acknowledgements (which wait
/// for the disk), the spool stays small, and once the
/// sink is up everything arrives, in order, and every tick is acknowledged.
#[test]
fn a_full_spool_makes_the_sender_wait_and_loses_nothing() {
    let dir = spool_dir("spool-max");
    let sink = free_port().to_string();
    let target = format!("ws://127.0.0.1:{sink}/pin");
    // About 11 ticks' levels (100 records of 18 bytes a tick).
    let mut relay = spooled_relay(dir.to_str().unwrap(), &target, Some("20000"));
    let relay_port = relay.port().to_string();
    let mut clock = start(&[
        "clock",
        "-s",
        "127.0.0.1",
        "-p",
        &relay_port,
        "-t",
        "60",
        "-d",
        "0",
    ]);
    // Its acknowledgements wait for the levels to be on disk: the clock
    // waits once the spool is full.
    clock.wait_for(PATIENCE, |line| line.ends_with("> 5"));
    std::thread::sleep(Duration::from_millis(500));
    // Without the bound it would hold all 6,000 levels (108,000 bytes).
    let file = dir.join("iopin.buzzer.0.spool");
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        size < 60_000,
        "the spool stopped taking levels: {size} bytes"
    );
    let buzzer = sink_up(&sink);
    let clock = clock.finish(PATIENCE);
    assert_eq!(clock.code(), 0, "every tick acknowledged: {clock:?}");
    delivered_in_order(relay, buzzer, &target, 6000);
    let _ = std::fs::remove_dir_all(&dir);
}
