//! One `--subscribe mqtt://HOST/FILTER` of a server sketch: each message the
//! broker delivers runs the loop once (through the same `Dispatch` as a
//! WebSocket peer's, the topic as its channel), its acknowledgement goes to
//! the publisher's response topic or `--reply-topic`, and only then is the
//! message acknowledged to the broker (PUBACK): a crash before that means
//! the broker delivers it again, never that it is lost.
//!
//! Two tasks: the connection's (polls rumqttc's event loop: connects,
//! subscribes, reconnects with backoff) and the feeder's (runs the loop on
//! each message in order, replies, acknowledges), so that a loop that takes
//! its time never keeps the connection from answering the broker's pings.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::base::error::Error;
use crate::base::message::{Ack, Payload};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Reactive;
use crate::net::mqtt::event_loop::{self, Client, Delivery, Event, Failure, Loop};
use crate::net::mqtt::reply;
use crate::net::mqtt::session::Session;
use crate::net::mqtt::url::{MqttUrl, Qos, Version};
use crate::net::serve::dispatch::{Dispatch, Replies};
use crate::observe::log;

/// The largest packet accepted from the broker: MQTT's own largest, so
/// that a message over `--max-message` still arrives, to be counted,
/// refused and acknowledged, instead of breaking the connection (and being
/// delivered again, forever). The broker's own limit bounds it.
const LARGEST_PACKET: usize = 268_435_455;

/// Messages received and not yet run; the connection waits beyond this.
const WAITING: usize = 256;

/// The first wait before connecting again to a broker that cannot be reached.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// The longest wait between attempts.
const LONGEST_BACKOFF: Duration = Duration::from_secs(5);

/// How long the first connection may take to be subscribed before the
/// sketch serves anyway, retrying in the background.
const FIRST_CONNECTION: Duration = Duration::from_secs(10);

/// How long stopping may take to send the last acknowledgements and say goodbye.
const GOODBYE: Duration = Duration::from_secs(2);

/// What every subscription of one server shares.
pub(crate) struct Setup {
    /// The sketch's name, for its client identifier.
    pub(crate) sketch: Arc<str>,
    /// `--reply-topic`: where an acknowledgement goes without a response topic.
    pub(crate) reply_topic: Option<String>,
    /// `--max-message`: larger payloads are refused without running the loop.
    pub(crate) max_message: usize,
    /// Set, with why, when a subscription fails for good (a refusal).
    pub(crate) failed: Arc<watch::Sender<Option<(String, String)>>>,
}

/// What a subscription came to, for its end-of-run line.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    /// Messages handled and acknowledged to the broker.
    messages: u64,
    /// Of them, those refused (a payload the loop's type refuses, or too large).
    refused: u64,
}

/// Connects to the broker of `url`, subscribes, and feeds the loop behind
/// `dispatch` with its messages until `shutdown`; the task's result is the
/// subscription's end-of-run line. Waits for the first subscription to be
/// accepted, so that the sketch is subscribed when it says it serves; a
/// broker that cannot be reached is tried again in the background.
///
/// # Errors
/// [`Error::Refused`] when the broker refuses the login or the
/// subscription; [`Error::Setup`] when the password file cannot be read;
/// [`Error::Tls`] when TLS's client configuration cannot be made.
pub(crate) async fn subscribe<S: Reactive>(
    url: MqttUrl,
    setup: &Setup,
    dispatch: Dispatch<S>,
    shutdown: Shutdown,
) -> Result<JoinHandle<String>, Error> {
    let session =
        Session::new(&url, &setup.sketch, "subscriber", LARGEST_PACKET).map_err(Error::Setup)?;
    let (client, mut events) = event_loop::open(&url, &session).map_err(Error::Tls)?;
    let (deliveries, waiting) = mpsc::channel(WAITING);
    let feeder = Feeder {
        client: client.clone(),
        dispatch,
        url: url.clone(),
        reply_topic: setup.reply_topic.clone(),
        max_message: setup.max_message,
        counts: Counts::default(),
        told: HashSet::new(),
    };
    let feeding = log::spawn(feeder.feed(waiting));
    let mut link = Connection {
        client,
        url,
        deliveries,
        failed: Arc::clone(&setup.failed),
        unreachable: false,
    };
    let first = tokio::time::timeout(FIRST_CONNECTION, link.first(&mut events)).await;
    match first {
        Ok(Ok(())) => {}
        Ok(Err(Failure::Refused(why))) => {
            return Err(Error::Refused {
                url: link.url.to_string(),
                reason: why,
            })
        }
        Ok(Err(Failure::Broken(why))) => link.unreachable(&why),
        Err(_) => link.unreachable("no answer within 10s"),
    }
    Ok(log::spawn(link.run(events, feeding, shutdown)))
}

/// The connection's side of a subscription.
struct Connection {
    /// Sends subscriptions, acknowledgements and the goodbye.
    client: Client,
    /// The subscription's URL.
    url: MqttUrl,
    /// To the feeder.
    deliveries: mpsc::Sender<Delivery>,
    /// Where a failure for good is said.
    failed: Arc<watch::Sender<Option<(String, String)>>>,
    /// Whether the broker could not be reached, said once until reached again.
    unreachable: bool,
}

impl Connection {
    /// Connects and subscribes: done when the broker accepted the
    /// subscription; the messages that came meanwhile go to the feeder.
    async fn first(&mut self, events: &mut Loop) -> Result<(), Failure> {
        loop {
            match events.poll().await? {
                Event::Connected => self.subscribe()?,
                Event::Subscribed(Ok(())) => {
                    self.said_subscribed();
                    return Ok(());
                }
                Event::Subscribed(Err(code)) => return Err(Failure::Refused(self.refused(&code))),
                Event::Message(delivery) => {
                    let _ = self.deliveries.send(delivery).await;
                }
                Event::Other | Event::Disconnected => {}
            }
        }
    }

    /// Asks for the subscription (again: on each connection, in case the
    /// broker forgot the session).
    fn subscribe(&self) -> Result<(), Failure> {
        self.client
            .subscribe(&self.url.topic, self.url.qos)
            .map_err(Failure::Broken)
    }

    /// The words of a refused subscription.
    fn refused(&self, code: &str) -> String {
        format!(
            "the broker refused the subscription to {:?} ({code}): is this user allowed to read it (the broker's ACL)?",
            self.url.topic
        )
    }

    /// Says where the sketch is subscribed.
    fn said_subscribed(&self) {
        let version = match self.url.version {
            Some(Version::V311) => "MQTT 3.1.1",
            _ => "MQTT 5",
        };
        tracing::info!(
            "subscribed to {:?} on {} ({version})",
            self.url.topic,
            self.url.authority()
        );
    }

    /// Says, once until it is reached again, that the broker cannot be reached.
    fn unreachable(&mut self, why: &str) {
        if !std::mem::replace(&mut self.unreachable, true) {
            tracing::warn!(
                "cannot reach the broker of {} ({why}): trying again with backoff; WebSocket peers are served meanwhile",
                self.url
            );
        }
    }

    /// Polls the connection until `shutdown` or a failure for good, then
    /// lets the feeder finish and says goodbye; the end-of-run line.
    async fn run(
        mut self,
        mut events: Loop,
        mut feeding: JoinHandle<Counts>,
        shutdown: Shutdown,
    ) -> String {
        let mut stopping = shutdown.stopping();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let event = tokio::select! {
                biased;
                () = &mut stopping => break,
                event = events.poll() => event,
            };
            let failure = match event {
                Ok(Event::Connected) => {
                    backoff = FIRST_BACKOFF;
                    if std::mem::replace(&mut self.unreachable, false) {
                        tracing::info!("reached the broker of {} again", self.url);
                    }
                    match self.subscribe() {
                        Ok(()) => continue,
                        Err(failure) => failure,
                    }
                }
                Ok(Event::Subscribed(Ok(()))) => continue,
                Ok(Event::Subscribed(Err(code))) => Failure::Refused(self.refused(&code)),
                Ok(Event::Message(delivery)) => {
                    if self.deliveries.send(delivery).await.is_err() {
                        break; // the feeder stopped: the loop can no longer be reached
                    }
                    continue;
                }
                Ok(Event::Other | Event::Disconnected) => continue,
                Err(failure) => failure,
            };
            match failure {
                Failure::Refused(why) => {
                    tracing::error!("{}: {why}", self.url);
                    self.failed.send_replace(Some((self.url.to_string(), why)));
                    break;
                }
                Failure::Broken(why) => {
                    self.unreachable(&why);
                    tokio::select! {
                        () = &mut stopping => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                }
            }
        }
        // The feeder runs what it holds; its acknowledgements, then the
        // goodbye, go out while the connection is still polled.
        drop(self.deliveries);
        let finishing = async {
            let counts = loop {
                tokio::select! {
                    counts = &mut feeding => break counts.unwrap_or_default(),
                    event = events.poll() => if event.is_err() {
                        break (&mut feeding).await.unwrap_or_default();
                    },
                }
            };
            self.client.disconnect();
            while let Ok(event) = events.poll().await {
                if matches!(event, Event::Disconnected) {
                    break;
                }
            }
            counts
        };
        let counts = match tokio::time::timeout(GOODBYE, finishing).await {
            Ok(counts) => counts,
            Err(_) => {
                feeding.abort();
                feeding.await.unwrap_or_default()
            }
        };
        line(&self.url, counts)
    }
}

/// "subscribed: 5 messages from mqtt://…, 1 refused".
fn line(url: &MqttUrl, counts: Counts) -> String {
    let messages = match counts.messages {
        1 => "1 message".to_owned(),
        n => format!("{n} messages"),
    };
    let refused = match counts.refused {
        0 => String::new(),
        n => format!(", {n} refused"),
    };
    format!("subscribed: {messages} from {url}{refused}")
}

/// The feeder's side of a subscription: runs the loop on each message.
struct Feeder<S> {
    /// Sends replies and acknowledgements.
    client: Client,
    /// The way to the loop.
    dispatch: Dispatch<S>,
    /// The subscription's URL.
    url: MqttUrl,
    /// `--reply-topic`.
    reply_topic: Option<String>,
    /// `--max-message`.
    max_message: usize,
    /// What it handled.
    counts: Counts,
    /// The topics whose refusal was logged: the first per topic is, the
    /// others are counted, so that a publisher of nonsense does not flood the log.
    told: HashSet<String>,
}

impl<S: Reactive> Feeder<S> {
    /// Runs the loop on each message in order, replies, then acknowledges
    /// it to the broker; until the connection lets go or the loop can no
    /// longer be reached (a message then unacknowledged is delivered again).
    async fn feed(mut self, mut waiting: mpsc::Receiver<Delivery>) -> Counts {
        let mut replies = Replies::default();
        while let Some(delivery) = waiting.recv().await {
            let Some(answer) = self.answer(&delivery, &mut replies).await else {
                break;
            };
            let refusal = match &answer {
                Ok(_) => None,
                Err(why) => Some(why.clone()),
            };
            let reply = answer.unwrap_or_else(|why| Payload::text(format!("error: {why}")));
            if let Some(topic) = self.reply_to(&delivery) {
                let correlation = delivery
                    .response
                    .as_ref()
                    .and_then(|(_, data)| data.clone());
                let bytes = Bytes::copy_from_slice(reply.as_bytes());
                if let Err(err) = self
                    .client
                    .publish(&topic, self.url.qos, bytes, correlation)
                    .await
                {
                    tracing::warn!("the acknowledgement to {topic} was not sent: {err}");
                }
            }
            self.counts.messages += 1;
            if let Some(why) = refusal {
                self.refused(&delivery.topic, &why);
            }
            if self.url.qos == Qos::AtLeastOnce {
                if let Err(err) = self.client.ack(&delivery).await {
                    tracing::debug!("not acknowledged to the broker: {err}");
                    break;
                }
            }
        }
        self.counts
    }

    /// The loop's answer to `delivery`: `Ok` with its acknowledgement,
    /// `Err` with why it was refused, `None` when the loop can no longer be
    /// reached (the server is stopping).
    async fn answer(
        &mut self,
        delivery: &Delivery,
        replies: &mut Replies,
    ) -> Option<Result<Payload, String>> {
        let size = delivery.payload.len();
        if size > self.max_message {
            return Some(Err(format!(
                "{size} bytes, over --max-message {}",
                self.max_message
            )));
        }
        let message = match Utf8Bytes::try_from(delivery.payload.clone()) {
            Ok(text) => Payload::Text(text),
            Err(_) => Payload::Binary(delivery.payload.clone()),
        };
        let channel: Arc<str> = delivery.topic.as_str().into();
        Some(match self.dispatch.ask(&channel, message, replies).await? {
            Ack::Reply(reply) => match reply.as_text() {
                Some(text) if text.starts_with("error: ") => {
                    Err(text.trim_start_matches("error: ").to_owned())
                }
                _ => Ok(reply),
            },
            Ack::Unsupported => Err("a binary payload, and this sketch takes text".to_owned()),
            Ack::Panicked(why) => Err(format!("the loop panicked ({why})")),
        })
    }

    /// Where the acknowledgement of `delivery` goes: its response topic,
    /// else `--reply-topic`'s, else nowhere.
    fn reply_to(&self, delivery: &Delivery) -> Option<String> {
        if let Some((topic, _)) = &delivery.response {
            return Some(topic.clone());
        }
        let template = self.reply_topic.as_deref()?;
        Some(reply::topic_for(template, &delivery.topic))
    }

    /// Counts a refused message, and logs the first of its topic.
    #[cold]
    fn refused(&mut self, topic: &str, why: &str) {
        self.counts.refused += 1;
        if self.told.insert(topic.to_owned()) {
            tracing::warn!(
                "refused a message on {topic} from {}: {why}; acknowledged to the broker, not delivered again (further refusals on this topic are counted, not logged)",
                self.url
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::mqtt::url::TopicUse;

    #[test]
    fn the_line_says_what_came_and_what_was_refused() {
        let url = MqttUrl::parse("mqtt://localhost/pins/#", TopicUse::Subscribe).unwrap();
        let counts = |messages, refused| Counts { messages, refused };
        assert_eq!(
            line(&url, counts(1, 0)),
            "subscribed: 1 message from mqtt://localhost/pins/#"
        );
        assert_eq!(
            line(&url, counts(5, 2)),
            "subscribed: 5 messages from mqtt://localhost/pins/#, 2 refused"
        );
    }
}
