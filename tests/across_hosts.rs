//! Circuits across hosts, found by name: network namespaces made by the test
//! (`support/netns.rs`) are real hosts to the kernel, joined by one switch on
//! which multicast DNS crosses. One circuit file, copied to every host, each
//! host starting its own part with `up FILE --host H`. Needs root; otherwise
//! skipped with one loud line, except with `CI=true`.

mod support;

use std::path::{Path, PathBuf};

use support::certs::{Ca, Issued};
use support::netns::Network;
use support::{drawn_bits, python, rising_edges, script, Finished, Running, BIN, PATIENCE};

/// The demo circuit with a placement for each sketch.
fn circuit_file(name: &str, tacks: u64, delay: f64) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("across-hosts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    let text = format!(
        r#"name = "{name}"

[sketches.clock]
to = "iopin"
tacks = {tacks}
delay = {delay}
host = "h1"

[sketches.iopin]
buzzer = "buzzer"
host = "h2"

[sketches.buzzer]
host = "h3"
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `up FILE --host PLACEMENT` on `host`, once its servers say they are advertised.
fn part(net: &Network, host: usize, file: &Path, placement: &str, extra: &[&str]) -> Running {
    let mut args = vec!["up", file.to_str().unwrap(), "--host", placement];
    args.extend_from_slice(extra);
    let mut running = net.host(host).start(BIN, &args);
    running.wait_for(PATIENCE, |line| line.contains("sketches up"));
    running
}

/// Stops a part that serves until Ctrl-C.
fn stop(running: Running) -> Finished {
    running.signal("INT");
    let finished = running.finish(PATIENCE);
    assert_eq!(finished.code(), 0, "{finished:?}");
    finished
}

/// Waits for a part to end by itself, with success.
fn ends(running: Running) -> Finished {
    let finished = running.finish(PATIENCE * 2);
    assert_eq!(finished.code(), 0, "{finished:?}");
    finished
}

/// The buzzes a buzzer's part logged.
fn buzzes(buzzer: &Finished) -> usize {
    buzzer
        .lines_of("buzzer")
        .iter()
        .filter(|line| line.starts_with("buzz #"))
        .count()
}

#[test]
fn the_demo_circuit_runs_from_one_file_across_three_hosts() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let file = circuit_file("spread", 10, 0.05);
    let buzzer = part(&net, 3, &file, "h3", &[]);
    let iopin = part(&net, 2, &file, "h2", &[]);
    let clock = net
        .host(1)
        .start(BIN, &["up", file.to_str().unwrap(), "--host", "h1"])
        .finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let ticks = clock.lines_of("clock");
    assert!(
        ticks.contains(&"10 ticks sent, 10 acknowledged, 0 resent"),
        "{clock:?}"
    );
    let on_h2 = format!("iopin is \"iopin\" at ws://{}:", net.host(2).addr());
    assert!(
        ticks.iter().any(|line| line.starts_with(&on_h2)),
        "the clock found the pin on h2 by name: {clock:?}"
    );
    // The pin's part ends once the clock has, the buzzer's once the pin has.
    let iopin = ends(iopin);
    let buzzer = ends(buzzer);
    assert!(
        iopin
            .lines_of("up")
            .contains(&"circuit spread on h2: no timer on h2; ticks are sent by clock (on h1)"),
        "not `0 ticks sent`: {iopin:?}"
    );
    let bits = drawn_bits(&iopin.lines_of("iopin"));
    assert_eq!(bits.len(), 30, "{iopin:?}");
    assert!(
        iopin
            .lines_of("iopin")
            .contains(&"link to buzzer/pin: 30 delivered"),
        "{iopin:?}"
    );
    assert_eq!(buzzes(&buzzer), rising_edges(&bits), "{buzzer:?}");
}

/// The demo split over two hosts as a greenhouse would be: the clock (the
/// sensor) and the buzzer (the fan) on h1, the pin (the thermostat) between
/// them on h2, with a summary that counts a signal of each.
fn split_file(name: &str, tacks: u64, delay: f64) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("across-hosts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    let text = format!(
        r#"name = "{name}"

[sketches.clock]
to = "iopin"
tacks = {tacks}
delay = {delay}
host = "h1"

[sketches.iopin]
buzzer = "buzzer"
host = "h2"

[sketches.buzzer]
host = "h1"

[summary]
"ticks sent" = "clock.tick"
"bits drawn" = "iopin.level"
buzzes = {{ rises = "buzzer.buzz" }}
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn each_part_of_a_split_circuit_ends_by_itself_once_what_feeds_it_has_ended() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let file = split_file("split", 10, 0.05);
    // h2 holds no timer: it ends once the clock on h1 has.
    let pin = part(&net, 2, &file, "h2", &[]);
    let h1 = net
        .host(1)
        .start(BIN, &["up", file.to_str().unwrap(), "--host", "h1"])
        .finish(PATIENCE * 2);
    let h2 = ends(pin);
    assert_eq!(h1.code(), 0, "{h1:?}");
    assert!(
        h1.lines_of("clock")
            .contains(&"10 ticks sent, 10 acknowledged, 0 resent"),
        "{h1:?}"
    );
    // h1's buzzer served the pin on h2 until the pin had delivered everything.
    let bits = drawn_bits(&h2.lines_of("iopin"));
    assert_eq!(bits.len(), 30, "{h2:?}");
    assert!(
        h2.lines_of("iopin")
            .contains(&"link to buzzer/pin: 30 delivered"),
        "every message delivered: {h2:?}"
    );
    for finished in [&h1, &h2] {
        assert!(
            !finished
                .out
                .iter()
                .chain(&finished.err)
                .any(|line| line.contains("closed with 1001")),
            "no server stopped under a link: {finished:?}"
        );
    }
    let buzzes = buzzes(&h1);
    assert_eq!(buzzes, rising_edges(&bits), "{h1:?}");
    // Each part counts what its own sketches recorded, and names the other
    // part for the rest (not a misleading 0).
    assert!(
        h1.lines_of("up").contains(
            &format!(
                "circuit split on h1: 10 ticks sent, {buzzes} buzzes; counted on h2: bits drawn"
            )
            .as_str()
        ),
        "{h1:?}"
    );
    assert!(
        h2.lines_of("up")
            .contains(&"circuit split on h2: 30 bits drawn; counted on h1: ticks sent, buzzes"),
        "{h2:?}"
    );
}

#[test]
fn a_standby_pin_on_a_fourth_host_takes_over_when_the_first_dies() {
    let Some(net) = Network::create_or_skip(4) else {
        return;
    };
    let file = circuit_file("standby", 40, 0.1);
    let buzzer = part(&net, 3, &file, "h3", &[]);
    let primary = part(&net, 2, &file, "h2", &[]);
    // The same part of the same file, on another host: a standby of the same name.
    let standby = part(&net, 4, &file, "h2", &[]);
    let mut clock = net.host(1).start(
        BIN,
        &[
            "up",
            file.to_str().unwrap(),
            "--host",
            "h1",
            "--ack-timeout",
            "1",
        ],
    );
    clock.wait_for(PATIENCE, |line| line == "[ clock ] > 10");
    // The pin's host dies without a word: its process killed, its cable pulled.
    primary.signal("KILL");
    net.host(2).unplug().unwrap();
    let clock = clock.finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let ticks = clock.lines_of("clock");
    let report = ticks
        .iter()
        .find(|line| line.starts_with("40 ticks sent, 40 acknowledged"))
        .unwrap_or_else(|| panic!("every tick acknowledged: {clock:?}"));
    // A tick the pin died holding is resent; when it died between two ticks,
    // the clock found the standby before the next one, and nothing was lost.
    assert!(
        report.ends_with(" 0 resent") || report.ends_with(" 1 resent"),
        "{clock:?}"
    );
    let on_h4 = format!("at ws://{}:", net.host(4).addr());
    assert!(
        ticks
            .iter()
            .any(|line| line.contains("iopin is now") && line.contains(&on_h4)),
        "the clock says the standby took over: {clock:?}"
    );
    let standby = ends(standby);
    let buzzer = stop(buzzer);
    let taken_over = drawn_bits(&standby.lines_of("iopin"));
    assert!(!taken_over.is_empty(), "the standby drew bits: {standby:?}");
    assert!(buzzes(&buzzer) > 0, "{buzzer:?}");
    assert!(
        buzzer
            .lines_of("buzzer")
            .iter()
            .any(|line| line.starts_with("served") && line.ends_with("from 2 peers")),
        "the buzzer heard both pins: {buzzer:?}"
    );
}

#[test]
fn python_zeroconf_sees_our_sketches_and_our_probe_reaches_a_python_server_by_name() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let python = python.as_str();
    // Ours, advertised on h1 (bound beyond loopback), seen by python-zeroconf on h2.
    let mut buzzer = net
        .host(1)
        .start(BIN, &["buzzer", "-s", "0.0.0.0", "-p", "0"]);
    let port = buzzer.port();
    buzzer.wait_for(PATIENCE, |line| line.contains("advertised as"));
    let browse = net
        .host(2)
        .start(python, &[&script("browse.py"), "3"])
        .finish(PATIENCE);
    assert_eq!(browse.code(), 0, "{browse:?}");
    let seen: Vec<serde_json::Value> = browse
        .out
        .iter()
        .map(|line| serde_json::from_str(line).expect("one JSON line per instance"))
        .collect();
    let ours = seen
        .iter()
        .find(|instance| instance["name"] == "buzzer._circuit._tcp.local.")
        .unwrap_or_else(|| panic!("python-zeroconf lists the buzzer: {browse:?}"));
    assert_eq!(ours["port"], port, "{ours}");
    assert_eq!(
        ours["addresses"][0],
        net.host(1).addr().to_string(),
        "{ours}"
    );
    let txt = &ours["txt"];
    for (key, value) in [
        ("sketch", "buzzer"),
        ("kind", "buzzer"),
        ("takes", "u8"),
        ("tls", "0"),
        ("auth", "0"),
        ("v", "1"),
    ] {
        assert_eq!(txt[key], value, "TXT {key}: {ours}");
    }
    stop(buzzer);

    // Theirs: a plain websockets server that python-zeroconf registered on h2,
    // reached by our probe on h1 by its name alone.
    let address = net.host(2).addr().to_string();
    let mut server = net
        .host(2)
        .start(python, &[&script("serve.py"), "pyecho", &address]);
    server.wait_for(PATIENCE, |line| line.starts_with("serving"));
    let probe = net
        .host(1)
        .start(
            BIN,
            &["probe", "pyecho/any", "--count", "3", "--every", "0"],
        )
        .finish(PATIENCE);
    assert_eq!(probe.code(), 0, "{probe:?}");
    let said = probe.lines_of("probe");
    assert!(said.contains(&"< got 2"), "{probe:?}");
    assert!(
        said.iter()
            .any(|line| line.starts_with(&format!("pyecho is \"pyecho\" at ws://{address}:"))),
        "{probe:?}"
    );
    server.signal("TERM");
    let _ = server.finish(PATIENCE);
}

#[test]
fn beyond_one_segment_names_resolve_through_srv_records_of_a_dns_server() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let dnsmasq = Path::new("/usr/sbin/dnsmasq");
    if !dnsmasq.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no /usr/sbin/dnsmasq (apt-get install dnsmasq-base)"
        );
        eprintln!("!!! SKIPPED (needs dnsmasq): no /usr/sbin/dnsmasq !!!");
        return;
    }
    // A buzzer on h3 that does not advertise: only DNS can tell where it is.
    let mut buzzer = net.host(3).start(
        BIN,
        &["buzzer", "-s", "0.0.0.0", "-p", "0", "--no-advertise"],
    );
    let port = buzzer.port();
    let h3 = net.host(3).addr();
    let nobody = port.wrapping_add(1).max(1024);
    // h1 serves both forms: RFC 6763 unicast DNS-SD, and Kubernetes' SRV
    // records of a headless Service with two pods, the first one dead.
    let server = net.host(1).addr().to_string();
    let records = [
        format!("--srv-host=buzzer._circuit._tcp.circuit.test,buzzer-host.circuit.test,{port}"),
        "--txt-record=buzzer._circuit._tcp.circuit.test,sketch=buzzer,kind=buzzer,takes=u8,v=1"
            .to_owned(),
        format!("--host-record=buzzer-host.circuit.test,{h3}"),
        format!("--srv-host=_circuit._tcp.speaker.demo.svc.cluster.local,pod-a.speaker.demo.svc.cluster.local,{nobody},0,10"),
        format!("--srv-host=_circuit._tcp.speaker.demo.svc.cluster.local,pod-b.speaker.demo.svc.cluster.local,{port},0,5"),
        format!("--host-record=pod-a.speaker.demo.svc.cluster.local,{h3}"),
        format!("--host-record=pod-b.speaker.demo.svc.cluster.local,{h3}"),
    ];
    let mut args = vec![
        "--no-daemon".to_owned(),
        "--no-resolv".to_owned(),
        "--no-hosts".to_owned(),
        "--bind-interfaces".to_owned(),
        format!("--listen-address={server}"),
        "--port=53".to_owned(),
    ];
    args.extend(records);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dns = net.host(1).start(dnsmasq.to_str().unwrap(), &args);
    // dnsmasq logs to stderr; give it a moment to bind, bounded by the probes' own patience.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let discovery = format!("dns:{server}");
    let probe = |name: &str, domain: &str| {
        net.host(2)
            .start(
                BIN,
                &[
                    "probe",
                    name,
                    "--discovery",
                    &discovery,
                    "--domain",
                    domain,
                    "--count",
                    "2",
                    "--every",
                    "0",
                ],
            )
            .finish(PATIENCE)
    };
    let rfc = probe("buzzer/pin", "circuit.test");
    assert_eq!(rfc.code(), 0, "{rfc:?}");
    assert!(rfc.lines_of("probe").contains(&"< bzzz"), "{rfc:?}");
    let at = format!("buzzer is \"buzzer\" at ws://{h3}:{port}/pin");
    assert!(rfc.lines_of("probe").contains(&at.as_str()), "{rfc:?}");
    let pods = probe("speaker/pin", "demo.svc.cluster.local");
    assert_eq!(pods.code(), 0, "{pods:?}");
    assert!(
        pods.lines_of("probe")
            .iter()
            .any(|line| line.contains("speaker is now \"speaker (pod-b)\"")),
        "the dead pod was passed over for the live one: {pods:?}"
    );
    // A name the server does not know is a clear error that says what was asked.
    let unknown = probe("nobody", "circuit.test");
    assert_eq!(unknown.code(), 1, "{unknown:?}");
    let said = unknown.err.join("\n");
    assert!(
        said.contains("nobody._circuit._tcp.circuit.test.")
            && said.contains("_circuit._tcp.nobody.circuit.test."),
        "{unknown:?}"
    );
    dns.signal("TERM");
    let _ = dns.finish(PATIENCE);
    stop(buzzer);
}

#[test]
fn ls_lists_the_sketches_on_the_network_and_follows_arrivals_and_departures() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let mut buzzer = net.host(1).start(
        BIN,
        &["buzzer", "-s", "0.0.0.0", "-p", "0", "--token", "s3cret"],
    );
    let port = buzzer.port();
    buzzer.wait_for(PATIENCE, |line| line.contains("advertised as"));
    let mut watch = net.host(2).start(BIN, &["ls", "--watch", "--for", "3"]);
    let header = watch.wait_for(PATIENCE, |line| line.starts_with("NAME"));
    assert!(
        header.contains("ADDRESS") && header.contains("KIND (TAKES)"),
        "{header}"
    );
    let row = watch.wait_for(PATIENCE, |line| line.starts_with("buzzer "));
    let endpoint = format!("{}:{port}", net.host(1).addr());
    assert!(
        row.contains(&endpoint) && row.contains("buzzer (u8)"),
        "{row}"
    );
    assert!(row.ends_with("no  yes"), "no TLS, a token asked: {row}");
    // An arrival, then a departure (the echo says goodbye when it stops).
    let mut echo = net
        .host(1)
        .start(BIN, &["echo", "-s", "0.0.0.0", "-p", "0"]);
    echo.wait_for(PATIENCE, |line| line.contains("advertised as"));
    let arrived = watch.wait_for(PATIENCE, |line| line.starts_with("+ echo "));
    assert!(arrived.contains("echo (Payload)"), "{arrived}");
    stop(echo);
    watch.wait_for(PATIENCE, |line| line == "- echo");
    stop(watch);
    stop(buzzer);
}

#[test]
fn ls_watch_reports_a_sketch_that_restarted_at_a_new_address() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let mut watch = net.host(2).start(BIN, &["ls", "--watch", "--for", "1"]);
    watch.wait_for(PATIENCE, |line| line.starts_with("NAME"));
    let echo_on = |port: &str| {
        let mut echo = net
            .host(1)
            .start(BIN, &["echo", "-s", "0.0.0.0", "-p", port, "--advertise"]);
        let port = echo.port();
        echo.wait_for(PATIENCE, |line| line.contains("advertised as"));
        (echo, format!("{}:{port}", net.host(1).addr()))
    };
    let (first, at_first) = echo_on("0");
    let arrived = watch.wait_for(PATIENCE, |line| line.starts_with("+ echo "));
    assert!(arrived.contains(&at_first), "{arrived}");
    // Killed: no goodbye, so its records outlive it. The second run, on
    // another port, keeps the name.
    first.signal("KILL");
    let _ = first.finish(PATIENCE);
    let (second, at_second) = echo_on("0");
    assert_ne!(at_first, at_second);
    let moved = watch.wait_for(PATIENCE, |line| {
        line.starts_with("echo ") || line.starts_with("+ echo ") || line.starts_with("~ echo ")
    });
    assert!(
        moved.starts_with("~ echo ") && moved.contains(&at_second),
        "the move is reported, at the new address: {moved}"
    );
    stop(second);
    watch.wait_for(PATIENCE, |line| line == "- echo");
    stop(watch);
}

#[test]
fn the_circuit_across_hosts_runs_over_tls_its_certificates_for_its_sketches_names() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-hosts-{}", std::process::id()));
    let ca = Ca::new(&dir, "circuit-ca");
    let ca_pem = ca.pem.to_str().unwrap().to_owned();
    // Certificates name sketches, not hosts: each part holds the one of its sketch.
    let buzzer_cert = ca.issue("buzzer", &["buzzer"], false);
    let iopin_cert = ca.issue("iopin", &["iopin"], false);
    let tls = |cert: &Issued| {
        vec![
            "--tls-cert".to_owned(),
            cert.cert.to_str().unwrap().to_owned(),
            "--tls-key".to_owned(),
            cert.key.to_str().unwrap().to_owned(),
            "--ca".to_owned(),
            ca_pem.clone(),
        ]
    };
    let file = circuit_file("secure", 6, 0.05);
    let buzzer_flags = tls(&buzzer_cert);
    let buzzer_flags: Vec<&str> = buzzer_flags.iter().map(String::as_str).collect();
    let buzzer = part(&net, 3, &file, "h3", &buzzer_flags);
    let iopin_flags = tls(&iopin_cert);
    let iopin_flags: Vec<&str> = iopin_flags.iter().map(String::as_str).collect();
    let iopin = part(&net, 2, &file, "h2", &iopin_flags);
    let clock = net
        .host(1)
        .start(
            BIN,
            &[
                "up",
                file.to_str().unwrap(),
                "--host",
                "h1",
                "--ca",
                &ca_pem,
            ],
        )
        .finish(PATIENCE * 2);
    assert_eq!(clock.code(), 0, "{clock:?}");
    let ticks = clock.lines_of("clock");
    assert!(
        ticks.contains(&"6 ticks sent, 6 acknowledged, 0 resent"),
        "{clock:?}"
    );
    let on_h2 = format!("iopin is \"iopin\" at wss://{}:", net.host(2).addr());
    assert!(
        ticks.iter().any(|line| line.starts_with(&on_h2)),
        "over TLS, found by name: {clock:?}"
    );
    let iopin = ends(iopin);
    assert!(
        iopin
            .lines_of("iopin")
            .contains(&"link to buzzer/pin: 18 delivered"),
        "{iopin:?}"
    );
    let buzzer = ends(buzzer);
    assert!(
        buzzer
            .lines_of("buzzer")
            .iter()
            .any(|line| line.starts_with("serving on wss://")),
        "{buzzer:?}"
    );
}

#[test]
fn a_name_bound_to_localhost_on_another_host_says_so_and_how_to_fix_it() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    // Advertised on request, but bound to h1's loopback: mDNS announces it
    // on h1's loopback alone, and h2 hears nothing of it.
    let mut buzzer = net.host(1).start(
        BIN,
        &["buzzer", "-s", "127.0.0.1", "-p", "0", "--advertise"],
    );
    let warned = buzzer.wait_for(PATIENCE, |line| {
        line.contains("advertised on 127.0.0.1 alone")
    });
    assert!(warned.contains("-s 0.0.0.0"), "{warned}");
    let probe = net
        .host(2)
        .start(
            BIN,
            &["probe", "buzzer/pin", "-n", "1", "--resolve-timeout", "2"],
        )
        .finish(PATIENCE);
    assert_eq!(probe.code(), 1, "{probe:?}");
    let said = probe.err.join("\n");
    assert!(
        said.contains("no sketch called \"buzzer\" answered")
            && said.contains("a server bound to localhost (the default) is not advertised")
            && said.contains("-s 0.0.0.0"),
        "{said}"
    );
    stop(buzzer);
}

#[test]
fn a_name_seen_on_loopback_alone_that_does_not_answer_says_why() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    // python-zeroconf announces the address it is given to every machine:
    // 127.0.0.1, which is h1's own loopback when h1 dials it.
    let mut server = net
        .host(2)
        .start(&python, &[&script("serve.py"), "pyecho", "127.0.0.1"]);
    server.wait_for(PATIENCE, |line| line.starts_with("serving"));
    let probe = net
        .host(1)
        .start(
            BIN,
            &["probe", "pyecho/any", "-n", "1", "--resolve-timeout", "5"],
        )
        .finish(PATIENCE);
    assert_eq!(probe.code(), 1, "{probe:?}");
    let said = probe.err.join("\n");
    assert!(
        said.contains("pyecho at ws://127.0.0.1:")
            && said.contains("pyecho is advertised on loopback alone (bound to localhost)")
            && said.contains("start it there with -s 0.0.0.0"),
        "{said}"
    );
    server.signal("TERM");
    let _ = server.finish(PATIENCE);
}
