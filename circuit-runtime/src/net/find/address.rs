//! Where a link, a timer or the probe connects: a `ws://` URL, or the name of
//! a sketch found by DNS-SD (`buzzer`, `buzzer/pin`, or `dns-sd:buzzer/pin`
//! written out). The `Dialer` turns either into a connection, resolving a
//! name again on every connection, and moving on to another instance of the
//! name at once when one does not answer or was just lost.

use std::fmt;
use std::time::Duration;

use tokio::time::{sleep, Instant};

use crate::base::features::{enabled, missing, require, Feature};
use crate::base::options::Token;
use crate::net::find::discovery;
use crate::net::find::mdns;
use crate::net::find::unicast;
use crate::net::mqtt::url::{MqttUrl, TopicUse};
use crate::net::wire::dial::{dial, Backoff, DialError};
use crate::net::wire::resume::Resume;
use crate::net::wire::socket::Socket;

/// The explicit form of a name: what a circuit file writes for a sketch
/// outside it (inside one, a bare name is a sketch of the file).
pub const NAME_PREFIX: &str = "dns-sd:";

/// How long an instance that failed stays at the back of the line.
const AVOID_FOR: Duration = Duration::from_secs(60);

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A `ws://host:port/path` (or `wss://`) URL.
    Url(String),
    /// A sketch's name, resolved by DNS-SD, and the path to ask for.
    Name {
        /// The sketch's name (or a DNS-SD instance name, `iopin (2)`).
        sketch: String,
        /// The path, `/` unless given.
        path: String,
    },
    /// A topic on an MQTT broker: `mqtt://[USER@]HOST[:PORT]/TOPIC`.
    Mqtt(MqttUrl),
}

impl Address {
    /// A `ws://` URL, or a sketch's name with an optional path.
    ///
    /// # Errors
    /// When it is neither.
    pub fn parse(text: &str) -> Result<Address, String> {
        if MqttUrl::is_mqtt(text) {
            return MqttUrl::parse(text, TopicUse::Publish).map(Address::Mqtt);
        }
        if let Some(rest) = text
            .strip_prefix("ws://")
            .or_else(|| text.strip_prefix("wss://"))
            .or_else(|| text.strip_prefix(crate::net::wire::memory::SCHEME))
        {
            if rest.is_empty() || rest.starts_with('/') {
                return Err(format!("{text:?} has no host"));
            }
            if text.starts_with("wss://") {
                require(Feature::Tls, "wss://")?;
            }
            return Ok(Address::Url(text.to_owned()));
        }
        if text.contains("://") {
            return Err(format!(
                "{text:?} is not a WebSocket URL (ws:// or wss://host:port/path), an MQTT URL (mqtt://host/topic) nor a sketch's name"
            ));
        }
        let name = text.strip_prefix(NAME_PREFIX).unwrap_or(text);
        let (sketch, path) = match name.split_once('/') {
            Some((sketch, path)) => (sketch, format!("/{path}")),
            None => (name, "/".to_owned()),
        };
        let fine = !sketch.is_empty()
            && sketch
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')' | '@'));
        if !fine {
            return Err(format!(
                "{text:?} is not a WebSocket URL (ws://host:port/path) nor a sketch's name (such as buzzer or buzzer/pin)"
            ));
        }
        if !enabled(Feature::Discovery) && !enabled(Feature::Dns) {
            return Err(missing(
                Feature::Discovery,
                &format!("{text:?}, a sketch's name instead of a ws:// URL,"),
            ));
        }
        Ok(Address::Name {
            sketch: sketch.to_owned(),
            path,
        })
    }

    /// The address with `path` for a name (or an in-process wire) given without one.
    pub fn with_default_path(self, default: &str) -> Address {
        match self {
            Address::Url(url)
                if url
                    .strip_prefix(crate::net::wire::memory::SCHEME)
                    .is_some_and(|rest| !rest.contains('/')) =>
            {
                Address::Url(format!("{url}{default}"))
            }
            Address::Name { sketch, path } if path == "/" => Address::Name {
                sketch,
                path: default.to_owned(),
            },
            other => other,
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Url(url) => f.write_str(url),
            Address::Name { sketch, path } if path == "/" => f.write_str(sketch),
            Address::Name { sketch, path } => write!(f, "{sketch}{path}"),
            Address::Mqtt(url) => write!(f, "{url}"),
        }
    }
}

/// Connects to an [`Address`], one attempt at a time.
pub(crate) struct Dialer {
    /// Where to.
    address: Address,
    /// How long a name may take to answer.
    resolve_timeout: Duration,
    /// The instance connected to last, for "a standby took over" and for
    /// putting it last after the connection was lost.
    current: Option<String>,
    /// Instances that failed lately, and until when they go last.
    avoid: Vec<(String, Instant)>,
}

impl Dialer {
    /// A dialer for `address`, giving a name `resolve_timeout` to answer.
    pub(crate) fn new(address: Address, resolve_timeout: Duration) -> Dialer {
        Dialer {
            address,
            resolve_timeout,
            current: None,
            avoid: Vec::new(),
        }
    }

    /// Where it connects, as given.
    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    /// One attempt: the URL, or each instance of the name in turn (those that
    /// failed lately last) until one answers.
    ///
    /// # Errors
    /// Why the last try failed (no instance answered the name, or none took
    /// the connection); a refusal when one of them refused us (its
    /// certificate failed its check, or our token) and none took us.
    pub(crate) async fn dial(&mut self, token: Option<&Token>) -> Result<Socket, DialError> {
        self.dial_resuming(token, None).await
    }

    /// As [`Dialer::dial`], for a link: every attempt says where the link's
    /// stream resumes (`Circuit-Link`, `Circuit-Next`).
    ///
    /// # Errors
    /// As [`Dialer::dial`].
    pub(crate) async fn dial_resuming(
        &mut self,
        token: Option<&Token>,
        resume: Option<Resume>,
    ) -> Result<Socket, DialError> {
        let (sketch, path) = match &self.address {
            Address::Url(url) => return dial(url, None, token, resume).await,
            Address::Name { sketch, path } => (sketch.clone(), path.clone()),
            Address::Mqtt(url) => {
                return Err(DialError::Refused(format!(
                    "{url} is an MQTT broker, not a WebSocket server"
                )))
            }
        };
        let resolved = match unicast::server() {
            Some(dns) => dns.resolve(&sketch, self.resolve_timeout).await,
            None => mdns::resolve(&sketch, self.resolve_timeout).await,
        };
        let mut found = resolved.map_err(DialError::Absent)?;
        let now = Instant::now();
        self.avoid.retain(|(_, until)| *until > now);
        // Stable: the resolution's order among equals.
        found.sort_by_key(|seen| {
            self.avoid
                .iter()
                .any(|(avoided, _)| *avoided == seen.instance)
        });
        let mut last_error = DialError::Absent(String::new());
        for seen in &found {
            for url in seen.urls(&path) {
                // A certificate is checked against the sketch's name: a name
                // is not an identity until its certificate says so.
                match dial(&url, Some(&seen.sketch), token, resume).await {
                    Ok(socket) => {
                        self.connected(&sketch, seen, &url, found.len());
                        return Ok(socket);
                    }
                    Err(DialError::Refused(why)) => {
                        tracing::warn!("{} at {url} refused: {why}", seen.instance);
                        last_error =
                            DialError::Refused(format!("{} at {url}: {why}", seen.instance));
                    }
                    Err(DialError::Absent(why)) if !last_error.is_refusal() => {
                        // A loopback address is this machine's own: the
                        // sketch's, only if it runs here.
                        let hint = if seen.addrs.iter().all(|addr| addr.is_loopback()) {
                            format!("; {} is {}", seen.instance, discovery::SEEN_ON_LOOPBACK)
                        } else {
                            String::new()
                        };
                        last_error =
                            DialError::Absent(format!("{} at {url}: {why}{hint}", seen.instance));
                    }
                    Err(DialError::Absent(_)) => {}
                }
            }
            self.avoid(&seen.instance);
        }
        Err(last_error)
    }

    /// Connects, retrying with backoff until `patience` has passed. On
    /// failure, the last error. Says once that it is waiting, so that a user
    /// knows why nothing happens.
    ///
    /// # Errors
    /// Why the last attempt failed; a refusal at once, since trying again
    /// cannot mend it.
    pub(crate) async fn dial_within(
        &mut self,
        token: Option<&Token>,
        patience: Duration,
    ) -> Result<Socket, DialError> {
        let deadline = Instant::now() + patience;
        let mut backoff = Backoff::new();
        let mut said = false;
        loop {
            let error = match self.dial(token).await {
                Ok(socket) => return Ok(socket),
                Err(error) if error.is_refusal() => return Err(error),
                Err(error) => error,
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(error);
            }
            if !said {
                tracing::warn!(
                    "no server at {} yet ({error}); retrying for up to {:.1}s",
                    self.address,
                    patience.as_secs_f64()
                );
                said = true;
            }
            let wait = backoff.next_wait().min(deadline - now);
            tracing::debug!("retrying {} in {}ms", self.address, wait.as_millis());
            sleep(wait).await;
        }
    }

    /// The connection made last was lost: its instance goes last next time,
    /// so that a standby takes over at once.
    pub(crate) fn lost(&mut self) {
        if let Some(instance) = self.current.take() {
            self.avoid(&instance);
        }
    }

    /// Puts `instance` at the back of the line for a while.
    fn avoid(&mut self, instance: &str) {
        self.avoid.retain(|(avoided, _)| avoided != instance);
        self.avoid
            .push((instance.to_owned(), Instant::now() + AVOID_FOR));
    }

    /// Says which instance a name reached, once per instance.
    fn connected(&mut self, sketch: &str, seen: &discovery::Seen, url: &str, instances: usize) {
        let first = self.current.is_none() && self.avoid.is_empty();
        if self.current.as_deref() != Some(seen.instance.as_str()) {
            let others = match instances {
                1 => String::new(),
                n => format!(" (of {n} instances seen)"),
            };
            if first {
                tracing::info!("{sketch} is {:?} at {url}{others}", seen.instance);
            } else {
                tracing::warn!("{sketch} is now {:?} at {url}{others}", seen.instance);
            }
        }
        self.current = Some(seen.instance.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_names_are_told_apart() {
        assert_eq!(
            Address::parse("ws://h:1/pin"),
            Ok(Address::Url("ws://h:1/pin".into()))
        );
        assert!(Address::parse("http://h:1/").is_err());
        assert!(Address::parse("ws:///pin").is_err());
        assert!(Address::parse("bu;zzer").is_err());
        // A wss:// URL is one with TLS built in, and said to need it without.
        match Address::parse("wss://h:1/") {
            Ok(url) => assert!(cfg!(feature = "tls") && url == Address::Url("wss://h:1/".into())),
            Err(why) => assert!(
                !cfg!(feature = "tls") && why.contains("\"tls\" feature"),
                "{why}"
            ),
        }
    }

    #[test]
    fn a_name_is_a_sketch_and_a_path() {
        if !enabled(Feature::Discovery) && !enabled(Feature::Dns) {
            let why = Address::parse("buzzer").expect_err("names need a way to resolve them");
            assert!(why.contains("\"discovery\" feature"), "{why}");
            return;
        }
        let name = |sketch: &str, path: &str| Address::Name {
            sketch: sketch.into(),
            path: path.into(),
        };
        assert_eq!(Address::parse("buzzer"), Ok(name("buzzer", "/")));
        assert_eq!(Address::parse("buzzer/pin"), Ok(name("buzzer", "/pin")));
        assert_eq!(
            Address::parse("dns-sd:buzzer/pin"),
            Ok(name("buzzer", "/pin"))
        );
        assert_eq!(Address::parse("iopin (2)"), Ok(name("iopin (2)", "/")));
        assert_eq!(
            Address::parse("buzzer/pin").unwrap().to_string(),
            "buzzer/pin"
        );
        assert_eq!(
            Address::parse("buzzer").unwrap().with_default_path("/pin"),
            name("buzzer", "/pin")
        );
    }

    #[tokio::test]
    async fn dialing_nobody_gives_up_after_the_patience() {
        // Bind and drop a listener to find a port where nobody listens.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = Address::Url(format!("ws://127.0.0.1:{port}/x"));
        let mut dialer = Dialer::new(url, Duration::from_secs(1));
        let started = Instant::now();
        let result = dialer.dial_within(None, Duration::from_millis(300)).await;
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
