//! `--mqtt URL`: every signal a sketch records, published retained to
//! `PREFIX/CIRCUIT/SKETCH/SIGNAL` (the URL's topic as the prefix, else
//! `circuit`), its availability on `PREFIX/CIRCUIT/SKETCH/status` (`online`
//! once connected; `offline` by its Last Will, or published at a clean
//! stop), and with `--home-assistant` a discovery config per signal.
//!
//! Each sketch has a connection of its own, since a connection has one Last
//! Will. A publisher reads the recorder's live feed as the analyzer page
//! does, and keeps only the latest value of each signal it has not handed
//! to the connection yet: a slow or absent broker costs the sketch nothing,
//! and memory stays one value per signal however far behind it is.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event as Mqtt, EventLoop, LastWill, Outgoing, Packet};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout_at, Instant};

use crate::net::mqtt::home_assistant::{self, Component, Entity, OFFLINE, ONLINE};
use crate::net::mqtt::session::Session;
use crate::net::mqtt::url::{MqttUrl, Qos};
use crate::observe::trace::{Change, Event, Trace, Watch};
use crate::observe::value::Value;
use crate::observe::{inputs, log, outputs};

/// The prefix of the topics when the URL names none.
const DEFAULT_PREFIX: &str = "circuit";

/// The largest packet either side may send: a signal's text is short.
const MAX_PACKET: usize = 1 << 20;

/// Requests a connection holds before it takes no more: beyond it, changes
/// wait in the publisher, one per signal.
const REQUESTS: usize = 64;

/// The first wait before connecting again; it doubles up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// The longest wait between two attempts to reach the broker.
const LAST_RETRY: Duration = Duration::from_secs(30);

/// How long a stop may take to hand over the last values and say `offline`.
const STOP_WITHIN: Duration = Duration::from_secs(3);

/// The publishers of a run's sketches.
pub(crate) struct Signals {
    /// One per sketch.
    publishers: Vec<Publisher>,
}

/// One sketch's publisher task, and how to stop it.
struct Publisher {
    /// Asks the task to publish what is left, say `offline` and disconnect.
    stop: oneshot::Sender<()>,
    /// The task.
    task: JoinHandle<()>,
}

impl Signals {
    /// Starts publishing the signals of `sketches` (of circuit `circuit`, a
    /// lone sketch's own name) that `trace` records, to the broker of `url`,
    /// with Home Assistant's discovery configs when `home_assistant`. The
    /// connections are made in the background: an unreachable broker is
    /// said once and tried again, never waited for.
    ///
    /// # Errors
    /// The URL's password file cannot be read, or its TLS configuration made.
    pub(crate) fn start(
        url: &MqttUrl,
        home_assistant: bool,
        circuit: &str,
        sketches: &[String],
        trace: &Arc<Trace>,
    ) -> Result<Signals, String> {
        let prefix = match url.topic.trim_end_matches('/') {
            "" => DEFAULT_PREFIX,
            prefix => prefix,
        };
        let qos = match url.qos {
            Qos::AtMostOnce => rumqttc::QoS::AtMostOnce,
            Qos::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        };
        let said = Arc::new(AtomicBool::new(false));
        let mut publishers = Vec::new();
        for sketch in sketches {
            let board = Board::new(prefix, circuit, sketch, home_assistant, qos);
            // A client per sketch of each circuit, so that two circuits
            // with a sketch of the same name do not take each other's place.
            let who = if circuit == sketch {
                sketch.clone()
            } else {
                format!("{circuit}-{sketch}")
            };
            let mut options = Session::new(url, &who, "signals", MAX_PACKET)?.v311(url, true)?;
            options.set_last_will(LastWill::new(&board.status, OFFLINE, qos, true));
            let (client, eventloop) = AsyncClient::new(options, REQUESTS);
            let (links, link) = mpsc::channel(16);
            let handed = Arc::new(Notify::new());
            let driving = Driving {
                url: url.to_string(),
                links,
                handed: Arc::clone(&handed),
                said: Arc::clone(&said),
            };
            let driver = tokio::spawn(log::scoped("mqtt", driving.drive(eventloop)));
            let (stop, stopped) = oneshot::channel();
            let task = tokio::spawn(log::scoped(
                "mqtt",
                board.publish(Connection {
                    client,
                    driver,
                    link,
                    handed,
                    watch: trace.watch(),
                    trace: Arc::clone(trace),
                    stopped,
                }),
            ));
            publishers.push(Publisher { stop, task });
        }
        tracing::info!("publishing signals to {url} under {prefix}/{circuit}/");
        Ok(Signals { publishers })
    }

    /// Publishes what is left, says `offline` and disconnects each sketch's
    /// connection, in at most a few seconds (an unreachable broker gets
    /// nothing more, and its Last Will says `offline` for it).
    pub(crate) async fn stop(self) {
        let tasks: Vec<JoinHandle<()>> = self
            .publishers
            .into_iter()
            .map(|publisher| {
                let _ = publisher.stop.send(());
                publisher.task
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// What the task driving a connection tells its publisher.
enum Link {
    /// Connected (again): the broker knows nothing of this session.
    Up,
    /// The connection is lost; it is being tried again.
    Down,
    /// Home Assistant (re)started and asks for the configs.
    Birth,
}

/// The task that drives a connection: connects, reconnects with backoff,
/// and tells the publisher what happened.
struct Driving {
    /// The broker's URL, for messages.
    url: String,
    /// To the publisher.
    links: mpsc::Sender<Link>,
    /// Woken whenever the connection handed a request over, so that the
    /// publisher hands it more.
    handed: Arc<Notify>,
    /// Whether an unreachable broker was said already (once per run).
    said: Arc<AtomicBool>,
}

impl Driving {
    /// Polls the connection until the broker closed it after its DISCONNECT,
    /// or the publisher is gone.
    async fn drive(self, mut eventloop: EventLoop) {
        let mut retry = FIRST_RETRY;
        let mut failed = false;
        let mut disconnected = false;
        loop {
            match eventloop.poll().await {
                Ok(Mqtt::Incoming(Packet::ConnAck(_))) => {
                    retry = FIRST_RETRY;
                    if failed {
                        tracing::info!("reached {} again", self.url);
                        failed = false;
                    }
                    if self.links.send(Link::Up).await.is_err() {
                        return;
                    }
                }
                Ok(Mqtt::Incoming(Packet::Publish(publish))) => {
                    if publish.topic == home_assistant::STATUS_TOPIC
                        && publish.payload.as_ref() == home_assistant::BIRTH
                    {
                        // Dropped when the publisher is far behind: it
                        // republishes every config on the next one anyway.
                        let _ = self.links.try_send(Link::Birth);
                    }
                }
                // Closing the socket before reading the broker's last
                // acknowledgements would reset it, and the broker would
                // drop what it had not read yet, DISCONNECT included: the
                // broker closes it once it has read everything.
                Ok(Mqtt::Outgoing(Outgoing::Disconnect)) => disconnected = true,
                Ok(Mqtt::Outgoing(_)) => self.handed.notify_one(),
                Ok(Mqtt::Incoming(_)) => {}
                Err(_) if disconnected => return,
                Err(err) => {
                    if self.links.send(Link::Down).await.is_err() {
                        return;
                    }
                    self.failed(&err, retry);
                    failed = true;
                    sleep(retry).await;
                    retry = (retry * 2).min(LAST_RETRY);
                }
            }
        }
    }

    /// Says, once a run, that the broker cannot be reached.
    fn failed(&self, err: &ConnectionError, retry: Duration) {
        if self.said.swap(true, Ordering::Relaxed) {
            tracing::debug!("{}: {err}; trying again in {retry:?}", self.url);
        } else {
            tracing::warn!(
                "cannot publish signals to {}: {err}; trying again in the background",
                self.url
            );
        }
    }
}

/// A publisher's ends of its connection and of the recorder.
struct Connection {
    /// Hands requests to the connection.
    client: AsyncClient,
    /// The task that drives it.
    driver: JoinHandle<()>,
    /// What the driving task tells.
    link: mpsc::Receiver<Link>,
    /// Woken when the connection has room again.
    handed: Arc<Notify>,
    /// The recorder's live feed.
    watch: Watch,
    /// The recorder, to catch up after falling behind its feed.
    trace: Arc<Trace>,
    /// Fires when the run is over.
    stopped: oneshot::Receiver<()>,
}

/// One sketch's signals: their latest values, and what is due to publish.
struct Board {
    /// The sketch's name, as its changes carry it.
    sketch: String,
    /// Its circuit's name.
    circuit: String,
    /// `PREFIX/CIRCUIT/SKETCH`, the start of its topics.
    topics: String,
    /// `PREFIX/CIRCUIT/SKETCH/status`.
    status: String,
    /// Whether Home Assistant's configs are published.
    home_assistant: bool,
    /// The quality of service of every publish.
    qos: rumqttc::QoS,
    /// Every signal's latest value.
    latest: BTreeMap<String, Value>,
    /// Signals whose latest value is not handed to the connection yet.
    states_due: BTreeSet<String>,
    /// Signals whose config is not handed to the connection yet.
    configs_due: BTreeSet<String>,
    /// Whether `online` and the subscription to Home Assistant's status are due.
    hello_due: bool,
}

impl Board {
    /// A board with nothing recorded yet.
    fn new(
        prefix: &str,
        circuit: &str,
        sketch: &str,
        home_assistant: bool,
        qos: rumqttc::QoS,
    ) -> Board {
        let topics = format!("{prefix}/{circuit}/{}", level(sketch));
        Board {
            sketch: sketch.to_owned(),
            circuit: circuit.to_owned(),
            status: format!("{topics}/status"),
            topics,
            home_assistant,
            qos,
            latest: BTreeMap::new(),
            states_due: BTreeSet::new(),
            configs_due: BTreeSet::new(),
            hello_due: false,
        }
    }

    /// Publishes until stopped, then hands over what is left.
    async fn publish(mut self, mut connection: Connection) {
        // Up, down, or not heard of yet (the first connection is being made).
        let mut up: Option<bool> = None;
        loop {
            let connected = up == Some(true);
            if connected {
                self.hand_over(&connection.client);
            }
            let due = self.is_due();
            tokio::select! {
                live = connection.watch.live.recv() => match live {
                    Ok(Event::Change(change)) => self.note(&change),
                    Ok(Event::End { .. } | Event::Hosts(_)) => {}
                    Err(RecvError::Lagged(_)) => self.catch_up(&mut connection),
                    Err(RecvError::Closed) => break,
                },
                link = connection.link.recv() => match link {
                    Some(Link::Up) => {
                        up = Some(true);
                        self.all_due();
                    }
                    Some(Link::Down) => up = Some(false),
                    Some(Link::Birth) => self.all_due(),
                    None => break,
                },
                () = connection.handed.notified(), if connected && due => {}
                _ = &mut connection.stopped => break,
            }
        }
        self.finish(connection, up).await;
    }

    /// Hands over the changes recorded before the stop, `offline`, and the
    /// DISCONNECT that keeps the Last Will from being published, waiting at
    /// most [`STOP_WITHIN`].
    async fn finish(mut self, mut connection: Connection, mut up: Option<bool>) {
        while let Ok(link) = connection.link.try_recv() {
            match link {
                Link::Up => {
                    up = Some(true);
                    self.all_due();
                }
                Link::Down => up = Some(false),
                Link::Birth => self.all_due(),
            }
        }
        loop {
            match connection.watch.live.try_recv() {
                Ok(Event::Change(change)) => self.note(&change),
                Ok(Event::End { .. } | Event::Hosts(_)) => {}
                Err(TryRecvError::Lagged(_)) => self.catch_up(&mut connection),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let deadline = Instant::now() + STOP_WITHIN;
        let connected = match up {
            Some(up) => up,
            None => {
                let came = Board::comes_up(&mut connection, deadline).await;
                self.all_due();
                came
            }
        };
        if !connected {
            // Never connected, or the broker is gone: its Last Will says
            // `offline` for this sketch, if it ever heard of it.
            connection.driver.abort();
            return;
        }
        let client = &connection.client;
        let mut last = self.due_publishes();
        last.push((self.status.clone(), OFFLINE.to_owned()));
        let handed = async {
            for (topic, payload) in last {
                client.publish(topic, self.qos, true, payload).await?;
            }
            client.disconnect().await
        };
        if timeout_at(deadline, handed).await.is_err() {
            connection.driver.abort();
            return;
        }
        if timeout_at(deadline, &mut connection.driver).await.is_err() {
            connection.driver.abort();
        }
    }

    /// Whether the first connection, not made yet when the run stopped,
    /// comes up before `deadline` (a short run stops that soon); a broker
    /// that failed it gets no more waiting.
    async fn comes_up(connection: &mut Connection, deadline: Instant) -> bool {
        loop {
            match timeout_at(deadline, connection.link.recv()).await {
                Ok(Some(Link::Up)) => return true,
                Ok(Some(Link::Birth)) => {}
                Ok(Some(Link::Down) | None) | Err(_) => return false,
            }
        }
    }

    /// Keeps `change`, if it is one of this sketch's signals (not a lane of
    /// messages received or sent).
    fn note(&mut self, change: &Change) {
        if *change.sketch != *self.sketch
            || change.name == inputs::LANE
            || outputs::is_lane(change.name)
        {
            return;
        }
        self.keep(change.name, &change.value);
    }

    /// Keeps `value` as signal `name`'s latest.
    fn keep(&mut self, name: &str, value: &Value) {
        match self.latest.get_mut(name) {
            Some(latest) => *latest = value.clone(),
            None => {
                self.latest.insert(name.to_owned(), value.clone());
                if self.home_assistant {
                    self.configs_due.insert(name.to_owned());
                }
            }
        }
        if !self.states_due.contains(name) {
            self.states_due.insert(name.to_owned());
        }
    }

    /// After falling behind the live feed: the latest value of every signal,
    /// from the recorder's totals and recent past, and the feed from there.
    fn catch_up(&mut self, connection: &mut Connection) {
        connection.watch = connection.trace.watch();
        let own = format!("{}.", self.sketch);
        let before: Vec<(String, Value)> = connection
            .watch
            .before
            .iter()
            .filter_map(|(signal, totals)| {
                let name = signal.strip_prefix(&own)?;
                Some((name.to_owned(), totals.last.clone()?))
            })
            .collect();
        for (name, value) in before {
            if name != inputs::LANE && !outputs::is_lane(&name) {
                self.keep(&name, &value);
            }
        }
        let recent = std::mem::take(&mut connection.watch.recent);
        for change in &recent {
            self.note(change);
        }
    }

    /// Everything due again: after a new connection (the broker kept
    /// nothing of the last one but retained messages, which may be stale),
    /// or when Home Assistant asks.
    fn all_due(&mut self) {
        self.hello_due = true;
        self.states_due.extend(self.latest.keys().cloned());
        if self.home_assistant {
            self.configs_due.extend(self.latest.keys().cloned());
        }
    }

    /// Whether anything waits to be handed to the connection.
    fn is_due(&self) -> bool {
        self.hello_due || !self.states_due.is_empty() || !self.configs_due.is_empty()
    }

    /// Hands the connection what is due while it takes requests: `online`
    /// and the subscription first, then configs, then states.
    fn hand_over(&mut self, client: &AsyncClient) {
        if self.hello_due {
            if client
                .try_publish(&self.status, self.qos, true, ONLINE)
                .is_err()
            {
                return;
            }
            if self.home_assistant
                && client
                    .try_subscribe(home_assistant::STATUS_TOPIC, self.qos)
                    .is_err()
            {
                return;
            }
            self.hello_due = false;
        }
        while let Some(name) = self.configs_due.first().cloned() {
            let Some((topic, config)) = self.config(&name) else {
                self.configs_due.remove(&name);
                continue;
            };
            if client.try_publish(topic, self.qos, true, config).is_err() {
                return;
            }
            self.configs_due.remove(&name);
        }
        while let Some(name) = self.states_due.first().cloned() {
            let Some(value) = self.latest.get(&name) else {
                self.states_due.remove(&name);
                continue;
            };
            let topic = self.state_topic(&name);
            if client
                .try_publish(topic, self.qos, true, payload(value))
                .is_err()
            {
                return;
            }
            self.states_due.remove(&name);
        }
    }

    /// What is due, as topics and payloads, configs first.
    fn due_publishes(&mut self) -> Vec<(String, String)> {
        let mut due = Vec::new();
        if self.hello_due {
            due.push((self.status.clone(), ONLINE.to_owned()));
        }
        for name in std::mem::take(&mut self.configs_due) {
            due.extend(self.config(&name));
        }
        for name in std::mem::take(&mut self.states_due) {
            if let Some(value) = self.latest.get(&name) {
                due.push((self.state_topic(&name), payload(value)));
            }
        }
        due
    }

    /// `PREFIX/CIRCUIT/SKETCH/SIGNAL`.
    fn state_topic(&self, name: &str) -> String {
        format!("{}/{}", self.topics, level(name))
    }

    /// Home Assistant's config of signal `name`: its topic and JSON.
    fn config(&self, name: &str) -> Option<(String, String)> {
        let value = self.latest.get(name)?;
        let state_topic = self.state_topic(name);
        let entity = Entity {
            circuit: &self.circuit,
            sketch: &self.sketch,
            signal: name,
            component: Component::of(value),
            state_topic: &state_topic,
            availability_topic: &self.status,
        };
        Some((entity.config_topic(), entity.config()))
    }
}

/// A value as its topic carries it: a bit `ON` or `OFF` (Home Assistant's
/// defaults), a number in decimal, text as is.
pub(crate) fn payload(value: &Value) -> String {
    match value {
        Value::Bit(true) => home_assistant::ON.to_owned(),
        Value::Bit(false) => home_assistant::OFF.to_owned(),
        Value::Unsigned(number) => number.to_string(),
        Value::Signed(number) => number.to_string(),
        Value::Real(number) => number.to_string(),
        Value::Text(text) => text.to_string(),
    }
}

/// A name as one level of a topic: the wildcards `+` and `#`, which no
/// published topic may hold, become `_`.
fn level(name: &str) -> String {
    name.replace(['+', '#'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_text_home_assistant_reads() {
        assert_eq!(payload(&Value::Bit(true)), "ON");
        assert_eq!(payload(&Value::Bit(false)), "OFF");
        assert_eq!(payload(&Value::Unsigned(42)), "42");
        assert_eq!(payload(&Value::Signed(-7)), "-7");
        assert_eq!(payload(&Value::Real(21.5)), "21.5");
        assert_eq!(payload(&Value::Text("bzzz".into())), "bzzz");
    }

    #[test]
    fn a_board_keeps_only_the_latest_value_of_each_signal() {
        let mut board = Board::new("circuit", "demo", "buzzer", true, rumqttc::QoS::AtLeastOnce);
        let change = |name: &'static str, value: Value| Change {
            at: 0,
            sketch: "buzzer".into(),
            name,
            value,
        };
        for n in 0..10_000 {
            board.note(&change("buzz", Value::Bit(n % 2 == 1)));
            board.note(&change("count", Value::Unsigned(n)));
        }
        board.note(&change(inputs::LANE, Value::Text("x".into())));
        board.note(&change("link.out", Value::Text("x".into())));
        let mut other = change("buzz", Value::Bit(true));
        other.sketch = "clock".into();
        board.note(&other);
        let due = board.due_publishes();
        assert_eq!(
            due,
            [
                (
                    "homeassistant/binary_sensor/circuit_demo_buzzer/buzz/config".to_owned(),
                    board.config("buzz").unwrap().1
                ),
                (
                    "homeassistant/sensor/circuit_demo_buzzer/count/config".to_owned(),
                    board.config("count").unwrap().1
                ),
                ("circuit/demo/buzzer/buzz".to_owned(), "ON".to_owned()),
                ("circuit/demo/buzzer/count".to_owned(), "9999".to_owned()),
            ]
        );
        assert!(!board.is_due());
        board.all_due();
        assert_eq!(
            board.due_publishes().len(),
            5,
            "online, 2 configs, 2 states"
        );
    }
}
