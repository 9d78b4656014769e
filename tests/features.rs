//! A sketch built on circuit-runtime's default features (the crate docs'
//! hello sketch, `tests/hello`): what it leaves out is refused at start with
//! exit 2 and a message that names the cargo feature to turn on, never a
//! panic or a silent no-op. The workspace's own tests build the runtime with
//! every feature (the demo asks for them all), so this one builds the hello
//! sketch apart, in `target/hello`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace's folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// The hello sketch's binary, built once per run of this file.
fn hello() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace();
        let target = root.join("target").join("hello");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--locked", "--manifest-path"])
            .arg(root.join("tests/hello/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "the hello sketch builds on the default features"
        );
        target.join("debug").join("hello")
    })
}

/// Runs the hello sketch with `args`, which must end at once.
fn run(args: &[&str]) -> Output {
    Command::new(hello())
        .args(args)
        .output()
        .expect("the hello sketch runs")
}

/// `args` exit 2 saying that `what` needs `feature`.
fn refused(args: &[&str], what: &str, feature: &str) {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    let said = format!("{what} needs circuit-runtime's \"{feature}\" feature");
    assert!(
        stderr.contains(&said),
        "{args:?} should say {said:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

/// A circuit file of the hello sketch alone, written for one test.
fn circuit_file(name: &str) -> PathBuf {
    let dir = workspace().join("target").join("hello-circuits");
    std::fs::create_dir_all(&dir).expect("a folder for the file");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, "[sketches.counter]\n").expect("the file is written");
    path
}

#[test]
fn the_lean_build_runs_and_lists_its_commands() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["counter", "up", "ls", "probe"] {
        assert!(help.contains(command), "{command} is missing: {help}");
    }
}

#[test]
fn tls_flags_name_the_tls_feature() {
    refused(
        &[
            "counter",
            "-p",
            "0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ],
        "--tls-cert",
        "tls",
    );
}

#[test]
fn advertising_and_listing_name_the_discovery_feature() {
    refused(
        &["counter", "-p", "0", "--advertise"],
        "--advertise",
        "discovery",
    );
    refused(&["ls"], "ls", "discovery");
    let file = circuit_file("host");
    let file = file.to_str().expect("a UTF-8 path");
    refused(&["up", file, "--host", "h1"], "--host", "discovery");
}

#[test]
fn a_dns_server_names_the_dns_feature() {
    let file = circuit_file("dns");
    let file = file.to_str().expect("a UTF-8 path");
    refused(
        &["up", file, "--discovery", "dns:127.0.0.1"],
        "--discovery dns:SERVER",
        "dns",
    );
}

#[test]
fn simulated_time_names_the_sim_feature() {
    let file = circuit_file("sim");
    let file = file.to_str().expect("a UTF-8 path");
    refused(&["up", file, "--sim"], "--sim", "sim");
}

#[test]
fn a_wss_url_names_the_tls_feature() {
    refused(&["probe", "wss://127.0.0.1:9/datafeed"], "wss://", "tls");
}

#[test]
fn a_sketch_found_by_name_names_the_discovery_feature() {
    refused(
        &["probe", "iopin/datafeed"],
        "\"iopin/datafeed\", a sketch's name instead of a ws:// URL,",
        "discovery",
    );
}

#[test]
fn a_subscription_names_the_mqtt_feature() {
    refused(
        &[
            "counter",
            "-p",
            "0",
            "--subscribe",
            "mqtt://127.0.0.1:9/pins/#",
        ],
        "an mqtt:// URL",
        "mqtt",
    );
}

#[test]
fn a_command_sketch_names_the_commands_feature() {
    let dir = workspace().join("target").join("hello-circuits");
    std::fs::create_dir_all(&dir).expect("a folder for the file");
    let path = dir.join("command.toml");
    let text = "[sketches.counter]\n\n[sketches.pin]\ncommand = [\"python3\", \"pin.py\", \"--port\", \"{port}\"]\n";
    std::fs::write(&path, text).expect("the file is written");
    let file = path.to_str().unwrap();
    refused(
        &["up", file],
        "a command sketch (`command = [...]`)",
        "commands",
    );
    // Said at the place of `command`, as any mistake of the file.
    let stderr = String::from_utf8_lossy(&run(&["up", file]).stderr).into_owned();
    assert!(stderr.contains("command.toml:4:1: "), "{stderr}");
}

#[test]
fn metrics_name_the_metrics_feature() {
    refused(
        &["counter", "-p", "0", "--metrics", "127.0.0.1:0"],
        "--metrics",
        "metrics",
    );
    let file = circuit_file("metrics");
    let file = file.to_str().expect("a UTF-8 path");
    refused(
        &["up", file, "--metrics", "127.0.0.1:0"],
        "--metrics",
        "metrics",
    );
}
