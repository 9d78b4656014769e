//! Circuits wired in code (`Circuit` and `App::wired`), run in this process:
//! a timer feeding one sketch that fans out to two counters, every message
//! counted at the far end; and mistakes of wiring reported before anything
//! starts. (A link to a loop of another type does not compile: `tests/ui/`.)

use std::sync::atomic::{AtomicU64, Ordering};

use circuit_runtime::prelude::*;
use circuit_runtime::Circuit;

/// Levels received by every `Counter` of this process.
static COUNTED: AtomicU64 = AtomicU64::new(0);

/// Sends `--count` levels, alternating 0 and 1, as fast as it may.
#[sketch(every = pause, count = count, channel = "/in")]
pub struct Pulse {
    /// Levels to send.
    #[setting(default = 4)]
    count: u64,
    /// Seconds between two levels.
    #[setting(default = 0.0)]
    pause: f64,
}

impl Pulse {
    #[reactive]
    pub fn tick(&mut self, tick: u64) -> Option<u8> {
        (tick < self.count).then_some(u8::from(tick % 2 == 1))
    }
}

/// Passes every level on to each of its outputs.
#[sketch]
pub struct Split {
    /// Where the levels go.
    #[setting(default = ["ws://localhost:1/in"])]
    outs: Vec<Link<u8>>,
}

impl Split {
    #[reactive]
    pub async fn pass(&mut self, _channel: &str, level: u8) -> u8 {
        for out in &self.outs {
            out.send(level).await;
        }
        level
    }
}

/// Counts the levels it hears.
#[sketch]
pub struct Counter {}

impl Counter {
    #[reactive]
    pub fn count(&mut self, _channel: &str, level: u8) -> u8 {
        COUNTED.fetch_add(1, Ordering::Relaxed);
        level
    }

    /// Looks like a loop, and is none: it takes text.
    pub fn peek(&mut self, _channel: &str, text: String) -> String {
        text
    }
}

fn program(circuit: Circuit) -> App {
    App::new("wired").wired("pulses", circuit)
}

#[test]
fn a_timer_feeds_a_fan_out_to_two_counters_wired_in_code() {
    let mut circuit = Circuit::new("pulses");
    let left = circuit.serve("left", Counter::count);
    let right = circuit.serve("right", Counter::count);
    let split = circuit.serve("split", Split::pass);
    circuit.link(&split, Split::OUTS, &left);
    circuit.link(&split, Split::OUTS, &right);
    let pulse = circuit.timer("pulse", Pulse::tick);
    circuit.set(&pulse, "count", 25);
    circuit.send(&pulse, &split);
    let status = program(circuit).status_from(["wired", "pulses", "-q"]);
    assert_eq!(status, 0);
    assert_eq!(
        COUNTED.load(Ordering::Relaxed),
        50,
        "each of 25 levels reached both counters"
    );
}

#[test]
fn mistakes_of_wiring_are_usage_errors_and_nothing_starts() {
    let mut circuit = Circuit::new("broken");
    let split = circuit.serve("split", Split::pass);
    circuit.set(&split, "oust", "x"); // no such setting
    let pulse = circuit.timer("pulse", Pulse::tick);
    circuit.set(&pulse, "count", "many"); // not a number
    let _twin = circuit.serve("split", Counter::count); // a name taken
    let _idle = circuit.timer("idle", Pulse::tick); // a timer sending nowhere
    circuit.send(&pulse, &split);
    let _ = circuit.serve("peeker", Counter::peek); // not the loop
    let mistakes = circuit.check().expect_err("five mistakes");
    assert_eq!(mistakes.len(), 5, "{mistakes:#?}");
    let said = mistakes.join("\n");
    for expected in [
        "two sketches are called `split`",
        "`split` (split) has no setting `oust`; its settings are outs",
        "`pulse`'s `count` cannot be \"many\"",
        "`idle` is a timer and sends nowhere",
        "`peeker`: the loop given takes String, but counter's loop takes u8",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    assert_eq!(program(circuit).status_from(["wired", "pulses"]), 2);
}

#[test]
fn a_wired_circuit_has_the_common_flags_and_refuses_others() {
    let circuit = Circuit::new("empty");
    assert_eq!(
        program(circuit).status_from(["wired", "pulses", "--tacks", "3"]),
        2
    );
}

/// The buzzer with its rule changed: it buzzes when the pin falls (1 → 0).
#[sketch(name = "buzzer")]
pub struct FallingBuzzer {
    level: u8,
}

impl FallingBuzzer {
    #[reactive]
    pub fn listen(&mut self, _channel: &str, level: u8) -> bool {
        let falling = self.level != 0 && level == 0;
        self.level = level;
        signal("buzz", falling);
        falling
    }
}

#[test]
fn a_sketch_whose_rule_changed_fails_the_check_against_a_recording_of_the_old_rule() {
    // A recording of the real buzzer, from the demo binary.
    let dir = std::env::temp_dir().join(format!("circuit-rule-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let recording = dir.join("run.vcd");
    let recorded = std::process::Command::new(env!("CARGO_BIN_EXE_sketches"))
        .args([
            "circuit", "-t", "10", "-d", "0", "--seed", "2", "-q", "--vcd",
        ])
        .arg(&recording)
        .output()
        .expect("the circuit runs");
    assert!(recorded.status.success(), "{recorded:?}");
    let replay = |check: bool| {
        let mut args = vec!["rules", "buzzer", "--replay", recording.to_str().unwrap()];
        if check {
            args.push("--check");
        }
        App::new("rules")
            .sketch::<FallingBuzzer>()
            .status_from(args)
    };
    assert_eq!(replay(false), 0, "a replay without --check only runs");
    assert_eq!(
        replay(true),
        1,
        "buzzing on falls is not the recorded logic"
    );
}
