//! An MQTT broker's URL, as links, `--subscribe` and `--mqtt` take it:
//! `mqtt://[USER@]HOST[:PORT]/TOPIC[?KEY=VALUE&…]` (`mqtts://` over TLS).
//! Parsing checks everything that can be checked before a connection, so
//! that a mistake is an exit 2 when the setting is read, not a retry loop.
//!
//! A password never goes in the URL (it would show in `ps` and in every log
//! line naming the link): it comes from the file named by
//! `?password_file=PATH`, else from the environment variable
//! [`PASSWORD_VARIABLE`].

use std::fmt;
use std::path::PathBuf;

use crate::base::features::{require, Feature};

/// The scheme of a broker reached over plain TCP.
pub const SCHEME: &str = "mqtt://";

/// The scheme of a broker reached over TLS.
pub const SECURE_SCHEME: &str = "mqtts://";

/// The environment variable a password comes from when the URL names a
/// user and no `password_file`.
pub const PASSWORD_VARIABLE: &str = "CIRCUIT_MQTT_PASSWORD";

/// The keys a URL's query may carry, for the error that names a wrong one.
const KEYS: &str = "qos, retain, version, password_file, client_id";

/// What a URL's topic is for: each use allows different topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicUse {
    /// A link publishes to one topic: no wildcard, not empty.
    Publish,
    /// A subscription takes a filter: `+` for one level, `#` for the rest.
    Subscribe,
    /// `--mqtt`: the prefix of the topics published under; may be empty
    /// (then `circuit`), no wildcard.
    Prefix,
}

/// The quality of service of the messages published or subscribed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qos {
    /// At most once: nothing acknowledges a message.
    AtMostOnce,
    /// At least once: the broker's PUBACK acknowledges each message.
    AtLeastOnce,
}

/// The MQTT protocol version spoken to the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1.1, which every broker speaks.
    V311,
    /// MQTT 5: response topics, reason codes, the broker's receive maximum.
    V5,
}

/// A parsed `mqtt://` or `mqtts://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttUrl {
    /// Whether the connection goes over TLS (`mqtts://`).
    pub tls: bool,
    /// The user to log in as, if any.
    pub user: Option<String>,
    /// The broker's host name or address (an IPv6 address without brackets).
    pub host: String,
    /// The broker's port: 1883, or 8883 over TLS, unless given.
    pub port: u16,
    /// The topic (a filter for a subscription), percent-decoded.
    pub topic: String,
    /// `?qos=0` or `?qos=1` (the default).
    pub qos: Qos,
    /// `?retain=1`: the broker keeps the last message for new subscribers.
    pub retain: bool,
    /// `?version=3` (3.1.1) or `?version=5`, when given.
    pub version: Option<Version>,
    /// `?password_file=PATH`: where the user's password is.
    pub password_file: Option<PathBuf>,
    /// `?client_id=ID`: the MQTT client identifier, instead of one made
    /// from the sketch's name.
    pub client_id: Option<String>,
    /// The URL as written, for messages (it holds no password).
    text: String,
}

impl MqttUrl {
    /// Whether `text` is meant as an MQTT URL (`mqtt://` or `mqtts://`).
    pub fn is_mqtt(text: &str) -> bool {
        text.starts_with(SCHEME) || text.starts_with(SECURE_SCHEME)
    }

    /// Parses `text` for `purpose`, and checks that this build can use it.
    ///
    /// # Errors
    /// What is wrong with it, naming the part; or the cargo feature it needs.
    pub fn parse(text: &str, purpose: TopicUse) -> Result<MqttUrl, String> {
        let url = MqttUrl::parse_only(text, purpose)?;
        require(Feature::Mqtt, "an mqtt:// URL")?;
        if url.tls {
            require(Feature::Tls, "mqtts://")?;
        }
        Ok(url)
    }

    /// Parses `text` for `purpose`, whatever this build has.
    fn parse_only(text: &str, purpose: TopicUse) -> Result<MqttUrl, String> {
        let (tls, rest) = if let Some(rest) = text.strip_prefix(SCHEME) {
            (false, rest)
        } else if let Some(rest) = text.strip_prefix(SECURE_SCHEME) {
            (true, rest)
        } else {
            return Err(format!(
                "{text:?} is not an MQTT URL (mqtt://HOST[:PORT]/TOPIC)"
            ));
        };
        let bad = |why: String| format!("{text:?}: {why}");
        // The topic may hold `#` and `?` only percent-encoded… except that a
        // filter's `#` is too common to ask that: a `?` starts the query, and
        // everything else up to it is the topic, `#` included.
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, _)) if user.contains(':') => {
                return Err(bad(format!(
                    "a password does not go in a URL (it shows in `ps` and in logs): put it in a file named by ?password_file=PATH, or in the environment variable {PASSWORD_VARIABLE}"
                )))
            }
            Some(("", _)) => return Err(bad("the user before @ is empty".to_owned())),
            Some((user, host_port)) => (Some(decode(user).map_err(bad)?), host_port),
            None => (None, authority),
        };
        let (host, port) = host_and_port(host_port, if tls { 8883 } else { 1883 }).map_err(bad)?;
        let topic = decode(path.unwrap_or("")).map_err(bad)?;
        check_topic(&topic, purpose).map_err(bad)?;
        let mut url = MqttUrl {
            tls,
            user,
            host,
            port,
            topic,
            qos: Qos::AtLeastOnce,
            retain: false,
            version: None,
            password_file: None,
            client_id: None,
            text: text.to_owned(),
        };
        for pair in query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).map_err(bad)?;
            url.set(key, &value).map_err(bad)?;
        }
        if url.password_file.is_some() && url.user.is_none() {
            return Err(bad(
                "?password_file is the password of a user, and the URL names none (mqtt://USER@HOST/…)".to_owned(),
            ));
        }
        Ok(url)
    }

    /// Sets one option of the query.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "qos" => {
                self.qos = match value {
                    "0" => Qos::AtMostOnce,
                    "1" => Qos::AtLeastOnce,
                    "2" => return Err("qos=2 is not supported: qos=1 (the default) delivers at least once, and a link's numbering tells a resent message".to_owned()),
                    _ => return Err(format!("qos={value:?}: 0 or 1")),
                }
            }
            "retain" => self.retain = flag(key, value)?,
            "version" => {
                self.version = Some(match value {
                    "3" | "3.1.1" | "4" => Version::V311,
                    "5" => Version::V5,
                    _ => return Err(format!("version={value:?}: 3 (MQTT 3.1.1) or 5")),
                })
            }
            "password_file" if !value.is_empty() => self.password_file = Some(value.into()),
            "client_id" if !value.is_empty() => self.client_id = Some(value.to_owned()),
            "password_file" | "client_id" => return Err(format!("{key} is empty")),
            "password" => {
                return Err(format!(
                    "a password does not go in a URL (it shows in `ps` and in logs): name a file with ?password_file=PATH, or set {PASSWORD_VARIABLE}"
                ))
            }
            _ => return Err(format!("no option {key:?} (options: {KEYS})")),
        }
        Ok(())
    }

    // Used by the connections to a broker, which only the `mqtt` feature has.
    #[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
    /// The user's password: the file's first line, else the environment
    /// variable; `None` without a user.
    ///
    /// # Errors
    /// The password file cannot be read.
    pub fn password(&self) -> Result<Option<String>, String> {
        if self.user.is_none() {
            return Ok(None);
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("the password file {} of {self}: {err}", path.display()))?;
            return Ok(Some(text.lines().next().unwrap_or("").to_owned()));
        }
        Ok(std::env::var(PASSWORD_VARIABLE).ok())
    }

    // Used by the connections to a broker, which only the `mqtt` feature has.
    #[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
    /// `HOST:PORT`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `HOST[:PORT]`, `[V6][:PORT]`.
fn host_and_port(text: &str, default: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "an IPv6 address without its closing ]".to_owned())?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("{after:?} after the IPv6 address")),
            },
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host (mqtt://HOST[:PORT]/TOPIC)".to_owned());
    }
    let port = match port {
        None => default,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("the port {port:?} is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

/// Checks a topic against what `purpose` allows.
fn check_topic(topic: &str, purpose: TopicUse) -> Result<(), String> {
    if topic.contains('\0') {
        return Err("a topic cannot hold a NUL character".to_owned());
    }
    if topic.len() > 65_535 {
        return Err("the topic is over 65,535 bytes".to_owned());
    }
    let wildcard = topic.contains(['+', '#']);
    match purpose {
        TopicUse::Publish if topic.is_empty() => {
            Err("no topic to publish to (mqtt://HOST[:PORT]/TOPIC)".to_owned())
        }
        TopicUse::Publish | TopicUse::Prefix if wildcard => Err(format!(
            "the topic {topic:?} holds a wildcard (+ or #), which only a subscription may"
        )),
        TopicUse::Subscribe if topic.is_empty() => {
            Err("no topic filter to subscribe to (mqtt://HOST[:PORT]/FILTER, # for all)".to_owned())
        }
        TopicUse::Subscribe => {
            let levels: Vec<&str> = topic.split('/').collect();
            for (at, level) in levels.iter().enumerate() {
                let misplaced_hash =
                    level.contains('#') && (*level != "#" || at + 1 != levels.len());
                if misplaced_hash {
                    return Err(format!(
                        "in the filter {topic:?}, # stands alone as the last level (sensors/#)"
                    ));
                }
                if level.contains('+') && *level != "+" {
                    return Err(format!(
                        "in the filter {topic:?}, + stands alone for a whole level (sensors/+/temperature)"
                    ));
                }
            }
            Ok(())
        }
        TopicUse::Publish | TopicUse::Prefix => Ok(()),
    }
}

/// `on`: 1, true, yes; `off`: 0, false, no.
fn flag(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(format!("{key}={value:?}: 1 or 0")),
    }
}

/// Decodes `%XX` escapes (so that a topic may hold `?` as `%3F`).
fn decode(text: &str) -> Result<String, String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("a % not followed by two hex digits in {text:?}"))?;
            out.push(hex);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} decodes to bytes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(text: &str) -> Result<MqttUrl, String> {
        MqttUrl::parse_only(text, TopicUse::Publish)
    }

    #[test]
    fn a_url_gives_its_parts_and_defaults() {
        let url = publish("mqtt://sensor@broker.lan/home/kitchen/fan").unwrap();
        assert!(!url.tls);
        assert_eq!(url.user.as_deref(), Some("sensor"));
        assert_eq!((url.host.as_str(), url.port), ("broker.lan", 1883));
        assert_eq!(url.topic, "home/kitchen/fan");
        assert_eq!(
            (url.qos, url.retain, url.version),
            (Qos::AtLeastOnce, false, None)
        );
        let url = publish("mqtts://[::1]/a%3Fb?qos=0&retain=1&version=5").unwrap();
        assert!(url.tls);
        assert_eq!((url.host.as_str(), url.port), ("::1", 8883));
        assert_eq!(url.authority(), "[::1]:8883");
        assert_eq!(url.topic, "a?b");
        assert_eq!((url.qos, url.retain), (Qos::AtMostOnce, true));
        assert_eq!(url.version, Some(Version::V5));
        assert_eq!(publish("mqtt://h:1884/t").unwrap().port, 1884);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, said) in [
            ("mqtt://u:secret@h/t", "password_file"),
            ("mqtt://h/t?password=x", "password_file"),
            ("mqtt://h/a/+/c", "wildcard"),
            ("mqtt://h/a/#", "wildcard"),
            ("mqtt://h", "no topic"),
            ("mqtt://h/", "no topic"),
            ("mqtt:///t", "no host"),
            ("mqtt://h:99999/t", "port"),
            ("mqtt://h:x/t", "port"),
            ("mqtt://h/t?qos=2", "qos=2"),
            ("mqtt://h/t?qos=7", "0 or 1"),
            ("mqtt://h/t?color=red", "options: qos"),
            ("mqtt://h/t?password_file=/p", "names none"),
            ("mqtt://h/a%2", "hex"),
            ("ws://h/t", "not an MQTT URL"),
        ] {
            let why = publish(text).expect_err(text);
            assert!(why.contains(said), "{text}: {why}");
        }
    }

    #[test]
    fn filters_take_wildcards_in_their_places() {
        let filter = |text: &str| MqttUrl::parse_only(text, TopicUse::Subscribe);
        assert_eq!(filter("mqtt://h/sensors/#").unwrap().topic, "sensors/#");
        assert_eq!(filter("mqtt://h/+/temp").unwrap().topic, "+/temp");
        assert_eq!(filter("mqtt://h/#").unwrap().topic, "#");
        assert!(filter("mqtt://h/a/#/b").unwrap_err().contains("last level"));
        assert!(filter("mqtt://h/a/b#").unwrap_err().contains("last level"));
        assert!(filter("mqtt://h/a+/b").unwrap_err().contains("whole level"));
        let prefix = |text: &str| MqttUrl::parse_only(text, TopicUse::Prefix);
        assert_eq!(prefix("mqtt://h").unwrap().topic, "");
        assert!(prefix("mqtt://h/a/#").is_err());
    }

    #[test]
    fn a_password_comes_from_its_file() {
        let dir = std::env::temp_dir().join(format!("circuit-mqtt-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let text = format!("mqtt://me@h/t?password_file={}", file.display());
        let url = publish(&text).unwrap();
        assert_eq!(url.password().unwrap().as_deref(), Some("s3cret"));
        assert_eq!(url.to_string(), text, "the URL shown holds no password");
        assert_eq!(publish("mqtt://h/t").unwrap().password().unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn this_build_says_what_it_lacks() {
        let parsed = MqttUrl::parse("mqtt://h/t", TopicUse::Publish);
        assert_eq!(
            parsed.is_ok(),
            crate::base::features::enabled(Feature::Mqtt)
        );
        if let Err(why) = parsed {
            assert!(why.contains("\"mqtt\" feature"), "{why}");
        }
    }
}
