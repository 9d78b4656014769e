//! Links that keep their word: a full queue makes a sender wait instead of
//! dropping (unless told to drop), and a link with `--spool DIR` keeps what
//! is not acknowledged on disk, across a crash of its process.

mod support;

use std::time::Duration;

use support::{start, PATIENCE};

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
    let dead = support::dead_port();
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
