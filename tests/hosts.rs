//! The network-namespace harness itself (`support/netns.rs`): hosts on one
//! switch reach each other over TCP and nothing of the machine's own, a
//! multicast datagram to the mDNS group crosses the switch, a pulled cable
//! cuts a host off until it is plugged back, and dropping a network removes
//! its namespaces, also when a test panics, and a later sweep removes those
//! of a dead process. Needs root; otherwise skipped with one loud line,
//! except with `CI=true`. The hosts' programs are python3 one-liners.

mod support;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use support::netns::{self, Host, Network};
use support::PATIENCE;

/// On `ARGV[1]`, any free port: say the port, echo one message, say who sent it.
const ECHO_SERVER: &str = r#"
import socket, sys
server = socket.create_server((sys.argv[1], 0))
server.settimeout(15)
print("listening", server.getsockname()[1], flush=True)
conn, (peer, _) = server.accept()
conn.settimeout(15)
conn.sendall(conn.recv(100))
print("echoed to", peer, flush=True)
"#;

/// Connects to `ARGV[1]:ARGV[2]` within `ARGV[3]` seconds, sends `ARGV[4]`
/// and prints the answer, or prints why it could not connect.
const CLIENT: &str = r#"
import socket, sys
try:
    conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
except OSError as error:
    print("failed", type(error).__name__, error.errno, flush=True)
    sys.exit(0)
conn.sendall(sys.argv[4].encode())
print("got", conn.recv(100).decode(), flush=True)
"#;

/// Joins the mDNS group on the host's address `ARGV[1]` and prints the first
/// datagram to 224.0.0.251:5353 and its sender, or times out.
const MDNS_LISTENER: &str = r#"
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("", 5353))
group = socket.inet_aton("224.0.0.251") + socket.inet_aton(sys.argv[1])
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
sock.settimeout(10)
print("joined", flush=True)
data, (sender, _) = sock.recvfrom(1500)
print("received", data.decode(), "from", sender, flush=True)
"#;

/// Sends `ARGV[1]` to 224.0.0.251:5353. No interface is chosen: the host's
/// multicast route must carry it.
const MDNS_SENDER: &str = r#"
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(sys.argv[1].encode(), ("224.0.0.251", 5353))
print("sent", flush=True)
"#;

/// Runs `SCRIPT ARGS…` on `host` to its end and returns its stdout lines.
fn python(host: &Host, script: &str, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["-c", script];
    argv.extend_from_slice(args);
    let done = host.start("python3", &argv).finish(PATIENCE);
    assert!(
        done.status.success(),
        "python3 on {}: {done:?}",
        host.name()
    );
    done.out
}

/// Starts the echo server on `host` and returns it with its port.
fn echo_server(host: &Host) -> (support::Running, String) {
    let addr = host.addr().to_string();
    let mut server = host.start("python3", &["-c", ECHO_SERVER, &addr]);
    let line = server.wait_for(PATIENCE, |line| line.starts_with("listening "));
    let port = line["listening ".len()..].to_owned();
    (server, port)
}

#[test]
fn two_hosts_talk_over_tcp_and_cannot_reach_the_machine() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let (h1, h2) = (net.host(1), net.host(2));
    let (server, port) = echo_server(h2);
    let answer = python(
        h1,
        CLIENT,
        &[&h2.addr().to_string(), &port, "5", "ping-from-h1"],
    );
    assert_eq!(answer, ["got ping-from-h1"]);
    let server = server.finish(PATIENCE);
    // It came from h1's own address, over the switch.
    assert_eq!(
        server.out.last().unwrap(),
        &format!("echoed to {}", h1.addr())
    );

    // A service of the machine, listening on every address of its namespace.
    let machine = TcpListener::bind("0.0.0.0:0").unwrap();
    machine.set_nonblocking(true).unwrap();
    let port = machine.local_addr().unwrap().port().to_string();
    // 127.0.0.1 in h1 is h1's own loopback (up, and nobody listens there) …
    let loopback = python(h1, CLIENT, &["127.0.0.1", &port, "2", "x"]);
    assert_eq!(loopback, ["failed ConnectionRefusedError 111"]);
    // … and the machine's own addresses are off the network: no route there.
    for address in machine_addresses() {
        let outside = python(h1, CLIENT, &[&address.to_string(), &port, "2", "x"]);
        assert_eq!(outside.len(), 1, "{outside:?}");
        assert!(outside[0].starts_with("failed "), "{address}: {outside:?}");
    }
    // Any address off the test subnet (here TEST-NET-1): no route, refused at once.
    let outside = python(h1, CLIENT, &["192.0.2.1", &port, "2", "x"]);
    assert_eq!(outside, ["failed OSError 101"], "network unreachable");
    match machine.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the machine's service was reached: {other:?}"),
    }
}

#[test]
fn a_multicast_datagram_to_the_mdns_group_crosses_the_switch() {
    let Some(net) = Network::create_or_skip(3) else {
        return;
    };
    let bridge = netns::ip(&format!("-n {} -d link show br0", net.switch())).unwrap();
    assert!(bridge.contains(" mcast_snooping 0 "), "{bridge}");
    let (h1, h3) = (net.host(1), net.host(3));
    let mut listener = h3.start("python3", &["-c", MDNS_LISTENER, &h3.addr().to_string()]);
    listener.wait_for(PATIENCE, |line| line == "joined");
    assert_eq!(python(h1, MDNS_SENDER, &["hello-mdns"]), ["sent"]);
    let listener = listener.finish(PATIENCE);
    assert!(listener.status.success(), "{listener:?}");
    assert_eq!(
        listener.out.last().unwrap(),
        &format!("received hello-mdns from {}", h1.addr())
    );
}

#[test]
fn an_unplugged_host_is_cut_off_until_plugged_back() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let (h1, h2) = (net.host(1), net.host(2));
    let (server, port) = echo_server(h2);
    let h2_addr = h2.addr().to_string();
    h1.unplug().unwrap();
    // Silence, as with a pulled cable: the connection attempt times out.
    let cut_off = python(h1, CLIENT, &[&h2_addr, &port, "1", "lost"]);
    assert_eq!(cut_off.len(), 1, "{cut_off:?}");
    assert!(cut_off[0].starts_with("failed TimeoutError"), "{cut_off:?}");
    h1.plug().unwrap();
    let answer = python(h1, CLIENT, &[&h2_addr, &port, "5", "back-again"]);
    assert_eq!(answer, ["got back-again"]);
    assert!(server.finish(PATIENCE).status.success());
}

#[test]
fn dropping_the_network_removes_its_namespaces_and_processes() {
    let Some(net) = Network::create_or_skip(2) else {
        return;
    };
    let names = net.namespaces().to_vec();
    assert_eq!(names.len(), 3, "the switch and two hosts: {names:?}");
    let listed = netns::listed().unwrap();
    assert!(names.iter().all(|name| listed.contains(name)), "{listed:?}");
    let mut sleeper = net.host(1).run("sleep", &["60"]);
    drop(net);
    let listed = netns::listed().unwrap();
    assert!(
        names.iter().all(|name| !listed.contains(name)),
        "{listed:?}"
    );
    // What ran inside was killed, not left running in a nameless namespace.
    let deadline = Instant::now() + PATIENCE;
    while sleeper.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the sleeper outlived its network"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_panicking_test_leaves_no_namespace_behind() {
    if Network::create_or_skip(0).is_none() {
        return;
    }
    let mut names = Vec::new();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let net = Network::create(1).unwrap();
        names = net.namespaces().to_vec();
        panic!("a test failing with its network up");
    }));
    assert!(panicked.is_err());
    assert_eq!(names.len(), 2, "{names:?}");
    let listed = netns::listed().unwrap();
    assert!(
        names.iter().all(|name| !listed.contains(name)),
        "{listed:?}"
    );
}

#[test]
fn the_sweep_removes_namespaces_of_dead_processes_only() {
    let Some(net) = Network::create_or_skip(1) else {
        return;
    };
    // A pid above the kernel's maximum belongs to no process, now or later.
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Named apart from other test processes that may run this at the same
    // time; their sweeps may remove it first, so only its absence is asserted.
    let stale = format!("circuit-test-{}-{}-h1", pid_max + 1, std::process::id());
    netns::ip(&format!("netns add {stale}")).unwrap();
    let swept = netns::sweep_stale();
    let listed = netns::listed().unwrap();
    let left = listed.contains(&stale);
    if left {
        let _ = netns::ip(&format!("netns del {stale}"));
    }
    assert!(!left, "not swept: {swept:?} {listed:?}");
    // This process is alive: its networks stay.
    assert!(swept.iter().all(|name| !net.namespaces().contains(name)));
    assert!(net.namespaces().iter().all(|name| listed.contains(name)));
}

/// The machine's own IPv4 addresses besides loopback, from its namespace.
fn machine_addresses() -> Vec<Ipv4Addr> {
    // Lines like `2: eth0    inet 10.0.0.5/24 brd … scope global eth0`.
    netns::ip("-4 -o addr show scope global")
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|word| *word == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect()
}
