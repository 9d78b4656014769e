//! An outbound link to another sketch: messages are queued and streamed in
//! order by a background task, with a window of them in flight, and every
//! acknowledgement checked against the message it answers.

use std::fmt::{self, Write as _};
use std::future::Future;
use std::marker::PhantomData;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::BytesMut;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::base::clock;
use crate::base::durable::OnDisk;
use crate::base::options::{LinkOptions, Token, WhenFull};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{LinkReport, Outbound};
use crate::base::wiring::{AnyText, Sendable};
use crate::net::find::address::Address;
use crate::net::send::delivery::{deliver, Release, Shared};
use crate::net::send::queue::{Answer, Command};
use crate::net::send::spool::writer::{self, Item};
use crate::net::send::spool::Spool;
use crate::net::wire::memory;
use crate::observe::metrics::{self, LinkSource};
use crate::observe::{log, outputs};

pub use crate::net::send::queue::LinkError;

/// Messages a link holds while its peer is slow or down, unless told otherwise.
const QUEUE: usize = 1024;

/// Bytes of message text formatted into one shared buffer before a new one is
/// taken: messages are cut from it, so a small message costs no allocation.
const ARENA: usize = 16 * 1024;

/// What a link that goes nowhere (in a replay) answers every message: the
/// protocol's "nothing to say", as a loop that returns `None` answers.
pub(crate) const NOWHERE: &str = "n/a";

/// Whether the links of this process stay inside it (`--replay`): set once,
/// before any sketch starts.
static INSIDE_ONLY: AtomicBool = AtomicBool::new(false);

/// From now on, a link of this process to anything outside it sends nothing:
/// no socket, no dial, no backoff. What it is given is recorded on its lane
/// (see `observe::outputs`) and answered at once with [`NOWHERE`]. Links
/// over in-process wires, to the other sketches of a circuit, deliver as ever.
pub(crate) fn keep_inside() {
    INSIDE_ONLY.store(true, Ordering::Relaxed);
}

/// Where a link's messages go, decided on its first message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// To its peer, by the delivering task.
    Peer,
    /// Nowhere, in a replay ([`keep_inside`]): each message is answered at once.
    Nowhere,
    /// Nowhere, and counted as lost: the peer is outside the process, whose
    /// simulated clock (`--sim`) it does not follow, so that a dial and its
    /// backoff would spin without ever waiting.
    OffClock,
}

impl Reach {
    /// Where a link to `address` sends, when links stay inside the process
    /// (`inside_only`) and when time is simulated (`simulated`).
    fn of(address: &Address, inside_only: bool, simulated: bool) -> Reach {
        let inside = matches!(address, Address::Url(url) if url.starts_with(memory::SCHEME));
        match (inside, inside_only, simulated) {
            (true, _, _) | (false, false, false) => Reach::Peer,
            (false, true, _) => Reach::Nowhere,
            (false, false, true) => Reach::OffClock,
        }
    }
}

/// A WebSocket link to another sketch, given on the command line as a URL.
///
/// As a setting, `buzzer: Link<u8>` becomes `--buzzer URL`; `buzzers:
/// Vec<Link<u8>>` takes the flag several times (or a comma list) and sends to
/// each peer; `fan: Option<Link<u8>>` may be left out.
///
/// **Typed.** `Link<M>` sends messages of type `M` (as their text), and a
/// circuit may only wire it to a sketch whose loop takes `M` (or `String`):
/// in code that is a compile error, in a circuit file an error before anything
/// starts. `Link` alone is `Link<AnyText>`: it sends anything displayable and
/// is checked by nobody.
///
/// [`Link::send`] queues a message and returns; a background task connects,
/// streams the queue in order with up to `--link-window` messages awaiting
/// their acknowledgement, and reads the acknowledgements back in order:
///
/// - **In order, at least once.** What a lost connection left unacknowledged
///   goes again, in order, on the next one. A peer silent for `--ack-timeout`
///   with messages outstanding is dropped the same way.
/// - **Alive while idle.** With nothing in flight the connection is still
///   read: the peer's keepalive pings are answered at once, and a peer silent
///   for `--ack-timeout` is pinged, then dropped if it stays silent as long
///   again; the next message connects anew.
/// - **No retry storm.** Every failed attempt (connecting, or a connection
///   ending before an acknowledgement) waits longer before the next, doubling
///   up to a second; only an acknowledgement resets the wait. A message that
///   `--link-attempts` connections ended on is dead-lettered: logged once,
///   counted, and skipped.
/// - **Checked answers.** An acknowledgement `error: …` (the peer could not
///   read the message, or its loop said no) is a refusal: logged with the
///   link's target and counted. A binary or unasked-for answer is a protocol
///   violation: the link closes with 1002 and tries again.
/// - **Retained, if asked.** With [`Link::retain_last`] (`--retain LINK`)
///   the last delivered message goes first on every new connection, so that
///   a peer that restarted learns it again.
/// - **Bounded memory.** The queue holds 1024 messages unless
///   [`Link::with_capacity`] says otherwise, and the window at most
///   `--link-window` unacknowledged ones (and 1 MiB of their text). A full
///   queue makes `send` wait, whether the peer is slow, connecting or down:
///   a slow peer slows the sender, and nothing is dropped. `--when-full
///   drop` drops instead, counted. A stopping sketch's waiting `send` gives
///   up after `--stop-timeout`, counted as dropped. Without `--spool` the
///   queue lives in memory: a process that crashes loses what it held.
/// - **On disk, with `--spool`.** `send` returns once the message is queued
///   for the disk, not synced: the sends of one loop run share one sync.
///   The upstream acknowledgement is what waits for the disk: a sketch
///   answers its peer only once what its loop sent is synced, so that an
///   acknowledgement upstream means stored downstream. Code that is no
///   reactive loop gets "queued for the disk" from `send`; [`Link::flush`]
///   and [`Link::request`] still wait for the peer.
/// - **Recorded, and nowhere in a replay.** With `--vcd`, what a link of a
///   sketch's settings is given goes on its lane of the recording
///   (`thermostat.fan.out`, one event per message). Under `--replay` a link
///   to anything outside the process sends nothing at all (no socket, no
///   dial) and answers every message at once with `n/a`; under `--sim` such
///   a link (which a circuit file cannot have) dead-letters what it is given.
/// - **Or to an MQTT broker.** `mqtt://[USER@]HOST[:PORT]/TOPIC` (`mqtts://`
///   over TLS, with the `mqtt` feature) publishes each message to TOPIC at
///   QoS 1, under the same rules: the broker's PUBACK is the acknowledgement
///   (its answer is `ok`), resent messages carry DUP and their packet
///   identifier, and a broker that refuses the login dead-letters as a peer
///   that refuses the token. `?qos=0` settles a message once written,
///   `?retain=1` sets the retain flag, `?version=5` speaks MQTT 5.
///
/// Code that wants the peer's answers uses [`Link::request`]:
///
/// ```no_run
/// # use circuit_runtime::Link;
/// # async fn demo() -> Result<(), circuit_runtime::net::LinkError> {
/// let fan = Link::new("ws://localhost:8771/fan").unwrap(); // untyped: any text
/// fan.send(1).await; // fire and forget: delivered in order, answer checked
/// let speed = fan.request("speed?").await?; // waits for this message's answer
/// println!("the fan says {speed}");
/// # Ok(()) }
/// ```
pub struct Link<M = AnyText> {
    /// Shared by the clones that command-line parsing makes.
    inner: Arc<Inner>,
    /// What it sends.
    sends: PhantomData<fn(M)>,
}

impl<M> Clone for Link<M> {
    fn clone(&self) -> Self {
        Link {
            inner: Arc::clone(&self.inner),
            sends: PhantomData,
        }
    }
}

/// The part of a link its clones share.
struct Inner {
    /// What the link and its delivering task share: target, counts, options.
    shared: Arc<Shared>,
    /// How many messages may wait for the peer.
    capacity: usize,
    /// The queue of the delivering task, started on the first send.
    queue: OnceLock<mpsc::Sender<Command>>,
    /// Text of messages being formatted, cut into frames (see [`ARENA`]).
    arena: Mutex<BytesMut>,
    /// The lane of the recording that keeps what it is given (`fan.out`),
    /// once the sketch that holds it named it after its setting.
    lane: OnceLock<&'static str>,
    /// Where its messages go, decided on the first one.
    reach: OnceLock<Reach>,
    /// With a spool (`--spool`), its writer, which stores what the link is
    /// given, then queues it as the queue has room (see `writer::write`); it
    /// takes more only while the spool holds less than `--spool-max`, so
    /// that a full spool makes `send` wait.
    writer: OnceLock<mpsc::Sender<Item>>,
}

impl Link {
    /// An untyped link to `url` (`ws://host:port/path`, or a sketch's name
    /// found by DNS-SD: `buzzer`, `buzzer/pin`); nothing connects until the
    /// first send. A typed one is parsed: `url.parse::<Link<u8>>()`.
    ///
    /// # Errors
    /// When `url` is neither a `ws://`/`wss://` URL with a host nor a name.
    pub fn new(url: &str) -> Result<Self, String> {
        Link::with_capacity(url, QUEUE)
    }

    /// An untyped link to `url` that holds at most `capacity` messages (at
    /// least 1) while its peer is down.
    ///
    /// # Errors
    /// As [`Link::new`].
    pub fn with_capacity(url: &str, capacity: usize) -> Result<Self, String> {
        Link::holding(url, capacity)
    }
}

impl<M> Link<M> {
    /// A link to `url` that holds at most `capacity` messages while its peer is down.
    fn holding(url: &str, capacity: usize) -> Result<Self, String> {
        let address = Address::parse(url)?;
        Ok(Link {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared::new(address)),
                capacity: capacity.max(1),
                queue: OnceLock::new(),
                arena: Mutex::new(BytesMut::new()),
                lane: OnceLock::new(),
                reach: OnceLock::new(),
                writer: OnceLock::new(),
            }),
            sends: PhantomData,
        })
    }

    /// Where this link sends.
    pub fn url(&self) -> &str {
        &self.inner.shared.url
    }

    /// Queues `message` for the peer (with `--spool`, for its spool's next
    /// sync: the acknowledgement upstream waits for that, not `send`).
    /// Waits only when the queue and the window are both full, whether the
    /// peer is slow, connecting or down:
    /// nothing is dropped. With `--when-full drop` it never waits, and a
    /// message that finds the queue full is counted in [`Link::overflowed`]
    /// and a warning says so; so is one still waiting when a stopping
    /// sketch's `--stop-timeout` runs out.
    pub async fn send(&self, message: impl Sendable<M>) {
        let _ = self.enqueue(message, None).await;
    }

    /// Sends `message` and waits for the peer's answer to it.
    ///
    /// # Errors
    /// [`LinkError::Refused`] when the peer answered `error: …`,
    /// [`LinkError::DeadLettered`] when it could not be delivered,
    /// [`LinkError::Full`] when the queue was full and the message dropped,
    /// [`LinkError::Stopped`] when the link stopped first,
    /// [`LinkError::OffClock`] when its peer is outside a process on simulated time.
    pub async fn request(&self, message: impl Sendable<M>) -> Result<String, LinkError> {
        let (answer, answered) = oneshot::channel();
        self.enqueue(message, Some(answer)).await?;
        answered.await.unwrap_or(Err(LinkError::Stopped))
    }

    /// Presents `token` to the peer from the next connection on; the first token given stays.
    pub fn authorize(&self, token: Token) {
        let _ = self.inner.shared.token.set(token);
    }

    /// Keeps the last message the peer acknowledged and sends it first on
    /// every new connection after the first, as an MQTT broker keeps a
    /// retained message: a peer that restarted (and forgot) gets the state
    /// it was last told at once, not with the next change. A lost connection
    /// is then made again in the background to resend it. The resend's
    /// acknowledgement is matched to it and counted apart
    /// ([`LinkReport::retained_resends`]), not as a new delivery. Only before
    /// the first message; `--retain LINK` says it on the command line.
    ///
    /// ```no_run
    /// # use circuit_runtime::Link;
    /// let fan = Link::new("ws://localhost:8771/fan").unwrap().retain_last();
    /// ```
    pub fn retain_last(self) -> Self {
        self.inner.shared.retain.store(true, Ordering::Relaxed);
        self
    }

    /// Uses `options` (window, attempts, acknowledgement timeout) instead of
    /// the defaults; only before the first message, and only the first options given.
    pub fn configure(&self, options: LinkOptions) {
        let _ = self.inner.shared.options.set(options);
    }

    /// How many messages found the queue full and were dropped (`--when-full
    /// drop`, or a stop that would wait no longer).
    pub fn overflowed(&self) -> u64 {
        self.inner
            .shared
            .counters
            .overflowed
            .load(Ordering::Relaxed)
    }

    /// What the link did with its messages so far.
    pub fn report(&self) -> LinkReport {
        self.inner.shared.counters.report()
    }

    /// Waits until every message sent so far has been acknowledged (or dead-lettered).
    pub async fn flush(&self) {
        self.ask(Command::Flush).await;
    }

    /// Flushes, then closes the connection with a close frame; a later send reconnects.
    pub async fn close(&self) {
        self.ask(Command::Close).await;
    }

    /// Names the link after the setting that holds it (`fan`, `buzzer.0`),
    /// which names its lane in a recording; the first name given stays.
    pub(crate) fn name(&self, name: impl FnOnce() -> String) {
        if self.inner.lane.get().is_none() {
            let _ = self.inner.lane.set(outputs::lane(&name()));
        }
    }

    /// The lane of the recording that keeps what it is given, once named.
    pub(crate) fn lane(&self) -> Option<&'static str> {
        self.inner.lane.get().copied()
    }

    /// Where this link's messages go (decided on the first, and said once
    /// when it is not to the peer).
    fn reach(&self) -> Reach {
        *self.inner.reach.get_or_init(|| {
            let url = &self.inner.shared.url;
            let reach = Reach::of(
                &self.inner.shared.address,
                INSIDE_ONLY.load(Ordering::Relaxed),
                clock::simulated(),
            );
            let kept = match self.lane() {
                Some(lane) => format!("recorded on the lane {}.{lane}", log::current()),
                None => "not recorded (the link is no setting of the sketch)".to_owned(),
            };
            match reach {
                Reach::Peer => {}
                Reach::Nowhere => tracing::info!(
                    "link to {url} sends nothing in a replay: what it is given is {kept} and answered {NOWHERE:?}"
                ),
                Reach::OffClock => tracing::error!(
                    "link to {url} leaves the process, whose simulated clock (--sim) its peer does not follow: nothing is sent, what it is given is dead-lettered"
                ),
            }
            reach
        })
    }

    /// Formats `message` into a frame and queues it, with `answer` for its acknowledgement.
    async fn enqueue(&self, message: impl fmt::Display, answer: Answer) -> Result<(), LinkError> {
        let frame = self.frame(message);
        if let Some(lane) = self.lane() {
            outputs::sent(lane, frame.as_str());
        }
        let counters = &self.inner.shared.counters;
        match self.reach() {
            Reach::Peer => {}
            Reach::Nowhere => {
                if let Some(answer) = answer {
                    let _ = answer.send(Ok(NOWHERE.to_owned()));
                }
                return Ok(());
            }
            Reach::OffClock => {
                counters.accepted.fetch_add(1, Ordering::Relaxed);
                counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                return Err(LinkError::OffClock(self.inner.shared.url.clone()));
            }
        }
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        if let Some(writer) = self.inner.writer.get() {
            return self.spooled(writer, frame, answer).await;
        }
        let command = Command::Send(frame, answer, 0);
        let queue = self.queue();
        // The delivering task only stops when every handle to its queue is
        // gone, so the queue is only ever full, never closed.
        let Err(TrySendError::Full(command)) = queue.try_send(command) else {
            return Ok(());
        };
        let shared = &self.inner.shared;
        if shared
            .options
            .get()
            .is_some_and(|options| options.when_full == WhenFull::Drop)
        {
            return Err(self.dropped());
        }
        let Some(release) = shared.release.get() else {
            let _ = queue.send(command).await;
            return Ok(());
        };
        tokio::select! {
            biased;
            permit = queue.reserve() => {
                if let Ok(permit) = permit {
                    permit.send(command);
                }
                Ok(())
            }
            () = release.released() => Err(self.dropped()),
        }
    }

    /// Hands `frame` to the spool's writer, waiting only for room (as an
    /// in-memory queue makes `send` wait), not for the disk: the sends of
    /// one loop run share one sync, and it is the acknowledgement upstream
    /// that waits until they are on disk (see `base::durable`). A send still
    /// waiting for room when the sketch stops keeps waiting: dropping it
    /// would let the loop acknowledge what was never stored. (A stop that
    /// runs out leaves the process.)
    async fn spooled(
        &self,
        writer: &mpsc::Sender<Item>,
        frame: Utf8Bytes,
        answer: Answer,
    ) -> Result<(), LinkError> {
        let shared = &self.inner.shared;
        let permit = match writer.try_reserve() {
            Ok(permit) => permit,
            Err(TrySendError::Closed(())) => return Err(LinkError::Stopped),
            Err(TrySendError::Full(())) => match shared.release.get() {
                None => writer.reserve().await.map_err(|_| LinkError::Stopped)?,
                Some(release) => {
                    let room = writer.reserve();
                    tokio::pin!(room);
                    tokio::select! {
                        biased;
                        permit = &mut room => permit.map_err(|_| LinkError::Stopped)?,
                        () = release.released() => {
                            tracing::warn!(
                                "link to {}: a message waiting for room in the spool holds its sender until the process leaves",
                                shared.url
                            );
                            room.await.map_err(|_| LinkError::Stopped)?
                        }
                    }
                }
            },
        };
        if let Some(spool) = shared.spool.get() {
            spool.on_disk.handed();
        }
        permit.send(Item::Send(frame, answer));
        Ok(())
    }

    /// Opens the link's spool in `dir`, as link `name` of sketch `sketch`,
    /// holding up to `max` unsettled bytes, and starts its writer, which
    /// first queues what an earlier run left.
    fn open_spool(&self, dir: &Path, sketch: &str, name: &str, max: u64) -> Result<(), String> {
        let opened = Spool::open(dir, sketch, name)?;
        let shared = &self.inner.shared;
        let _ = shared.identity.set(opened.spool.id);
        let _ = shared.spool.set(Arc::clone(&opened.spool));
        let left = opened.unsettled;
        if left > 0 {
            shared.counters.accepted.fetch_add(left, Ordering::Relaxed);
            shared.counters.resent.fetch_add(left, Ordering::Relaxed);
            tracing::info!(
                "link to {}: {left} messages left unacknowledged in {} go first",
                shared.url,
                opened.spool.path.display()
            );
        }
        let (items, taken) = mpsc::channel(self.inner.capacity);
        let queue = self.queue().clone();
        let capacity = self.inner.capacity;
        log::spawn(writer::write(opened.spool, taken, queue, capacity, max));
        let _ = self.inner.writer.set(items);
        Ok(())
    }

    /// Counts a message that found the queue full and was dropped, and says
    /// so at the first, then at 2, 4, 8, … so the log stays readable.
    fn dropped(&self) -> LinkError {
        let counters = &self.inner.shared.counters;
        counters.accepted.fetch_sub(1, Ordering::Relaxed);
        let lost = counters.overflowed.fetch_add(1, Ordering::Relaxed) + 1;
        if lost.is_power_of_two() {
            tracing::warn!(
                "link to {} is holding {} messages already; {lost} dropped so far",
                self.inner.shared.url,
                self.inner.capacity
            );
        }
        LinkError::Full
    }

    /// The message's text as a frame, cut from the shared buffer.
    fn frame(&self, message: impl fmt::Display) -> Utf8Bytes {
        let mut arena = self
            .inner
            .arena
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if arena.capacity() - arena.len() < 64 {
            arena.reserve(ARENA);
        }
        // Writing to memory cannot fail; a `Display` that fails leaves what it wrote.
        let _ = write!(arena, "{message}");
        let text = arena.split().freeze();
        // Formatted from `str`s, so always UTF-8; checked all the same.
        text.try_into()
            .unwrap_or_else(|_| Utf8Bytes::from_static(""))
    }

    /// Queues a command that answers once everything before it is delivered.
    async fn ask(&self, command: fn(oneshot::Sender<()>) -> Command) {
        let Some(queue) = self.inner.queue.get() else {
            return; // nothing was ever sent
        };
        let (done, delivered) = oneshot::channel();
        let Some(writer) = self.inner.writer.get() else {
            if queue.send(command(done)).await.is_ok() {
                let _ = delivered.await;
            }
            return;
        };
        // Behind what the spool's writer still holds; then what is settled
        // is written, so that a next run does not send it again.
        if writer.send(Item::Other(command(done))).await.is_ok() {
            let _ = delivered.await;
        }
        if let Some(spool) = self.inner.shared.spool.get() {
            writer::checkpoint(spool).await;
        }
    }

    /// The queue, starting the delivering task on first use.
    fn queue(&self) -> &mpsc::Sender<Command> {
        self.inner.queue.get_or_init(|| {
            let (queue, commands) = mpsc::channel(self.inner.capacity);
            let shared = Arc::clone(&self.inner.shared);
            #[cfg(feature = "mqtt")]
            if let Address::Mqtt(url) = &shared.address {
                // A broker's link is known to it by the sketch and the link's name.
                let name = self.lane().map_or("link", |lane| {
                    lane.strip_suffix(outputs::OUT)
                        .and_then(|name| name.strip_suffix('.'))
                        .unwrap_or(lane)
                });
                let client_id = url
                    .client_id
                    .clone()
                    .unwrap_or_else(|| crate::net::mqtt::session::client_id(&log::current(), name));
                let url = url.clone();
                log::spawn(crate::net::mqtt::publish::publish(
                    shared, url, client_id, commands,
                ));
                return queue;
            }
            log::spawn(deliver(shared, commands));
            queue
        })
    }
}

impl<M: 'static> Outbound for Link<M> {
    fn target(&self) -> &str {
        self.url()
    }

    fn configure(&self, options: &LinkOptions, token: Option<&Token>) {
        Link::configure(self, *options);
        if let Some(token) = token {
            self.authorize(token.clone());
        }
        // Declared at the start, so that a recording holds the lane even if
        // nothing goes on it, and a replay's check compares it.
        if let Some(lane) = self.lane() {
            outputs::declare(lane);
        }
    }

    fn retain(&self) {
        self.inner.shared.retain.store(true, Ordering::Relaxed);
    }

    fn release_on(&self, shutdown: &Shutdown, within: std::time::Duration) {
        let _ = self
            .inner
            .shared
            .release
            .set(Release::new(shutdown, within));
    }

    fn spool_in(&self, dir: &Path, sketch: &str, max: u64) -> Result<(), String> {
        let setting = self.lane().and_then(|lane| {
            lane.strip_suffix(outputs::OUT)
                .and_then(|name| name.strip_suffix('.'))
        });
        match setting {
            Some(name) => self.open_spool(dir, sketch, name, max),
            None => Ok(()), // not a setting: nothing names its file
        }
    }

    fn on_disk(&self) -> Option<Arc<OnDisk>> {
        let spool = self.inner.shared.spool.get()?;
        Some(Arc::clone(&spool.on_disk))
    }

    fn finish(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.close())
    }

    fn report(&self) -> LinkReport {
        Link::report(self)
    }

    fn meter(&self, sketch: &str) {
        let source: Arc<dyn LinkSource> = Arc::clone(&self.inner.shared) as _;
        metrics::Sketch::named(sketch).link(self.url(), source);
    }
}

impl<M> FromStr for Link<M> {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Link::holding(url, QUEUE)
    }
}

impl<M> fmt::Debug for Link<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Link").field(&self.inner.shared.url).finish()
    }
}

impl<M> fmt::Display for Link<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.shared.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_take_websocket_urls_only() {
        assert_eq!(
            Link::new("ws://localhost:8766/pin").unwrap().url(),
            "ws://localhost:8766/pin"
        );
        assert!(Link::new("http://localhost:8766").is_err());
        assert!(Link::new("ws:///pin").is_err());
        assert!("localhost:8766".parse::<Link>().is_err());
        // wss:// is a link's URL when the build has TLS, and said to need it otherwise.
        assert_eq!(
            Link::new("wss://localhost:8766/pin").is_ok(),
            cfg!(feature = "tls")
        );
    }

    #[tokio::test]
    async fn flushing_an_unused_link_returns_at_once() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), link.flush())
            .await
            .expect("nothing to deliver");
    }

    #[test]
    fn only_links_inside_the_process_reach_their_peer_in_a_replay_or_under_sim() {
        let inside = Address::parse("mem://buzzer/pin").unwrap();
        let outside = Address::parse("ws://127.0.0.1:9/pin").unwrap();
        for (inside_only, simulated) in [(false, false), (true, false), (false, true), (true, true)]
        {
            assert_eq!(Reach::of(&inside, inside_only, simulated), Reach::Peer);
        }
        assert_eq!(Reach::of(&outside, false, false), Reach::Peer);
        assert_eq!(Reach::of(&outside, true, false), Reach::Nowhere);
        assert_eq!(Reach::of(&outside, true, true), Reach::Nowhere);
        assert_eq!(Reach::of(&outside, false, true), Reach::OffClock);
    }

    #[tokio::test]
    async fn a_link_that_goes_nowhere_answers_at_once_and_holds_nothing() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        link.inner.reach.set(Reach::Nowhere).unwrap();
        link.send(1).await;
        let answer = tokio::time::timeout(std::time::Duration::from_secs(1), link.request(2))
            .await
            .expect("answered at once");
        assert_eq!(answer.as_deref(), Ok(NOWHERE));
        assert!(link.inner.queue.get().is_none(), "no task, so no dial");
        assert_eq!(link.report(), LinkReport::default());
    }

    #[tokio::test]
    async fn a_link_off_the_simulated_clock_sends_nothing_and_counts_the_loss() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        link.inner.reach.set(Reach::OffClock).unwrap();
        assert!(matches!(link.request(1).await, Err(LinkError::OffClock(_))));
        link.send(2).await;
        assert!(link.inner.queue.get().is_none(), "no task, so no dial");
        assert_eq!(link.report().dead_lettered, 2);
        assert_eq!(link.report().held, 0);
    }

    #[test]
    fn frames_are_cut_from_one_buffer_and_keep_their_text() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        let frames: Vec<_> = (0..100).map(|n| link.frame(n)).collect();
        let texts: Vec<&str> = frames.iter().map(|frame| frame.as_str()).collect();
        let expected: Vec<String> = (0..100).map(|n| n.to_string()).collect();
        assert_eq!(texts, expected);
    }
}
