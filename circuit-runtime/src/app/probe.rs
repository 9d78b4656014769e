//! `probe URL|NAME`: talk to any sketch by hand, like `websocat` but speaking the
//! sketch protocol: one message, then its acknowledgement, in order. Each line
//! of stdin is a message; or `--count N --every SECS` sends numbered ticks.

use std::io::BufRead;
use std::time::Duration;

use clap::{value_parser, Arg, ArgMatches, Command};
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::app::flags::discovery::{apply_discovery, discovery_args};
use crate::app::flags::links::{link_options, resolve_timeout_arg, Scope};
use crate::app::flags::tls::{apply_tls, tls_args, tls_files};
use crate::app::flags::token::{token, token_arg, Held};
use crate::app::flags::{flag, in_seconds, seconds, with_default};
use crate::app::process::run_until_interrupted;
use crate::base::error::{Error, Result};
use crate::base::options::Token;
use crate::base::shutdown::Shutdown;
use crate::net::find::address::{Address, Dialer};
#[cfg(feature = "mqtt")]
use crate::net::mqtt::{request::Requester, session::client_id, url::MqttUrl};
use crate::net::wire::dial::DialError;
use crate::net::wire::socket::{close_politely, read_ack};

/// How long the probe keeps trying to reach the sketch.
const PATIENCE: Duration = Duration::from_secs(2);

/// How long one acknowledgement may take.
const ACK: Duration = Duration::from_secs(10);

/// Lines read ahead of the sketch's answers.
const READ_AHEAD: usize = 16;

/// Where the messages come from.
enum Source {
    /// One message per line of standard input, until it ends.
    Stdin,
    /// `count` numbered ticks, `every` apart.
    Ticks { count: u64, every: Duration },
}

/// `probe URL|NAME`, the sketch to talk to.
const URL: &str = "url";
/// `-n/--count N`: numbered ticks instead of stdin.
const COUNT: &str = "count";
/// `--every SECS`: the time between two ticks of `--count`.
const EVERY: &str = "every";
/// The time between two ticks of `--count` unless `--every` says otherwise.
const EVERY_DEFAULT: Duration = Duration::from_secs(1);

/// The `probe` subcommand, which every program has.
pub(crate) fn command() -> Command {
    Command::new("probe")
        .about("Sends messages to a sketch and prints each acknowledgement: every line of stdin, or --count numbered ticks")
        .arg(
            Arg::new(URL)
                .required(true)
                .value_name("URL|NAME")
                .help("The sketch's WebSocket URL, such as ws://localhost:8765/datafeed, or its name found by DNS-SD, such as iopin/datafeed; or a broker's topic, mqtt://[USER@]HOST[:PORT]/TOPIC (each message published at QoS 1, its PUBACK printed as `< ok`)"),
        )
        .args(discovery_args())
        .args(tls_args(false, true))
        .arg(resolve_timeout_arg(Scope::One))
        .arg(
            flag(COUNT)
                .short('n')
                .value_name("N")
                .value_parser(value_parser!(u64))
                .help("Send N numbered ticks (0, 1, …) instead of reading stdin"),
        )
        .arg(
            flag(EVERY)
                .value_name("SECS")
                .value_parser(seconds)
                .requires(COUNT)
                .help(with_default(
                    "Seconds between two ticks of --count; fractions allowed",
                    in_seconds(EVERY_DEFAULT),
                )),
        )
        .arg(token_arg(Held::ByProbe))
}

/// Runs the `probe` subcommand with its parsed arguments.
///
/// # Errors
/// [`Error::Setup`] for a URL that is not a WebSocket URL (exit 2);
/// [`Error::Unreachable`] or [`Error::Lost`] when the sketch is not there or goes away.
pub(crate) fn run(matches: &mut ArgMatches) -> Result<()> {
    let url: String = matches.remove_one(URL).unwrap_or_default();
    apply_discovery(matches)?;
    apply_tls(&tls_files(matches))?;
    let address = Address::parse(&url).map_err(Error::Setup)?;
    if let Address::Url(url) = &address {
        if let Err(err) = url.as_str().into_client_request() {
            return Err(Error::Setup(format!("{url} is not a WebSocket URL: {err}")));
        }
    }
    let source = match matches.remove_one::<u64>(COUNT) {
        Some(count) => Source::Ticks {
            count,
            every: matches.remove_one(EVERY).unwrap_or(EVERY_DEFAULT),
        },
        None => Source::Stdin,
    };
    #[cfg(feature = "mqtt")]
    if let Address::Mqtt(url) = address {
        return run_until_interrupted("probe", false, Duration::ZERO, |shutdown| {
            probe_broker(url, source, shutdown)
        });
    }
    let dialer = Dialer::new(address, link_options(matches).resolve_timeout);
    let token = token(matches);
    run_until_interrupted("probe", false, Duration::ZERO, |shutdown| {
        probe(dialer, token, source, shutdown)
    })
}

/// Connects, sends each message, prints each acknowledgement, and closes.
async fn probe(
    mut dialer: Dialer,
    token: Option<Token>,
    source: Source,
    mut shutdown: Shutdown,
) -> Result<()> {
    let url = dialer.address().to_string();
    let mut socket = dialer
        .dial_within(token.as_ref(), PATIENCE)
        .await
        .map_err(|failure| match failure {
            DialError::Refused(reason) => Error::Refused {
                url: url.clone(),
                reason,
            },
            DialError::Absent(reason) => Error::Unreachable {
                url: url.clone(),
                seconds: PATIENCE.as_secs_f64(),
                reason,
            },
        })?;
    tracing::info!("connected to {url}");
    let mut messages = messages(source);
    let (mut sent, mut acked) = (0u64, 0u64);
    loop {
        let message = tokio::select! {
            message = messages.recv() => match message {
                Some(message) => message,
                None => break,
            },
            _ = shutdown.wait() => break,
        };
        let lost = |reason: String| Error::Lost {
            url: url.clone(),
            message: message.clone(),
            reason,
        };
        socket
            .send(Message::text(message.as_str()))
            .await
            .map_err(|err| lost(err.to_string()))?;
        sent += 1;
        crate::out!("> {message}");
        let ack = tokio::select! {
            ack = timeout(ACK, read_ack(&mut socket)) => ack,
            _ = shutdown.wait() => break,
        };
        match ack {
            Ok(Ok(ack)) => {
                crate::out!("< {ack}");
                acked += 1;
            }
            Ok(Err(reason)) => return Err(lost(reason)),
            Err(_) => {
                return Err(lost(format!(
                    "no acknowledgement within {}s",
                    ACK.as_secs()
                )))
            }
        }
    }
    close_politely(&mut socket, CloseCode::Normal, "").await;
    tracing::info!("{sent} messages sent, {acked} acknowledged");
    Ok(())
}

/// Publishes each message to the broker's topic and prints its PUBACK
/// (`< ok`), one at a time, as [`probe`] does with a sketch.
#[cfg(feature = "mqtt")]
async fn probe_broker(url: MqttUrl, source: Source, mut shutdown: Shutdown) -> Result<()> {
    let target = url.to_string();
    let id = client_id("probe", &std::process::id().to_string());
    let mut broker = Requester::new(url, id, ACK).forgotten();
    broker
        .open_within(PATIENCE)
        .await
        .map_err(|failure| match failure {
            DialError::Refused(reason) => Error::Refused {
                url: target.clone(),
                reason,
            },
            DialError::Absent(reason) => Error::Unreachable {
                url: target.clone(),
                seconds: PATIENCE.as_secs_f64(),
                reason,
            },
        })?;
    tracing::info!("connected to {target}");
    let mut messages = messages(source);
    let (mut sent, mut acked) = (0u64, 0u64);
    loop {
        let message = tokio::select! {
            message = messages.recv() => match message {
                Some(message) => message,
                None => break,
            },
            _ = shutdown.wait() => break,
        };
        crate::out!("> {message}");
        sent += 1;
        let pkid = broker.new_message();
        let ack = tokio::select! {
            ack = broker.publish(&message, pkid, false) => ack,
            _ = shutdown.wait() => break,
        };
        let ack = ack.map_err(|reason| Error::Lost {
            url: target.clone(),
            message: message.clone(),
            reason,
        })?;
        crate::out!("< {ack}");
        acked += 1;
    }
    broker.close().await;
    tracing::info!("{sent} messages sent, {acked} acknowledged");
    Ok(())
}

/// The messages to send, produced as they are due.
fn messages(source: Source) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel(READ_AHEAD);
    match source {
        // Standard input blocks: read it on a thread of its own.
        Source::Stdin => {
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if send.blocking_send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Source::Ticks { count, every } => {
            tokio::spawn(crate::observe::log::scoped("probe", async move {
                for tick in 0..count {
                    if tick > 0 && !every.is_zero() {
                        sleep(every).await;
                    }
                    if send.send(tick.to_string()).await.is_err() {
                        break;
                    }
                }
            }));
        }
    }
    receive
}
