//! Wires inside one process: when both ends of a link or a timer live in the
//! same process (`up`, `circuit`), the frames a WebSocket would carry are
//! handed over as values through a pair of channels, with no framing, no
//! masking and no kernel. Each end keeps the WebSocket's rules (the close
//! handshake, pings answered, the server's size limit, an end without a close
//! being an error), so the code on both sides is the code that serves
//! sockets: one acknowledgement per message, in order, the same log lines,
//! signals and end-of-run lines. `mem://NAME/PATH` reaches the server
//! registered as NAME in this process.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::server::Request;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The URL scheme of an in-process wire.
pub const SCHEME: &str = "mem://";

/// A peer arriving at an in-process server.
pub(crate) struct Arrival {
    /// Its handshake, as a socket's would be: the path, the token.
    pub(crate) request: Request,
    /// The server's end of the wire.
    pub(crate) pipe: Pipe,
    /// Told whether the server took the peer, or the HTTP status it refused it with.
    pub(crate) answer: oneshot::Sender<Result<(), StatusCode>>,
}

/// The servers of this process that take in-process peers, by name.
type Servers = Mutex<HashMap<String, mpsc::UnboundedSender<Arrival>>>;

/// The servers of this process that take in-process peers.
fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers server `name`: its in-process peers arrive on the receiver, until it is dropped.
pub(crate) fn register(name: &str) -> mpsc::UnboundedReceiver<Arrival> {
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
        .send(Arrival {
            request,
            pipe: theirs,
            answer,
        })
        .ok()?;
    Some((ours, answered))
}

/// One end of an in-process wire: a stream of the peer's frames and a sink
/// for ours, as a WebSocket is.
// The channels are unbounded because nothing that writes to one outruns its
// reader: a link holds at most its window unacknowledged, a timer one tick, a
// server one acknowledgement per message it read.
pub(crate) struct Pipe {
    /// Our frames to the peer; `None` once the close handshake is over.
    outgoing: Option<mpsc::UnboundedSender<Message>>,
    /// The peer's frames.
    incoming: mpsc::UnboundedReceiver<Message>,
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
        let (to_b, from_a) = mpsc::unbounded_channel();
        let (to_a, from_b) = mpsc::unbounded_channel();
        (Pipe::end(to_b, from_b), Pipe::end(to_a, from_a))
    }

    /// One end, writing to `outgoing` and reading `incoming`.
    fn end(
        outgoing: mpsc::UnboundedSender<Message>,
        incoming: mpsc::UnboundedReceiver<Message>,
    ) -> Pipe {
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
        if outgoing.send(frame).is_err() {
            return Err(WsError::Io(std::io::ErrorKind::BrokenPipe.into()));
        }
        if self.closed_ours && self.closed_theirs {
            self.outgoing = None; // the handshake is over: the peer's stream ends
        }
        Ok(())
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
        let frame = match pipe.incoming.poll_recv(cx) {
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
