//! Scenario files through `sketches test`: the shipped scenarios of the demo
//! pass (several files at once, in processes of their own, with JUnit XML);
//! each kind of expectation fails saying what it saw, where it is written;
//! the same seed gives the same result; a malformed file exits 2 with every
//! mistake and nothing run; a month of simulated ticks runs within the
//! test's own patience.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{run, start};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// A scenario file of this test's own, `text`, in the temporary folder;
/// `../circuits/demo.toml` in it names the shipped demo.
struct Written(PathBuf);

impl Written {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("test-{name}-{}.toml", std::process::id()));
        let demo = workspace().join("sketches/circuits/demo.toml");
        let text = text.replace("../circuits/demo.toml", demo.to_str().unwrap());
        std::fs::write(&path, text).unwrap();
        Written(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// The path as the failures show it.
    fn shown(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn shipped(name: &str) -> String {
    workspace()
        .join("sketches/scenarios")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// The result lines of a run without their wall time, which differs every run.
fn without_wall_time(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| match line.find(" simulated, ") {
            Some(at) => line[..at].to_owned(),
            None => line.clone(),
        })
        .collect()
}

#[test]
fn the_demo_scenarios_pass_and_one_failing_among_them_fails_the_call() {
    let failing = Written::new(
        "failing",
        "circuit = \"../circuits/demo.toml\"\nseed = 7\ntimeout = 10.0\n\n[[expect]]\nlog = \"buzz #99\"\nby = 8.0\n",
    );
    let junit = std::env::temp_dir().join(format!("scenarios-{}.xml", std::process::id()));
    let (buzzes, bits) = (shipped("buzzes.toml"), shipped("pin_bits.toml"));
    let tested = run(&[
        "test",
        &buzzes,
        failing.path(),
        &bits,
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(tested.code(), 1, "{tested:?}");
    let out = &tested.out;
    assert!(
        out.iter().any(|line| line.starts_with("ok     buzzes (")),
        "{tested:?}"
    );
    assert!(
        out.iter().any(|line| line.starts_with("ok     pin_bits (")),
        "{tested:?}"
    );
    assert!(
        out.iter()
            .any(|line| line.starts_with("FAILED test-failing-")),
        "{tested:?}"
    );
    let said = format!(
        "  {}:5:1: expected a line with \"buzz #99\" by 8.000s; at 8.000s: the closest line, at ",
        failing.shown()
    );
    assert!(
        out.iter().any(|line| line.starts_with(&said)),
        "{said}\n{tested:?}"
    );
    assert_eq!(out.last().map(String::as_str), Some("2 passed, 1 failed"));

    let xml = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_file(&junit);
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), 3, "{xml}");
    let failed: Vec<&(String, Option<String>)> = cases
        .iter()
        .filter(|(_, failure)| failure.is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{xml}");
    assert!(failed[0].0.starts_with("test-failing-"), "{xml}");
    assert!(
        failed[0]
            .1
            .as_deref()
            .is_some_and(|message| message.contains(":5:1: expected a line with \"buzz #99\"")),
        "{xml}"
    );
}

#[test]
fn each_kind_of_expectation_says_what_it_saw_instead_and_where_it_is() {
    let text = "\
circuit = \"../circuits/demo.toml\"
seed = 7
timeout = 20.0

[[send]]
at = 2.5
to = \"iopin/tick\"
messages = [\"extra\"]

[[expect]]
signal = \"buzzer.buzz\"
rises = 9
by = 3.0

[[expect]]
signal = \"buzzer.buzz\"
value = 0
at = 0.5

[[expect]]
ack = \"[1, 1, 1]\"
from = \"iopin\"

[[expect]]
log = \"buzz #2\"
within = [3.0, 4.0]

[[never]]
log = \"toggling pin state\"
within = [2.0, 3.0]

[[expect]]
signal = \"buzzer.buz\"
changes = 1
";
    let scenario = Written::new("kinds", text);
    let tested = run(&["test", scenario.path()]);
    assert_eq!(tested.code(), 1, "{tested:?}");
    let file = scenario.shown();
    let failures: Vec<&str> = tested
        .out
        .iter()
        .filter_map(|line| line.strip_prefix("  "))
        .collect();
    let expected = [
        format!("{file}:10:1: expected buzzer.buzz to rise 9 times by 3.000s; at 3.000s: it rose 5 times in the window; its last value was 0 (since 3.000s)"),
        format!("{file}:15:1: expected buzzer.buzz to hold 0 at 0.500s; at 0.500s: its last value was 1 (since 0.000s)"),
        format!("{file}:20:1: expected an acknowledgement \"[1, 1, 1]\" from iopin by 20.000s; at 20.000s: the closest: iopin acknowledged \"extra\" with \"[0, 0, 0]\" at 2.500s"),
        format!("{file}:24:1: expected a line with \"buzz #2\" within 3.000s–4.000s; at 4.000s: the closest line, at 3.000s: [ buzzer ] buzz #5: bzzz"),
        format!("{file}:28:1: never a line with \"toggling pin state\", but logged at 2.000s: [ iopin ] toggling pin state: [1, 0, 1]"),
        format!("{file}:32:1: expected buzzer.buz to change 1 time by 20.000s; at 20.000s: it changed 0 times in the window; it was never recorded (a typo in its name?)"),
    ];
    for (got, wanted) in failures.iter().zip(&expected) {
        assert_eq!(got, wanted, "{tested:?}");
    }
    assert_eq!(failures.len(), expected.len(), "{tested:?}");
    assert!(
        tested.out[0].starts_with("FAILED test-kinds-")
            && tested.out[0].contains("(20.000s simulated, "),
        "the run lasts until the timeout: {tested:?}"
    );

    // The same seed, the same run: every line alike but the wall time.
    let again = run(&["test", scenario.path()]);
    assert_eq!(
        without_wall_time(&again.out),
        without_wall_time(&tested.out)
    );
}

#[test]
fn a_scenario_whose_expectations_all_happened_ends_early() {
    let scenario = Written::new(
        "early",
        "circuit = \"../circuits/demo.toml\"\nseed = 7\ntimeout = 100.0\n\n[[expect]]\nlog = \"buzz #2\"\n",
    );
    let tested = run(&["test", scenario.path()]);
    assert_eq!(tested.code(), 0, "{tested:?}");
    assert!(
        tested.out[0].starts_with("ok     test-early-")
            && tested.out[0].contains("(1.000s simulated, "),
        "ends at the second buzz, at 1 s: {tested:?}"
    );
}

#[test]
fn a_malformed_scenario_exits_2_with_every_mistake_and_nothing_run() {
    let bad = workspace().join("tests/scenarios/bad/mistakes.toml");
    let tested = run(&["test", &shipped("buzzes.toml"), bad.to_str().unwrap()]);
    assert_eq!(tested.code(), 2, "{tested:?}");
    assert!(tested.out.is_empty(), "nothing ran: {tested:?}");
    let err = tested.err.join("\n");
    let file = "tests/scenarios/bad/mistakes.toml";
    for wanted in [
        "9 mistakes in the scenario files; nothing was run:",
        ":3:1: unknown field `seeds` of a scenario that names its circuit file (did you mean `seed`?)",
        ":6:6: no sketch \"buzer\" in the circuit demo (did you mean \"buzzer\"?)",
        ":8:6: `at` is a time in simulated seconds ≥ 0, such as 1.5, not \"soon\"",
        ":11:6: \"clock\" is a timer, which serves nobody",
        ":15:10: no sketch \"buzzr\" in the circuit demo (did you mean \"buzzer\"?)",
        ":20:6: `by` = 20 is after the scenario's end (timeout = 10): raise `timeout`",
        ":24:9: `rises` is a count ≥ 1",
        ":27:9: \"buzz #(\\\\d\" is no regular expression",
        ":31:7: a [[expect]] is about one thing: `ack` or `log`",
    ] {
        assert!(
            err.lines()
                .any(|line| line.contains(wanted)
                    && (wanted.starts_with("9 ") || line.contains(file))),
            "{wanted}\n{err}"
        );
    }
}

#[test]
fn a_mistake_in_the_circuit_file_a_scenario_names_is_placed_in_that_file() {
    let circuit = std::env::temp_dir().join(format!("test-circuit-{}.toml", std::process::id()));
    std::fs::write(&circuit, "[sketches.buzzer]\nsund = \"x\"\n").unwrap();
    let scenario = Written::new(
        "names-bad-circuit",
        &format!(
            "circuit = \"{}\"\n",
            circuit.file_name().unwrap().to_str().unwrap()
        ),
    );
    let tested = run(&["test", scenario.path()]);
    let _ = std::fs::remove_file(&circuit);
    assert_eq!(tested.code(), 2, "{tested:?}");
    let err = tested.err.join("\n");
    assert!(
        err.contains(&format!(
            "{}:2:1: unknown setting `sund` of buzzer",
            circuit.display()
        )),
        "{err}"
    );
}

#[test]
fn a_month_of_simulated_ticks_runs_within_the_tests_patience() {
    // A tick an hour for 30 days, through the whole demo: what takes a
    // month on the wall clock takes well under a second (speed is the
    // benchmark's to measure: a test only bounds it by its patience).
    let scenario = Written::new(
        "month",
        "seed = 7\ntimeout = 2592000.0\n\n[sketches.clock]\nto = \"iopin\"\ntacks = 720\ndelay = 3600.0\n\n[sketches.iopin]\nbuzzer = \"buzzer\"\n\n[sketches.buzzer]\n\n[[expect]]\nlog = \"> 719\"\nat = 2588400.0\n\n[[never]]\nlog = \"warning\"\n",
    );
    // Each idle connection's watchdog wakes every few simulated seconds: a
    // month of them is most of the wall time (seconds, in a debug build).
    let tested = start(&["test", scenario.path()]).finish(Duration::from_secs(120));
    assert_eq!(tested.code(), 0, "{tested:?}");
    assert!(
        tested.out[0].contains("(2592000.000s simulated, "),
        "{tested:?}"
    );
}

/// The test cases of JUnit XML `xml`, each with its failure's message if it
/// failed, read by a small parser that also checks every tag is closed in order.
fn junit_cases(xml: &str) -> Vec<(String, Option<String>)> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("an XML declaration");
    let mut open: Vec<String> = Vec::new();
    let mut cases = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("a tag ends") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "closed in order: {xml}");
            continue;
        }
        let name = tag.split_whitespace().next().unwrap().trim_end_matches('/');
        let attribute = |key: &str| {
            let from = tag.find(&format!(" {key}=\""))? + key.len() + 3;
            let to = tag[from..].find('"')? + from;
            Some(unescape(&tag[from..to]))
        };
        match name {
            "testcase" => cases.push((attribute("name").expect("a name"), None)),
            "failure" => {
                let case = cases.last_mut().expect("a failure inside a test case");
                case.1 = Some(attribute("message").expect("a message"));
            }
            _ => {}
        }
        if !tag.ends_with('/') {
            open.push(name.to_owned());
        }
    }
    assert!(open.is_empty(), "every tag closed: {xml}");
    cases
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
