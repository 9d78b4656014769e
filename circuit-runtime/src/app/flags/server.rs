//! What a server accepts from its peers (`--max-message`, `--max-clients`,
//! `--handshake-timeout`, `--ping-interval`), whether it announces itself
//! by DNS-SD (`--advertise`, `--no-advertise`), and the MQTT topics whose
//! messages its loop takes too (`--subscribe`, `--reply-topic`).

use clap::{value_parser, Arg, ArgAction, ArgMatches};

use crate::app::flags::{flag, in_seconds, optional, seconds_flag, switch, switched, with_default};
use crate::base::options::{Limits, Options};
use crate::net::mqtt::reply;
use crate::net::mqtt::url::{MqttUrl, TopicUse};

/// `--max-message BYTES`.
pub(crate) const MAX_MESSAGE: &str = "max-message";
/// `--max-clients N`.
pub(crate) const MAX_CLIENTS: &str = "max-clients";
/// `--handshake-timeout SECONDS`.
pub(crate) const HANDSHAKE_TIMEOUT: &str = "handshake-timeout";
/// `--ping-interval SECONDS`.
pub(crate) const PING_INTERVAL: &str = "ping-interval";
/// `--advertise`.
pub(crate) const ADVERTISE: &str = "advertise";
/// `--no-advertise`.
pub(crate) const NO_ADVERTISE: &str = "no-advertise";
/// `--subscribe URL`.
pub(crate) const SUBSCRIBE: &str = "subscribe";
/// `--reply-topic TEMPLATE`.
pub(crate) const REPLY_TOPIC: &str = "reply-topic";

/// A server's limits on its peers.
pub(crate) fn limit_args() -> [Arg; 4] {
    let limits = Limits::default();
    [
        flag(MAX_MESSAGE)
            .value_name("BYTES")
            .value_parser(value_parser!(usize))
            .help(with_default(
                "Largest message accepted; larger ones are refused with 1009",
                limits.max_message,
            )),
        flag(MAX_CLIENTS)
            .value_name("N")
            .value_parser(value_parser!(usize))
            .help(with_default(
                "Peers served at once; more are refused with HTTP 503",
                limits.max_clients,
            )),
        seconds_flag(HANDSHAKE_TIMEOUT).help(with_default(
            "Drop peers whose handshake takes longer",
            in_seconds(limits.handshake_timeout),
        )),
        seconds_flag(PING_INTERVAL).help(with_default(
            "Ping peers silent this long, drop them if still silent; 0 = never",
            in_seconds(limits.ping_interval),
        )),
    ]
}

/// The limits given, the others at their defaults.
pub(crate) fn limits(matches: &mut ArgMatches) -> Limits {
    let defaults = Limits::default();
    Limits {
        max_message: optional(matches, MAX_MESSAGE).unwrap_or(defaults.max_message),
        max_clients: optional(matches, MAX_CLIENTS).unwrap_or(defaults.max_clients),
        handshake_timeout: optional(matches, HANDSHAKE_TIMEOUT)
            .unwrap_or(defaults.handshake_timeout),
        ping_interval: optional(matches, PING_INTERVAL).unwrap_or(defaults.ping_interval),
    }
}

/// `--advertise` and `--no-advertise`.
pub(crate) fn advertise_args() -> [Arg; 2] {
    [
        switch(ADVERTISE).conflicts_with(NO_ADVERTISE).help(
            "Announce this sketch by DNS-SD (_circuit._tcp) [default: when bound beyond loopback]",
        ),
        switch(NO_ADVERTISE).help("Do not announce this sketch by DNS-SD"),
    ]
}

/// `Some(true)` for `--advertise`, `Some(false)` for `--no-advertise`, else
/// `None`: decided by where the server binds.
pub(crate) fn advertise(matches: &ArgMatches) -> Option<bool> {
    if switched(matches, ADVERTISE) {
        Some(true)
    } else if switched(matches, NO_ADVERTISE) {
        Some(false)
    } else {
        None
    }
}

/// `--subscribe` and `--reply-topic`.
pub(crate) fn subscribe_args() -> [Arg; 2] {
    [
        flag(SUBSCRIBE)
            .value_name("URL")
            .action(ArgAction::Append)
            .value_parser(|text: &str| {
                MqttUrl::parse(text, TopicUse::Subscribe).map(|_| text.to_owned())
            })
            .help("Run the loop on each message published on an MQTT topic matching FILTER (mqtt://[USER@]HOST[:PORT]/FILTER, + and # wildcards; ?version=3 for MQTT 3.1.1), the topic as its channel; acknowledged to the broker once the loop has run; repeatable"),
        flag(REPLY_TOPIC)
            .value_name("TEMPLATE")
            .value_parser(reply::template)
            .help("Publish the loop's acknowledgement of a subscribed message on this topic ({topic} is the message's) when its publisher gave no MQTT 5 response topic [default: nowhere]"),
    ]
}

/// The topics subscribed to and where acknowledgements go.
pub(crate) fn subscriptions(matches: &mut ArgMatches, options: &mut Options) {
    options.subscribe = matches
        .try_remove_many::<String>(SUBSCRIBE)
        .ok()
        .flatten()
        .map(Iterator::collect)
        .unwrap_or_default();
    options.reply_topic = optional(matches, REPLY_TOPIC);
}
