//! A WebSocket connection as every side uses it: what a conversation runs
//! on (`Frames`), a client's connection (`Socket`, over the network or an
//! in-process wire), the read buffer size, reading an acknowledgement, and
//! the polite close. Servers, links, the timer, the probe and the analyzer
//! call these instead of keeping copies.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::base::error::Result;
use crate::net::wire::memory::Pipe;

/// How much tungstenite reads from the socket at a time. Its default (128 KiB)
/// is zero-filled before every read, which costs more than the small frames of
/// a sketch ever need, in time and in memory per idle peer.
pub(crate) const READ_BUFFER: usize = 4 * 1024;

/// How long we wait for the peer's answer to our close frame.
const CLOSING: Duration = Duration::from_secs(1);

/// What every conversation runs on: a stream of the peer's frames and a
/// sink for ours, over a socket or an in-process wire alike.
pub(crate) trait Frames:
    Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin
{
}

impl<T> Frames for T where
    T: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin
{
}

/// A client connection to another sketch: a WebSocket over TCP (plain or
/// TLS), or an in-process wire.
// One per connection: boxing the larger variant would add a pointer chase to
// every frame to save a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Socket {
    /// Over the network (or loopback).
    Network(WebSocketStream<MaybeTlsStream<TcpStream>>),
    /// Inside this process.
    Memory(Pipe),
}

impl Stream for Socket {
    type Item = Result<Message, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            Socket::Network(socket) => socket.poll_next_unpin(cx),
            Socket::Memory(pipe) => pipe.poll_next_unpin(cx),
        }
    }
}

impl Sink<Message> for Socket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            Socket::Network(socket) => socket.poll_ready_unpin(cx),
            Socket::Memory(pipe) => pipe.poll_ready_unpin(cx),
        }
    }

    fn start_send(self: Pin<&mut Self>, frame: Message) -> Result<(), WsError> {
        match self.get_mut() {
            Socket::Network(socket) => socket.start_send_unpin(frame),
            Socket::Memory(pipe) => pipe.start_send_unpin(frame),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            Socket::Network(socket) => socket.poll_flush_unpin(cx),
            Socket::Memory(pipe) => pipe.poll_flush_unpin(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            Socket::Network(socket) => socket.poll_close_unpin(cx),
            Socket::Memory(pipe) => pipe.poll_close_unpin(cx),
        }
    }
}

/// Sends a close frame with `code` and `reason`, then reads until the peer's
/// answer (for at most a second): every side of the runtime ends this way.
pub(crate) async fn close_politely(socket: &mut impl Frames, code: CloseCode, reason: &str) {
    tracing::debug!(
        "closing with {}{}",
        u16::from(code),
        if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        }
    );
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = timeout(CLOSING, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// The next text (or binary) frame from the peer: the acknowledgement of
/// what was sent. A close frame is an error that gives its code and reason.
pub(crate) async fn read_ack(socket: &mut Socket) -> Result<String, String> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Binary(bytes))) => {
                return Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            Some(Ok(Message::Close(frame))) => {
                let why = match frame {
                    Some(frame) => {
                        format!("closed with {}: {}", u16::from(frame.code), frame.reason)
                    }
                    None => "closed".to_owned(),
                };
                tracing::debug!("the peer {why}");
                return Err(why);
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.to_string()),
            None => return Err("connection ended".to_owned()),
        }
    }
}
