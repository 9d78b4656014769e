//! An outbound link to another sketch: messages are queued and streamed in
//! order by a background task, with a window of them in flight, and every
//! acknowledgement checked against the message it answers.

use std::fmt::{self, Write as _};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::BytesMut;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::base::options::{LinkOptions, Token};
use crate::base::sketch::{LinkReport, Outbound};
use crate::base::wiring::{AnyText, Sendable};
use crate::net::find::address::Address;
use crate::net::send::delivery::{deliver, Answer, Command, Shared};
use crate::observe::log;

pub use crate::net::send::delivery::LinkError;

/// Messages a link holds while its peer is slow or down, unless told otherwise.
const QUEUE: usize = 1024;

/// Bytes of message text formatted into one shared buffer before a new one is
/// taken: messages are cut from it, so a small message costs no allocation.
const ARENA: usize = 16 * 1024;

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
///   `--link-window` unacknowledged ones (and 1 MiB of their text). Once the
///   peer was reached, a full queue makes `send` wait (a slow peer slows the
///   sender); while it cannot be reached, only the queue fills, `send` never
///   waits, and what does not fit is counted, never silently lost. Queues live
///   in memory: a process that crashes loses what it held.
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
            }),
            sends: PhantomData,
        })
    }

    /// Where this link sends.
    pub fn url(&self) -> &str {
        &self.inner.shared.url
    }

    /// Queues `message` for the peer. Once the peer was reached, waits only
    /// when the queue and the window are both full; until then, and while the
    /// peer cannot be reached, returns at once, and a message that finds the
    /// queue full is counted in [`Link::overflowed`] and a warning says so.
    pub async fn send(&self, message: impl Sendable<M>) {
        let _ = self.enqueue(message, None).await;
    }

    /// Sends `message` and waits for the peer's answer to it.
    ///
    /// # Errors
    /// [`LinkError::Refused`] when the peer answered `error: …`,
    /// [`LinkError::DeadLettered`] when it could not be delivered,
    /// [`LinkError::Full`] when the peer is down and the queue full,
    /// [`LinkError::Stopped`] when the link stopped first.
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

    /// How many messages found the queue full and were dropped.
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

    /// Formats `message` into a frame and queues it, with `answer` for its acknowledgement.
    async fn enqueue(&self, message: impl fmt::Display, answer: Answer) -> Result<(), LinkError> {
        let command = Command::Send(self.frame(message), answer);
        let counters = &self.inner.shared.counters;
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        if self.inner.shared.reached.load(Ordering::Relaxed) {
            // The delivering task only stops when every handle to its queue is gone.
            let _ = self.queue().send(command).await;
            return Ok(());
        }
        match self.queue().try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                counters.accepted.fetch_sub(1, Ordering::Relaxed);
                let lost = counters.overflowed.fetch_add(1, Ordering::Relaxed) + 1;
                // Once at the start of an outage, then at 2, 4, 8, … so the log stays readable.
                if lost.is_power_of_two() {
                    tracing::warn!(
                        "link to {} is holding {} messages already; {lost} dropped so far",
                        self.inner.shared.url,
                        self.inner.capacity
                    );
                }
                Err(LinkError::Full)
            }
        }
    }

    /// The message's text as a frame, cut from the shared buffer.
    fn frame(&self, message: impl fmt::Display) -> tokio_tungstenite::tungstenite::Utf8Bytes {
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
            .unwrap_or_else(|_| tokio_tungstenite::tungstenite::Utf8Bytes::from_static(""))
    }

    /// Queues a command that answers once everything before it is delivered.
    async fn ask(&self, command: fn(oneshot::Sender<()>) -> Command) {
        let Some(queue) = self.inner.queue.get() else {
            return; // nothing was ever sent
        };
        let (done, delivered) = oneshot::channel();
        if queue.send(command(done)).await.is_ok() {
            let _ = delivered.await;
        }
    }

    /// The queue, starting the delivering task on first use.
    fn queue(&self) -> &mpsc::Sender<Command> {
        self.inner.queue.get_or_init(|| {
            let (queue, commands) = mpsc::channel(self.inner.capacity);
            log::spawn(deliver(Arc::clone(&self.inner.shared), commands));
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
    }

    fn retain(&self) {
        self.inner.shared.retain.store(true, Ordering::Relaxed);
    }

    fn finish(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.close())
    }

    fn report(&self) -> LinkReport {
        Link::report(self)
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
    fn frames_are_cut_from_one_buffer_and_keep_their_text() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        let frames: Vec<_> = (0..100).map(|n| link.frame(n)).collect();
        let texts: Vec<&str> = frames.iter().map(|frame| frame.as_str()).collect();
        let expected: Vec<String> = (0..100).map(|n| n.to_string()).collect();
        assert_eq!(texts, expected);
    }
}
