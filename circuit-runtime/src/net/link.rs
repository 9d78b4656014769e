//! An outbound link to another sketch: messages are queued and delivered in
//! order by a background task, which reconnects whenever the peer is down.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use futures_util::SinkExt;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::base::options::Token;
use crate::base::sketch::Outbound;
use crate::net::socket::{close_politely, dial, read_ack, Backoff, Socket};
use crate::observe::log;

/// Messages a link holds while its peer is slow or down, unless told otherwise.
const QUEUE: usize = 1024;

/// A WebSocket link to another sketch, given on the command line as a URL.
///
/// As a setting, `buzzer: Link` becomes `--buzzer URL`. [`Link::send`] queues a
/// message and returns; a background task connects (retrying while the peer is
/// down, and saying so once), sends each message, and waits for its
/// acknowledgement before sending the next, so messages arrive in order.
///
/// The queue is bounded (1024 messages unless [`Link::with_capacity`] says
/// otherwise). While the peer is up, a full queue makes `send` wait, so a slow
/// peer slows the sender down and nothing is lost. While the peer is down,
/// `send` never waits: what does not fit is counted in [`Link::overflowed`]
/// and reported, never silently lost.
#[derive(Clone)]
pub struct Link {
    /// Shared by the clones that command-line parsing makes.
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the messages go, such as `ws://localhost:8766/pin`.
    url: String,
    /// How many messages may wait for the peer.
    capacity: usize,
    /// The queue of the delivering task, started on the first send.
    queue: OnceLock<mpsc::Sender<Command>>,
    /// Messages that found the queue full while the peer was down.
    overflowed: AtomicU64,
    /// Whether the delivering task is connected to the peer right now.
    up: AtomicBool,
    /// The token presented to the peer: the sketch's own `--token`.
    token: OnceLock<Token>,
}

/// What the delivering task is asked to do, in order.
enum Command {
    /// Deliver this text frame and wait for its acknowledgement.
    Send(String),
    /// Say when everything queued before this has been acknowledged.
    Flush(oneshot::Sender<()>),
    /// As `Flush`, then close the connection (the next send opens a new one).
    Close(oneshot::Sender<()>),
}

impl Link {
    /// A link to `url` (`ws://host:port/path`); nothing connects until the first send.
    ///
    /// # Errors
    /// When `url` is not a `ws://` or `wss://` URL with a host.
    pub fn new(url: &str) -> Result<Self, String> {
        Link::with_capacity(url, QUEUE)
    }

    /// A link to `url` that holds at most `capacity` messages (at least 1) while its peer is down.
    ///
    /// # Errors
    /// When `url` is not a `ws://` or `wss://` URL with a host.
    pub fn with_capacity(url: &str, capacity: usize) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("wss://"))
            .ok_or_else(|| format!("{url:?} is not a WebSocket URL (ws://host:port/path)"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Link {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                capacity: capacity.max(1),
                queue: OnceLock::new(),
                overflowed: AtomicU64::new(0),
                up: AtomicBool::new(false),
                token: OnceLock::new(),
            }),
        })
    }

    /// Where this link sends.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Queues `message` for the peer. While the peer is up, waits for room in
    /// the queue; while it is down, returns at once, and a message that finds
    /// the queue full is counted in [`Link::overflowed`] and a warning says so.
    pub async fn send(&self, message: impl fmt::Display) {
        let command = Command::Send(message.to_string());
        if self.inner.up.load(Ordering::Relaxed) {
            // The delivering task only stops when every handle to its queue is gone.
            let _ = self.queue().send(command).await;
            return;
        }
        match self.queue().try_send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let lost = self.inner.overflowed.fetch_add(1, Ordering::Relaxed) + 1;
                // Once at the start of an outage, then at 2, 4, 8, … so the log stays readable.
                if lost.is_power_of_two() {
                    tracing::warn!(
                        "link to {} is holding {} messages already; {lost} dropped so far",
                        self.inner.url,
                        self.inner.capacity
                    );
                }
            }
            // The delivering task only stops when every handle to its queue is gone.
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Presents `token` to the peer from the next connection on; the first token given stays.
    pub fn authorize(&self, token: Token) {
        let _ = self.inner.token.set(token);
    }

    /// How many messages found the queue full and were dropped.
    pub fn overflowed(&self) -> u64 {
        self.inner.overflowed.load(Ordering::Relaxed)
    }

    /// Waits until every message sent so far has been acknowledged by the peer.
    pub async fn flush(&self) {
        self.ask(Command::Flush).await;
    }

    /// Flushes, then closes the connection with a close frame; a later send reconnects.
    pub async fn close(&self) {
        self.ask(Command::Close).await;
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
            log::spawn(deliver(Arc::clone(&self.inner), commands));
            queue
        })
    }
}

impl Outbound for Link {
    fn target(&self) -> &str {
        self.url()
    }

    fn present(&self, token: &Token) {
        self.authorize(token.clone());
    }

    fn finish(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.close())
    }
}

impl FromStr for Link {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Link::new(url)
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Link").field(&self.inner.url).finish()
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.url)
    }
}

/// The delivering task: one message at a time, each acknowledged before the next.
async fn deliver(link: Arc<Inner>, mut commands: mpsc::Receiver<Command>) {
    let url = link.url.as_str();
    let mut peer: Option<Socket> = None;
    let mut down = false;
    while let Some(command) = commands.recv().await {
        let text = match command {
            Command::Send(text) => text,
            Command::Flush(done) => {
                let _ = done.send(());
                continue;
            }
            Command::Close(done) => {
                link.up.store(false, Ordering::Relaxed);
                if let Some(socket) = peer.take() {
                    close(socket).await;
                }
                let _ = done.send(());
                continue;
            }
        };
        let mut backoff = Backoff::new();
        loop {
            let socket = match peer.as_mut() {
                Some(socket) => socket,
                None => match dial(url, link.token.get()).await {
                    Ok(socket) => {
                        link.up.store(true, Ordering::Relaxed);
                        if down {
                            tracing::info!("link to {url} is up again");
                            down = false;
                        }
                        peer.insert(socket)
                    }
                    Err(err) => {
                        if !down {
                            tracing::warn!(
                                "link to {url} is down ({err}); retrying in the background"
                            );
                            down = true;
                        }
                        sleep(backoff.next_wait()).await;
                        continue;
                    }
                },
            };
            match exchange(socket, &text).await {
                Ok(()) => break,
                Err(err) => {
                    link.up.store(false, Ordering::Relaxed);
                    // Resend on a fresh connection: the peer may not have seen it.
                    if !down {
                        tracing::warn!("link to {url} is down ({err}); retrying in the background");
                        down = true;
                    }
                    peer = None;
                }
            }
        }
    }
    if let Some(socket) = peer {
        close(socket).await;
    }
}

/// Ends a connection the polite way: close frame 1000, then the peer's answer.
async fn close(mut socket: Socket) {
    close_politely(&mut socket, CloseCode::Normal, "").await;
}

/// Sends one text frame and waits for its acknowledgement.
async fn exchange(socket: &mut Socket, text: &str) -> Result<(), String> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|err| err.to_string())?;
    read_ack(socket).await.map(drop)
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
    }

    #[tokio::test]
    async fn flushing_an_unused_link_returns_at_once() {
        let link = Link::new("ws://127.0.0.1:1/never").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), link.flush())
            .await
            .expect("nothing to deliver");
    }
}
