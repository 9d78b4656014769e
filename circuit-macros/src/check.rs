//! Checks on the parsed model. Every broken rule is reported at once, each on
//! the token the user must change.

use crate::errors::Errors;
use crate::model::{FieldKind, Sketch};
use std::collections::HashMap;

/// Flags every sketch has already; settings may not take their names.
const RESERVED_LONG: &[&str] = &[
    "socket",
    "port",
    "quiet",
    "seed",
    "retry_for",
    "help",
    "vcd",
    "metrics",
    "mqtt",
    "home_assistant",
    "token",
    "max_message",
    "max_clients",
    "handshake_timeout",
    "ping_interval",
    "ack_timeout",
    "link_attempts",
    "link_window",
    "stop_timeout",
    "resolve_timeout",
    "advertise",
    "no_advertise",
    "subscribe",
    "reply_topic",
    "discovery",
    "domain",
    "tls_cert",
    "tls_key",
    "client_ca",
    "ca",
    "allow_plaintext_token",
    "replay",
    "realtime",
    "check",
    "retain",
];

/// One-letter flags every sketch has already.
const RESERVED_SHORT: &[char] = &['s', 'p', 'q', 'h'];

/// Checks a sketch struct and its arguments.
pub fn sketch(sketch: &Sketch, errors: &mut Errors) {
    let generics = &sketch.item.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        errors.push(
            generics,
            "a sketch cannot be generic: its command line is fixed at compile time; use concrete types",
        );
    }
    args(sketch, errors);
    settings(sketch, errors);
}

/// Checks the arguments of `#[sketch(...)]`: each value, and the fields they name.
fn args(sketch: &Sketch, errors: &mut Errors) {
    let args = &sketch.args;
    if let Some(name) = &args.name {
        let value = name.value();
        let valid = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !valid {
            errors.push(
                name,
                "a sketch's name is a subcommand: use lower-case letters, digits, `-` and `_`",
            );
        }
    }
    for port in [&args.port, &args.to_port].into_iter().flatten() {
        if port.value.base10_parse::<u16>().is_err() {
            errors.push(
                &port.value,
                format_args!("`{}` takes a number from 0 to 65535", port.key),
            );
        }
    }
    // `port` is where a sketch serves; a timer serves nothing, and the port
    // it knows is its server's: one key for each, so neither reads as the other.
    match (&args.every, &args.port, &args.to_port) {
        (Some(_), Some(port), _) => errors.push(
            &port.key,
            "a timer serves nothing, so it has no `port` of its own: write `to_port = N` for the port of the server it ticks",
        ),
        (None, _, Some(to_port)) => errors.push(
            &to_port.key,
            "`to_port` is the port of the server a timer sends to (a sketch with `every = field`); a sketch that serves takes `port = N`, where it serves",
        ),
        _ => {}
    }
    if let Some(every) = &args.every {
        if !sketch.fields.iter().any(|field| field.ident == *every) {
            errors.push(
                every,
                format_args!(
                    "no field `{every}` in this sketch; `every` names the field holding the period"
                ),
            );
        }
    }
    if let Some(count) = &args.count {
        if args.every.is_none() {
            errors.push(
                count,
                "`count` is how many ticks a timer sketch sends; add `every = field` or remove `count`",
            );
        } else if !sketch.fields.iter().any(|field| field.ident == *count) {
            errors.push(
                count,
                format_args!(
                    "no field `{count}` in this sketch; `count` names the field holding the number of ticks"
                ),
            );
        }
    }
    if let Some(channel) = &args.channel {
        if args.every.is_none() {
            errors.push(
                channel,
                "`channel` is where a timer sketch sends; add `every = field` or remove `channel`",
            );
        } else if !channel.value().starts_with('/') {
            errors.push(
                channel,
                "a channel is a path starting with `/`, such as \"/datafeed\"",
            );
        }
    }
}

/// Checks the `#[setting]` fields: their defaults, and names and letters
/// that are taken already.
fn settings(sketch: &Sketch, errors: &mut Errors) {
    let mut shorts = HashMap::new();
    for field in &sketch.fields {
        let FieldKind::Setting { short, default } = &field.kind else {
            continue;
        };
        if let Some(default) = default.as_ref().filter(|_| field.is_switch) {
            if quote::ToTokens::to_token_stream(default).to_string() == "true" {
                errors.push(
                    default,
                    "a `bool` setting is a switch, off unless its flag is given: a default of `true` could never be turned off; remove it and name the setting for what turning it on does",
                );
            }
        }
        let name = field.ident.to_string();
        if name == "to" && sketch.args.every.is_some() {
            errors.push(
                &field.ident,
                "`--to` is where a timer sends already (a URL or a sketch's name); rename this setting",
            );
        }
        if RESERVED_LONG.contains(&name.as_str()) {
            errors.push(
                &field.ident,
                format_args!(
                    "`--{}` is a flag every sketch has already; rename this setting",
                    name.replace('_', "-")
                ),
            );
        }
        if let Some(short) = short {
            let letter = short.value();
            if RESERVED_SHORT.contains(&letter) {
                errors.push(
                    short,
                    format_args!(
                        "`-{letter}` is a flag every sketch has already; pick another letter"
                    ),
                );
            } else if let Some(first) = shorts.insert(letter, &field.ident) {
                errors.push(
                    short,
                    format_args!("`-{letter}` is taken by `{first}` already; pick another letter"),
                );
            }
        }
    }
}
