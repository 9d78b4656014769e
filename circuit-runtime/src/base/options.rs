//! The settings every sketch has, whatever its own: where it serves or
//! sends, what it accepts from peers, its token, its recording.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The flags every sketch has, whatever its own settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// `-s/--socket`: the host to serve on, or the host of the server to tick.
    pub socket: String,
    /// `-p/--port`: the port to serve on (0 picks a free one), or the server's port.
    pub port: u16,
    /// `-q/--quiet`: silence the per-message log lines.
    pub quiet: bool,
    /// `--retry-for`: how long a timer sketch keeps trying to reach its server.
    pub retry_for: Duration,
    /// What a server accepts from its peers.
    pub limits: Limits,
    /// `--token` (or `CIRCUIT_TOKEN`): the secret servers require and clients and links present.
    pub token: Option<Token>,
    /// Where to record this sketch's signals as a VCD file (`--vcd FILE`).
    pub vcd: Option<PathBuf>,
    /// How the sketch's links deliver (and how long a timer waits for an acknowledgement).
    pub links: LinkOptions,
    /// `--retain LINK`: the link settings (by field) whose links keep their
    /// last delivered message and send it first on every new connection.
    pub retain: Vec<&'static str>,
    /// `--stop-timeout`: how long a graceful stop may take to deliver what the links hold.
    pub stop_timeout: Duration,
    /// `--spool DIR`: where each link keeps what is not yet acknowledged,
    /// one file per link; `None` keeps it in memory only.
    pub spool: Option<PathBuf>,
    /// `--spool-max BYTES`: how many bytes of unacknowledged messages a
    /// link's spool may hold before `send` waits.
    pub spool_max: u64,
    /// Its name in a circuit, when that is not its kind's: log lines and signals carry it.
    pub named: Option<Arc<str>>,
    /// `--to`: where a timer sends, a `ws://` URL or a sketch's name, instead of `-s`/`-p`.
    pub to: Option<String>,
    /// `--advertise` / `--no-advertise`: whether a server announces itself by
    /// DNS-SD; `None` decides by where it binds (beyond loopback: yes).
    pub advertise: Option<bool>,
    /// The circuit a sketch is part of, for its DNS-SD record.
    pub circuit: Option<Arc<str>>,
    /// Its certificate files (`--tls-cert`, `--tls-key`, `--client-ca`, `--ca`).
    pub tls: TlsFiles,
    /// The name under which a server also takes peers of its own process over
    /// in-memory wires (`mem://NAME/PATH`), as the sketches of a circuit in one
    /// process do; `None` for none.
    pub in_process: Option<Arc<str>>,
    /// `--subscribe URL`: the MQTT topic filters (`mqtt://HOST/FILTER`, as
    /// checked when given) whose messages a server's loop takes too.
    pub subscribe: Vec<String>,
    /// `--reply-topic TEMPLATE`: where the acknowledgement of a subscribed
    /// message goes when its publisher named no response topic (`{topic}`
    /// stands for its topic); `None`: nowhere.
    pub reply_topic: Option<String>,
}

impl Options {
    /// The default of `--stop-timeout`.
    pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

    /// The default of `--spool-max`: 1 GiB.
    pub const SPOOL_MAX: u64 = 1 << 30;

    /// The defaults of a sketch whose default port is `port`, as if no flag were given.
    pub fn defaults(port: u16) -> Self {
        Options {
            socket: "localhost".to_owned(),
            port,
            quiet: false,
            retry_for: Duration::from_secs(10),
            limits: Limits::default(),
            token: None,
            vcd: None,
            links: LinkOptions::default(),
            retain: Vec::new(),
            stop_timeout: Self::STOP_TIMEOUT,
            spool: None,
            spool_max: Self::SPOOL_MAX,
            named: None,
            to: None,
            advertise: None,
            circuit: None,
            tls: TlsFiles::default(),
            in_process: None,
            subscribe: Vec::new(),
            reply_topic: None,
        }
    }
}

/// How a link delivers its messages: the same for every link of a sketch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkOptions {
    /// `--link-attempts`: connections that may end while carrying one message
    /// before that message is dead-lettered (logged, counted, skipped).
    pub attempts: u32,
    /// `--ack-timeout`: a peer that leaves a message unacknowledged this long is
    /// dropped, and what it did not acknowledge goes again on the next connection.
    /// Noticed within a quarter of it more: the silence is counted in checks,
    /// so that a busy link reads no clock per message.
    pub ack_timeout: Duration,
    /// `--link-window`: messages sent before the first is acknowledged. One is
    /// a strict request/answer; more keep a slow network busy.
    pub window: usize,
    /// `--resolve-timeout`: how long a sketch's name may take to answer (a
    /// link's or a timer's target given by name).
    pub resolve_timeout: Duration,
    /// `--when-full`: what `send` does when the link's queue is full.
    pub when_full: WhenFull,
}

/// What a link's `send` does when its queue is full (`--when-full`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// Waits for room: a slow, connecting or absent peer slows the sender,
    /// and nothing is dropped (`wait`, the default).
    #[default]
    Wait,
    /// Never waits: the message is dropped, counted and warned about (`drop`).
    Drop,
}

impl LinkOptions {
    /// The default window. Measured with `cargo bench -p circuit-bench -- --links`
    /// (2 cores, loopback, through a proxy delaying 5 ms each way): a window of
    /// 1 stays under 100 messages/s there, 16,384 reaches under half of what the
    /// same link does without the delay, 32,768 more than half. A link holds
    /// at most this many unacknowledged messages, and at most 1 MiB of their text.
    pub const WINDOW: usize = 32_768;
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            attempts: 5,
            ack_timeout: Duration::from_secs(10),
            window: Self::WINDOW,
            resolve_timeout: Duration::from_secs(5),
            when_full: WhenFull::Wait,
        }
    }
}

/// What a server accepts from its peers, so that no peer can exhaust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `--max-message`: the largest message (and frame) in bytes; larger ones close with 1009.
    pub max_message: usize,
    /// `--max-clients`: peers served at once; more are refused with HTTP 503.
    pub max_clients: usize,
    /// `--handshake-timeout`: a peer that has not finished its handshake by then is dropped.
    pub handshake_timeout: Duration,
    /// `--ping-interval`: a peer silent this long (within a quarter of it more)
    /// is pinged, and dropped if it stays silent as long again; zero turns
    /// keepalive off.
    pub ping_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 64 * 1024,
            max_clients: 1024,
            handshake_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
        }
    }
}

/// The certificate files of one side: its chain and key, and the CA of the
/// other side (for a server, of its clients; for a client, of its servers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tls-cert FILE`: this side's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// `--tls-key FILE`: its private key (PEM).
    pub key: Option<PathBuf>,
    /// `--client-ca FILE`, on a server: the CA whose client certificates it requires.
    pub client_ca: Option<PathBuf>,
    /// `--ca FILE`, on a client: the CA to trust instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// `--allow-plaintext-token`: send a token over plain `ws://` beyond loopback.
    pub allow_plaintext_token: bool,
}

/// The environment variable that gives `--token` when the flag is absent.
pub const TOKEN_VAR: &str = "CIRCUIT_TOKEN";

/// A shared secret (`--token` or `CIRCUIT_TOKEN`): servers refuse peers
/// without it, and clients and links present it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// A token with this secret text.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into().into())
    }

    /// The secret itself, for the handshake; never for a log line.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)") // never print the secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", Token::new("s3cret")), "Token(…)");
    }
}
