//! Wires inside one process: when both ends of a link or a timer live in the
//! same process (`up`, `circuit`), the frames a WebSocket would carry are
//! handed over as values, one queue for each direction, with no framing, no
//! masking and no kernel. Each end keeps the WebSocket's rules (the close
//! handshake, pings answered, the server's size limit, an end without a close
//! being an error), so the code on both sides is the code that serves
//! sockets: one acknowledgement per message, in order, the same log lines,
//! signals and end-of-run lines. `mem://NAME/PATH` reaches the server
//! registered as NAME in this process.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::{Sink, Stream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::server::Request;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The URL scheme of an in-process wire.
pub const SCHEME: &str = "mem://";

/// A peer arriving at an in-process server.
pub(crate) struct Incoming {
    /// Its handshake, as a socket's would be: the path, the token.
    pub(crate) request: Request,
    /// The server's end of the wire.
    pub(crate) pipe: Pipe,
    /// Told whether the server took the peer, or the HTTP status it refused it with.
    pub(crate) answer: oneshot::Sender<Result<(), StatusCode>>,
}

/// The servers of this process that take in-process peers, by name.
type Servers = Mutex<HashMap<String, mpsc::UnboundedSender<Incoming>>>;

/// The servers of this process that take in-process peers.
fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers server `name`: its in-process peers arrive on the receiver, until it is dropped.
pub(crate) fn register(name: &str) -> mpsc::UnboundedReceiver<Incoming> {
    let (peers, arriving) = mpsc::unbounded_channel();
    servers()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name.to_owned(), peers);
    arriving
}

/// Opens a wire to server `name` of this process with the handshake
/// `request`, if the server is there: our end, and where its answer comes.
pub(crate) fn connect(
    name: &str,
    request: Request,
) -> Option<(Pipe, oneshot::Receiver<Result<(), StatusCode>>)> {
    let servers = servers().lock().unwrap_or_else(PoisonError::into_inner);
    let server = servers.get(name)?;
    let (ours, theirs) = Pipe::pair();
    let (answer, answered) = oneshot::channel();
    server
        .send(Incoming {
            request,
            pipe: theirs,
            answer,
        })
        .ok()?;
    Some((ours, answered))
}

/// One end of an in-process wire: a stream of the peer's frames and a sink
/// for ours, as a WebSocket is.
pub(crate) struct Pipe {
    /// Our frames to the peer; `None` once the close handshake is over.
    outgoing: Option<Writer>,
    /// The peer's frames.
    incoming: Reader,
    /// Whether we sent our close frame.
    closed_ours: bool,
    /// Whether the peer's close frame arrived.
    closed_theirs: bool,
    /// Whether the stream has ended.
    ended: bool,
    /// The largest message this end takes (a server's `--max-message`).
    max_message: Option<usize>,
}

impl Pipe {
    /// Both ends of a new wire.
    fn pair() -> (Pipe, Pipe) {
        let (to_b, from_a) = lane();
        let (to_a, from_b) = lane();
        (Pipe::end(to_b, from_b), Pipe::end(to_a, from_a))
    }

    /// One end, writing to `outgoing` and reading `incoming`.
    fn end(outgoing: Writer, incoming: Reader) -> Pipe {
        Pipe {
            outgoing: Some(outgoing),
            incoming,
            closed_ours: false,
            closed_theirs: false,
            ended: false,
            max_message: None,
        }
    }

    /// Refuses messages larger than `max` bytes, as a server's socket does.
    pub(crate) fn limit(&mut self, max: usize) {
        self.max_message = Some(max);
    }

    /// Puts `frame` on the wire; the close frame ends our side of it.
    fn put(&mut self, frame: Message) -> Result<(), WsError> {
        if self.closed_ours {
            return Err(WsError::Protocol(ProtocolError::SendAfterClosing));
        }
        self.closed_ours = matches!(frame, Message::Close(_));
        let Some(outgoing) = &self.outgoing else {
            return Err(WsError::AlreadyClosed);
        };
        if !outgoing.send(frame) {
            return Err(WsError::Io(std::io::ErrorKind::BrokenPipe.into()));
        }
        if self.closed_ours && self.closed_theirs {
            self.outgoing = None; // the handshake is over: the peer's stream ends
        }
        Ok(())
    }
}

/// One direction of a wire: the frames on their way and the reader's waker,
/// under a lock held for a push or a pop. A wire has one writer and one
/// reader, usually on one thread, so the lock is never contended; it costs
/// less than a channel built for many senders. Unbounded, because nothing
/// that writes to a wire outruns its reader: a link holds at most its window
/// unacknowledged, a timer one tick, a server one acknowledgement per message
/// it read.
struct Lane(Mutex<Frames>);

/// What a lane holds.
struct Frames {
    /// Written, not yet read, oldest first.
    queue: VecDeque<Message>,
    /// Woken by the next write.
    reader: Option<Waker>,
    /// The writer is gone: once the queue is read, the lane has ended.
    writer_gone: bool,
    /// The reader is gone: writing is in vain.
    reader_gone: bool,
}

/// A new lane: its writing end and its reading end.
fn lane() -> (Writer, Reader) {
    let lane = Arc::new(Lane(Mutex::new(Frames {
        queue: VecDeque::new(),
        reader: None,
        writer_gone: false,
        reader_gone: false,
    })));
    (Writer(Arc::clone(&lane)), Reader(lane))
}

impl Lane {
    /// The lane's state; a panic elsewhere while it was held leaves it usable.
    fn frames(&self) -> std::sync::MutexGuard<'_, Frames> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writing end of a lane.
struct Writer(Arc<Lane>);

impl Writer {
    /// Queues `frame` for the reader; `false` when the reader is gone.
    fn send(&self, frame: Message) -> bool {
        let mut frames = self.0.frames();
        if frames.reader_gone {
            return false;
        }
        frames.queue.push_back(frame);
        let reader = frames.reader.take();
        drop(frames);
        if let Some(reader) = reader {
            reader.wake();
        }
        true
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let mut frames = self.0.frames();
        frames.writer_gone = true;
        let reader = frames.reader.take();
        drop(frames);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// The reading end of a lane.
struct Reader(Arc<Lane>);

impl Reader {
    /// The next frame; `None` once the writer is gone and everything is read.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let mut frames = self.0.frames();
        if let Some(frame) = frames.queue.pop_front() {
            return Poll::Ready(Some(frame));
        }
        if frames.writer_gone {
            return Poll::Ready(None);
        }
        if !frames
            .reader
            .as_ref()
            .is_some_and(|reader| reader.will_wake(cx.waker()))
        {
            frames.reader = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut frames = self.0.frames();
        frames.reader_gone = true;
        frames.queue.clear();
    }
}

impl Stream for Pipe {
    type Item = Result<Message, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let pipe = self.get_mut();
        if pipe.ended || (pipe.closed_ours && pipe.closed_theirs) {
            pipe.ended = true;
            return Poll::Ready(None);
        }
        let frame = match pipe.incoming.poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(frame)) => frame,
            Poll::Ready(None) => {
                // The peer's end is gone without a close frame, like a reset socket.
                pipe.ended = true;
                return Poll::Ready(Some(Err(WsError::Protocol(
                    ProtocolError::ResetWithoutClosingHandshake,
                ))));
            }
        };
        let item = match frame {
            Message::Close(close) => {
                pipe.closed_theirs = true;
                // Answered at once, as tungstenite answers a close.
                if !pipe.closed_ours {
                    let _ = pipe.put(Message::Close(close.clone()));
                }
                Ok(Message::Close(close))
            }
            Message::Ping(data) => {
                let _ = pipe.put(Message::Pong(data.clone()));
                Ok(Message::Ping(data))
            }
            Message::Text(text) if pipe.max_message.is_some_and(|max| text.len() > max) => {
                Err(too_long(text.len(), pipe.max_message))
            }
            Message::Binary(bytes) if pipe.max_message.is_some_and(|max| bytes.len() > max) => {
                Err(too_long(bytes.len(), pipe.max_message))
            }
            frame => Ok(frame),
        };
        Poll::Ready(Some(item))
    }
}

/// The error a socket gives for a message beyond its limit.
fn too_long(size: usize, max: Option<usize>) -> WsError {
    WsError::Capacity(CapacityError::MessageTooLong {
        size,
        max_size: max.unwrap_or(0),
    })
}

impl Sink<Message> for Pipe {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, frame: Message) -> Result<(), WsError> {
        self.get_mut().put(frame)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let pipe = self.get_mut();
        if !pipe.closed_ours {
            let _ = pipe.put(Message::Close(None));
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    #[tokio::test]
    async fn frames_arrive_in_order_and_a_close_is_answered() {
        let (mut client, mut server) = Pipe::pair();
        client.send(Message::text("1")).await.unwrap();
        client.send(Message::text("2")).await.unwrap();
        assert_eq!(server.next().await.unwrap().unwrap(), Message::text("1"));
        assert_eq!(server.next().await.unwrap().unwrap(), Message::text("2"));
        let bye = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        client
            .send(Message::Close(Some(bye.clone())))
            .await
            .unwrap();
        assert!(client.send(Message::text("3")).await.is_err());
        let got = server.next().await.unwrap().unwrap();
        assert_eq!(got, Message::Close(Some(bye.clone())));
        assert!(server.next().await.is_none());
        // The answer to our close, then the end.
        let answer = client.next().await.unwrap().unwrap();
        assert_eq!(answer, Message::Close(Some(bye)));
        assert!(client.next().await.is_none());
    }

    #[tokio::test]
    async fn a_ping_is_answered_and_an_end_without_close_is_an_error() {
        let (mut client, mut server) = Pipe::pair();
        server.send(Message::Ping(vec![7].into())).await.unwrap();
        assert!(matches!(client.next().await, Some(Ok(Message::Ping(_)))));
        assert!(matches!(server.next().await, Some(Ok(Message::Pong(_)))));
        drop(client);
        assert!(matches!(
            server.next().await,
            Some(Err(WsError::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            )))
        ));
        assert!(server.next().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_and_a_write_to_a_gone_peer_fails() {
        let (mut client, mut server) = Pipe::pair();
        let reading = tokio::spawn(async move { server.next().await.map(Result::unwrap) });
        tokio::task::yield_now().await; // the reader waits now
        client.send(Message::text("late")).await.unwrap();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), reading).await;
        assert_eq!(read.unwrap().unwrap(), Some(Message::text("late")));
        // The server's end was dropped with the task.
        assert!(matches!(
            client.send(Message::text("nobody")).await,
            Err(WsError::Io(_))
        ));
    }

    #[tokio::test]
    async fn a_server_end_refuses_what_is_beyond_its_limit() {
        let (mut client, mut server) = Pipe::pair();
        server.limit(4);
        client.send(Message::text("12345")).await.unwrap();
        client.send(Message::text("1234")).await.unwrap();
        assert!(matches!(
            server.next().await,
            Some(Err(WsError::Capacity(_)))
        ));
        assert_eq!(server.next().await.unwrap().unwrap(), Message::text("1234"));
    }
}
