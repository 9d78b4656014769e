//! The network helpers every side shares: dial (with backoff), the read
//! buffer size, reading an acknowledgement, and the polite close. Servers,
//! links, the timer, the probe and the analyzer call these instead of keeping
//! copies.

use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, MaybeTlsStream, WebSocketStream};

use crate::base::error::Result;
use crate::base::options::Token;
use crate::net::wire::memory::{self, Pipe};
use crate::net::wire::{auth, tls};

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

/// How long one connection attempt (TCP and handshake) may take.
const ATTEMPT: Duration = Duration::from_secs(5);

/// Capped exponential backoff between connection attempts.
#[derive(Debug)]
pub(crate) struct Backoff {
    /// The wait before the next attempt.
    next: Duration,
}

impl Backoff {
    /// The first wait.
    const FIRST: Duration = Duration::from_millis(50);
    /// No wait is longer than this, so a returning peer is found quickly.
    const CAP: Duration = Duration::from_secs(1);

    pub(crate) fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// The wait before the next attempt; each call doubles it up to the cap.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        wait
    }
}

/// Why a connection could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DialError {
    /// Nobody answered, or the connection broke: worth trying again.
    Absent(String),
    /// The peer answered and said no (HTTP 401, a certificate that fails its
    /// check, our token kept from a plain connection): trying again cannot mend it.
    Refused(String),
}

impl DialError {
    /// Whether trying again cannot help.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(self, DialError::Refused(_))
    }
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Absent(why) | DialError::Refused(why) => f.write_str(why),
        }
    }
}

/// One attempt to connect to `url` (`ws://` or `wss://`), presenting `token`
/// if there is one. A `wss://` server's certificate is checked against
/// `name` when given (a sketch found by its name), else the URL's host.
pub(crate) async fn dial(
    url: &str,
    name: Option<&str>,
    token: Option<&Token>,
) -> std::result::Result<Socket, DialError> {
    let result = timeout(ATTEMPT, dial_once(url, name, token))
        .await
        .unwrap_or_else(|_| {
            Err(DialError::Absent(format!(
                "no answer within {}s",
                ATTEMPT.as_secs()
            )))
        });
    match &result {
        Ok(_) => tracing::debug!("connected to {url}"),
        Err(err) => tracing::debug!("could not connect to {url}: {err}"),
    }
    result
}

/// [`dial`] without its time limit.
async fn dial_once(
    url: &str,
    name: Option<&str>,
    token: Option<&Token>,
) -> std::result::Result<Socket, DialError> {
    if let Some(rest) = url.strip_prefix(memory::SCHEME) {
        return dial_memory(rest, token).await;
    }
    let mut request = url
        .into_client_request()
        .map_err(|err| DialError::Refused(err.to_string()))?;
    let secure = request.uri().scheme_str() == Some("wss");
    let host = request
        .uri()
        .host()
        .unwrap_or("")
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = request
        .uri()
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    if let Some(token) = token {
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !secure && !loopback && !tls::plaintext_token_allowed() {
            return Err(DialError::Refused(format!(
                "our token would cross the network in the clear to {host} over ws://; use wss:// (the server's --tls-cert) or --allow-plaintext-token"
            )));
        }
        auth::present(token, &mut request).map_err(DialError::Refused)?;
    }
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|err| DialError::Absent(format!("IO error: {err}")))?;
    // Acks are tiny and latency-bound: do not let Nagle hold them.
    let _ = tcp.set_nodelay(true);
    let stream = if secure {
        let tls = tls::connect(tcp, name.unwrap_or(&host))
            .await
            .map_err(|failed| {
                if failed.refused {
                    DialError::Refused(failed.reason)
                } else {
                    DialError::Absent(failed.reason)
                }
            })?;
        MaybeTlsStream::Rustls(tls)
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    match client_async_with_config(request, stream, Some(config)).await {
        Ok((socket, _response)) => Ok(Socket::Network(socket)),
        Err(WsError::Http(response)) => Err(answered(response.status(), token)),
        // A TLS server answers a plain handshake with a TLS alert, which is no HTTP.
        Err(WsError::HttpFormat(_)) | Err(WsError::Protocol(_)) if !secure => {
            Err(DialError::Refused(format!(
                "the server at {host}:{port} does not speak plain WebSocket (is it a wss:// server? then use wss://)"
            )))
        }
        Err(err) => Err(DialError::Absent(err.to_string())),
    }
}

/// Why a server answered a handshake with `status` instead of taking it, over
/// a socket or an in-process wire alike: a 401 is a refusal (our token, or
/// none), anything else worth trying again.
fn answered(status: StatusCode, token: Option<&Token>) -> DialError {
    match status {
        StatusCode::UNAUTHORIZED if token.is_some() => {
            DialError::Refused("the server refused our token (HTTP 401)".to_owned())
        }
        StatusCode::UNAUTHORIZED => DialError::Refused(
            "the server asks for a token (HTTP 401): give it with --token".to_owned(),
        ),
        status => DialError::Absent(format!("HTTP error: {status}")),
    }
}

/// Opens an in-process wire to `NAME/PATH`, with the handshake a socket would make.
async fn dial_memory(rest: &str, token: Option<&Token>) -> std::result::Result<Socket, DialError> {
    let name = rest.split('/').next().unwrap_or(rest);
    // The handshake names the sketch as its host; nothing resolves it.
    let mut request = format!("ws://{rest}")
        .into_client_request()
        .map_err(|err| DialError::Refused(err.to_string()))?;
    if let Some(token) = token {
        auth::present(token, &mut request).map_err(DialError::Refused)?;
    }
    let absent = || DialError::Absent(format!("no server called {name} in this process"));
    let (pipe, answer) = memory::connect(name, request).ok_or_else(absent)?;
    match answer.await {
        Ok(Ok(())) => Ok(Socket::Memory(pipe)),
        Ok(Err(status)) => Err(answered(status, token)),
        Err(_) => Err(absent()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut backoff = Backoff::new();
        let waits: Vec<_> = (0..8).map(|_| backoff.next_wait()).collect();
        assert_eq!(waits[0], Duration::from_millis(50));
        assert_eq!(waits[1], Duration::from_millis(100));
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), Backoff::CAP);
    }
}
