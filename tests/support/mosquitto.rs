//! A real MQTT broker for a test: Debian's mosquitto (2.0.11 here) on
//! 127.0.0.1 with an ephemeral port, configured from files written into a
//! folder of its own, stopped, killed and restarted on the same port, and
//! `mosquitto_sub` as a subscriber that counts what it got. Tests call
//! [`Broker::skip_reason`] first: without mosquitto they skip with one loud
//! line, except with `CI=true`, where they must run.
//!
//! What mosquitto 2.0.11 does, as found with `mosquitto_sub -d`:
//! - An `acl_file` ([`BrokerBuilder::acl`]) never refuses a SUBSCRIBE: the
//!   SUBACK grants it (code 0, under MQTT 3.1.1 and 5 alike) and the broker
//!   only leaves out, at delivery, the messages the file does not let the
//!   client read. To have a subscription *refused*, use
//!   [`BrokerBuilder::deny_subscribe`] (the dynamic-security plugin): its
//!   SUBACK says 0x80 (128, "failure") under MQTT 3.1.1 and 0x87 (135, "not
//!   authorized") under MQTT 5.
//! - Started as root it drops to the user `mosquitto`, which could then not
//!   write its log or database into the test's folder: the configuration
//!   says `user root` then (and mosquitto warns about it on stderr).
//! - SIGTERM makes it write its database (sessions, subscriptions, queued
//!   QoS 1 and 2 messages, retained messages) before it exits; SIGKILL
//!   loses whatever was not saved (it saves only on exit, as no
//!   `autosave_interval` is set).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::certs::Issued;
use super::{start_program, Running, PATIENCE};

/// The broker's binary, as Debian installs it.
pub const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// The plugin behind [`BrokerBuilder::deny_subscribe`], shipped with Debian's mosquitto.
const DYNSEC: &str = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

/// How often a start is tried when another process took the chosen port
/// between our probe and mosquitto's bind.
const START_TRIES: usize = 5;

/// A running (or stopped) mosquitto of one test; dropping it kills the
/// broker and removes its folder.
pub struct Broker {
    /// Its folder: configuration, password and ACL files, log, database.
    dir: PathBuf,
    /// The plain MQTT port.
    port: u16,
    /// The TLS port, when [`BrokerBuilder::tls`] asked for one.
    tls_port: Option<u16>,
    /// What the configuration is made from, to write it again for new ports.
    builder: BrokerBuilder,
    /// The broker process, `None` while stopped.
    child: Option<Child>,
}

/// The options of a [`Broker`], set before it starts.
pub struct BrokerBuilder {
    /// Whether clients without a user name may connect.
    allow_anonymous: bool,
    /// Users and their passwords, for a password file.
    users: Vec<(String, String)>,
    /// The text of an ACL file.
    acl: Option<String>,
    /// Topic filters whose subscription the broker refuses.
    deny_subscribe: Vec<String>,
    /// The certificate and key of a TLS listener, and the CA file clients trust.
    tls: Option<(Issued, PathBuf)>,
    /// Whether the broker keeps its state on disk across [`Broker::restart`].
    persistence: bool,
}

impl Broker {
    /// Why the broker tests cannot run here (no mosquitto), or `None` when
    /// they can. With `CI=true` a missing broker panics instead, since CI
    /// must run them; otherwise it prints one loud line (straight to stderr:
    /// the harness captures `eprintln!` of passing tests).
    pub fn skip_reason() -> Option<String> {
        static REASON: OnceLock<Option<String>> = OnceLock::new();
        let reason = REASON
            .get_or_init(|| {
                let missing: Vec<&str> = [
                    MOSQUITTO,
                    "/usr/bin/mosquitto_sub",
                    "/usr/bin/mosquitto_pub",
                ]
                .into_iter()
                .filter(|path| !Path::new(path).exists())
                .collect();
                (!missing.is_empty()).then(|| {
                    format!(
                        "no {} (apt-get install mosquitto mosquitto-clients)",
                        missing.join(", ")
                    )
                })
            })
            .clone()?;
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true, but the MQTT tests cannot run: {reason}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "!!! SKIPPED (needs mosquitto): {reason} !!!"
        );
        Some(reason)
    }

    /// The options, all at their defaults: anonymous clients allowed, no
    /// ACL, no TLS, persistence on.
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder {
            allow_anonymous: true,
            users: Vec::new(),
            acl: None,
            deny_subscribe: Vec::new(),
            tls: None,
            persistence: true,
        }
    }

    /// A broker with the default options, started.
    pub fn start() -> Broker {
        Broker::builder().start()
    }

    /// The plain MQTT port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS port on 127.0.0.1; panics when the broker has no TLS listener.
    pub fn tls_port(&self) -> u16 {
        self.tls_port.expect("a broker built with .tls(…)")
    }

    /// `mqtt://127.0.0.1:PORT/TOPIC`.
    pub fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }

    /// The CA file that verifies the TLS listener's certificate.
    pub fn tls_ca(&self) -> &Path {
        &self
            .builder
            .tls
            .as_ref()
            .expect("a broker built with .tls(…)")
            .1
    }

    /// Its folder (configuration, log, database).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything the broker logged so far (`log_type all`), then what it
    /// wrote to stderr: for the message of a failing test.
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default();
        let stderr = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        format!("mosquitto.log:\n{log}\nstderr:\n{stderr}")
    }

    /// Whether the broker process is running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the broker with SIGTERM, as a service manager would: it saves
    /// its database first. Waits (bounded) until it has exited.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: a signal to our own child, which has not been reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert!(
                    status.success(),
                    "mosquitto exited with {status}; {}",
                    self.log()
                );
                return;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mosquitto did not stop within {PATIENCE:?}; {}", self.log());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the broker with SIGKILL: whatever it did not save is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped (or killed) broker again with the same ports and
    /// configuration, its database read back when persistence is on. Retries
    /// for a while (bounded) when the port is not free yet.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() after stop() or kill()");
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.spawn() {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    thread::sleep(Duration::from_millis(200));
                }
                Err(error) => panic!("mosquitto does not start again: {error}; {}", self.log()),
            }
        }
    }

    /// `mosquitto_sub` (with `-d`, which says when the SUBACK came) against
    /// this broker, with `args` after the host and port. Returns at once.
    pub fn mosquitto_sub(&self, args: &[&str]) -> Running {
        let port = self.port.to_string();
        let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-d"];
        all.extend_from_slice(args);
        client("mosquitto_sub", &all)
    }

    /// A subscriber to `topic` at QoS 1 that exits after `count` messages
    /// (`mosquitto_sub -C N -q 1 -t TOPIC -v`), returned once its SUBACK came.
    /// [`messages`] picks its `TOPIC PAYLOAD` lines out of its output.
    pub fn counting_sub(&self, topic: &str, count: usize) -> Running {
        let count = count.to_string();
        let mut sub = self.mosquitto_sub(&["-C", &count, "-q", "1", "-t", topic, "-v"]);
        let line = sub.wait_for(PATIENCE, |line| line.starts_with("Subscribed (mid"));
        assert!(
            line.ends_with(": 1"),
            "QoS 1 granted: {line}; {}",
            self.log()
        );
        sub
    }

    /// Starts mosquitto for this broker's configuration once; an error when
    /// it exits before it accepts connections (a port taken, say).
    fn spawn(&mut self) -> Result<Child, String> {
        let config = self
            .builder
            .write_config(&self.dir, self.port, self.tls_port);
        let stderr = std::fs::File::create(self.dir.join("stderr.log")).unwrap();
        let mut child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().unwrap())
            .stderr(stderr)
            .spawn()
            .map_err(|error| format!("{MOSQUITTO} starts: {error}"))?;
        let deadline = Instant::now() + PATIENCE;
        let ports = [Some(self.port), self.tls_port];
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return Err(format!("mosquitto exited with {status}"));
            }
            let accepting = ports.iter().flatten().all(|&port| {
                TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_ok()
            });
            if accepting {
                return Ok(child);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "mosquitto accepted no connection within {PATIENCE:?}"
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        // A failing test's broker keeps its folder (its log says why it failed).
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl BrokerBuilder {
    /// Whether clients without a user name may connect (default true).
    pub fn allow_anonymous(mut self, allow: bool) -> BrokerBuilder {
        self.allow_anonymous = allow;
        self
    }

    /// Clients must log in as one of `users` (name, password): a password
    /// file made with `mosquitto_passwd -b`, and no anonymous clients.
    pub fn users(mut self, users: &[(&str, &str)]) -> BrokerBuilder {
        self.users = users
            .iter()
            .map(|(user, password)| (user.to_string(), password.to_string()))
            .collect();
        self.allow_anonymous = false;
        self
    }

    /// An ACL file with `text` (`topic read a/#`, `user alice`, …). Note that
    /// mosquitto 2.0.11 grants every SUBSCRIBE anyway and filters at delivery
    /// (see the top of this file); [`BrokerBuilder::deny_subscribe`] refuses.
    pub fn acl(mut self, text: &str) -> BrokerBuilder {
        self.acl = Some(text.to_string());
        self
    }

    /// The broker refuses (in its SUBACK) a subscription to any filter
    /// matching one of `filters`, for anonymous clients: the dynamic-security
    /// plugin with a role that denies `subscribePattern`. Not combined with
    /// [`BrokerBuilder::users`] or [`BrokerBuilder::acl`].
    pub fn deny_subscribe(mut self, filters: &[&str]) -> BrokerBuilder {
        self.deny_subscribe = filters.iter().map(|filter| filter.to_string()).collect();
        self
    }

    /// A TLS listener too, with `cert` (issued by the test's CA, for
    /// 127.0.0.1) and `ca` (that CA's PEM): see [`Broker::tls_port`].
    pub fn tls(mut self, cert: &Issued, ca: &Path) -> BrokerBuilder {
        let issued = Issued {
            cert: cert.cert.clone(),
            key: cert.key.clone(),
        };
        self.tls = Some((issued, ca.to_path_buf()));
        self
    }

    /// Whether the broker saves sessions, subscriptions and queued messages
    /// in its folder on SIGTERM and reads them back on restart (default true).
    pub fn persistence(mut self, on: bool) -> BrokerBuilder {
        self.persistence = on;
        self
    }

    /// Writes the files into a fresh folder and starts the broker on free
    /// ports; panics with its log when it cannot.
    pub fn start(self) -> Broker {
        assert!(
            self.deny_subscribe.is_empty() || (self.users.is_empty() && self.acl.is_none()),
            "deny_subscribe is not combined with users or acl"
        );
        static BROKERS: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "mqtt-{}-{}",
            std::process::id(),
            BROKERS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        self.write_files(&dir);
        let mut broker = Broker {
            dir,
            port: 0,
            tls_port: None,
            builder: self,
            child: None,
        };
        let mut errors = Vec::new();
        for _ in 0..START_TRIES {
            // A port the kernel just handed out and took back; another
            // process may take it before mosquitto binds it: then try again.
            broker.port = free_port();
            broker.tls_port = broker.builder.tls.is_some().then(free_port);
            match broker.spawn() {
                Ok(child) => {
                    broker.child = Some(child);
                    return broker;
                }
                Err(error) => errors.push(error),
            }
        }
        panic!("mosquitto does not start: {errors:?}; {}", broker.log());
    }

    /// The password, ACL and dynamic-security files, written once.
    fn write_files(&self, dir: &Path) {
        let passwords = dir.join("passwords");
        for (index, (user, password)) in self.users.iter().enumerate() {
            let mut command = Command::new("mosquitto_passwd");
            if index == 0 {
                command.arg("-c");
            }
            let output = command
                .arg("-b")
                .arg(&passwords)
                .args([user, password])
                .output()
                .expect("mosquitto_passwd runs");
            assert!(output.status.success(), "mosquitto_passwd: {output:?}");
        }
        if let Some(acl) = &self.acl {
            std::fs::write(dir.join("acl"), acl).unwrap();
        }
        if !self.deny_subscribe.is_empty() {
            let acls: Vec<String> = self
                .deny_subscribe
                .iter()
                .map(|filter| {
                    format!(
                        r#"{{"acltype": "subscribePattern", "topic": {filter:?}, "priority": 0, "allow": false}}"#
                    )
                })
                .collect();
            let dynsec = format!(
                r#"{{
  "defaultACLAccess": {{"publishClientSend": true, "publishClientReceive": true, "subscribe": true, "unsubscribe": true}},
  "clients": [],
  "groups": [{{"groupname": "anonymous", "roles": [{{"rolename": "denying"}}]}}],
  "roles": [{{"rolename": "denying", "acls": [{}]}}],
  "anonymousGroup": "anonymous"
}}
"#,
                acls.join(", ")
            );
            std::fs::write(dir.join("dynsec.json"), dynsec).unwrap();
        }
    }

    /// `mosquitto.conf` for these ports; returns its path.
    fn write_config(&self, dir: &Path, port: u16, tls_port: Option<u16>) -> PathBuf {
        let dir_text = dir.to_str().expect("a UTF-8 temp folder");
        let mut config = String::new();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            config.push_str("user root\n");
        }
        config.push_str(&format!(
            "log_dest file {dir_text}/mosquitto.log\nlog_type all\n"
        ));
        if self.persistence {
            config.push_str(&format!(
                "persistence true\npersistence_location {dir_text}/\n"
            ));
        } else {
            config.push_str("persistence false\n");
        }
        config.push_str(&format!("allow_anonymous {}\n", self.allow_anonymous));
        if !self.users.is_empty() {
            config.push_str(&format!("password_file {dir_text}/passwords\n"));
        }
        if self.acl.is_some() {
            config.push_str(&format!("acl_file {dir_text}/acl\n"));
        }
        if !self.deny_subscribe.is_empty() {
            config.push_str(&format!(
                "plugin {DYNSEC}\nplugin_opt_config_file {dir_text}/dynsec.json\n"
            ));
        }
        config.push_str(&format!("listener {port} 127.0.0.1\n"));
        if let (Some((cert, ca)), Some(tls_port)) = (&self.tls, tls_port) {
            config.push_str(&format!(
                "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
                ca.display(),
                cert.cert.display(),
                cert.key.display()
            ));
        }
        let path = dir.join("mosquitto.conf");
        std::fs::write(&path, config).unwrap();
        path
    }
}

/// Runs one of mosquitto's clients (`mosquitto_sub`, `mosquitto_pub`) with
/// `args`, its stdout line-buffered (`stdbuf -oL`): into a pipe it would
/// otherwise hold its `-d` lines, the SUBACK's among them, in its buffer.
pub fn client(program: &str, args: &[&str]) -> Running {
    let mut all = vec!["-oL", program];
    all.extend_from_slice(args);
    start_program("stdbuf", &all)
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `TOPIC PAYLOAD` lines of a `mosquitto_sub -d -v`, without its
/// debugging lines (`Client … received PUBLISH …`, `Subscribed (mid: 1): 1`).
pub fn messages(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(String::as_str)
        .filter(|line| !line.starts_with("Client ") && !line.starts_with("Subscribed (mid"))
        .collect()
}
