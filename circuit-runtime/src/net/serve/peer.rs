//! One WebSocket peer of a server: receive a frame, call the loop, acknowledge, in order.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as Handshake, Response,
};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{accept_hdr_async, accept_hdr_async_with_config};

use crate::base::message::{Ack, Payload};
use crate::base::options::{Limits, Token};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Reactive;
use crate::net::serve::dispatch::{Dispatch, Replies};
use crate::net::wire::auth;
use crate::net::wire::memory::Arrival;
use crate::net::wire::socket::{close_politely, Frames, READ_BUFFER};
use crate::net::wire::watchdog::Watchdog;

/// Acknowledgements written before they are sent even when more frames are
/// waiting, so that a peer that streams never waits long for a batch.
const ACK_BATCH: usize = 64;

/// Why a conversation ended, for the `done processing messages` line.
enum End {
    /// The peer sent a close frame (its code, if any).
    PeerClosed(Option<CloseCode>),
    /// The peer vanished without a close frame.
    Dropped,
    /// The server is shutting down; we sent 1001.
    Shutdown,
    /// We closed because of what the peer sent or what the loop did.
    Refused(CloseCode, &'static str),
    /// A protocol or I/O error.
    Failed(String),
}

/// Serves one peer from handshake to close. Never panics, never returns an error:
/// whatever happens to this peer is logged and stays with this peer. Returns
/// how many of its messages were acknowledged, or `None` for a peer refused
/// before its conversation began.
// The handshake callback's large error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
pub(crate) async fn serve<S: Reactive, T: AsyncRead + AsyncWrite + Unpin>(
    stream: T,
    dispatch: Dispatch<S>,
    limits: Limits,
    token: Option<Token>,
    mut shutdown: Shutdown,
) -> Option<u64> {
    let mut path = String::from("/");
    let mut intruder = false;
    let handshake = accept_hdr_async_with_config(
        stream,
        |request: &Handshake, response: Response| {
            // Checked before the upgrade: a peer without the token never gets a socket.
            if token
                .as_ref()
                .is_some_and(|token| !auth::admits(token, request))
            {
                intruder = true;
                return Err(refusal(
                    StatusCode::UNAUTHORIZED,
                    "a valid token is required",
                ));
            }
            path = request.uri().path().to_owned();
            Ok(response)
        },
        Some(config(limits)),
    );
    let mut socket = tokio::select! {
        result = timeout(limits.handshake_timeout, handshake) => match result {
            Ok(Ok(socket)) => socket,
            Ok(Err(_)) if intruder => {
                tracing::warn!("refused a peer with 401: no valid token");
                return None;
            }
            Ok(Err(err)) => {
                tracing::warn!("refused a peer: its handshake failed ({err})");
                return None;
            }
            Err(_) => {
                tracing::warn!(
                    "dropped a peer: no handshake within {:.1}s",
                    limits.handshake_timeout.as_secs_f64()
                );
                return None;
            }
        },
        _ = shutdown.wait() => return None,
    };
    Some(conversation(&mut socket, path, &dispatch, limits, &mut shutdown).await)
}

/// Serves one peer of this process, arrived over an in-process wire: the
/// same token check as a socket's handshake, then the same conversation.
pub(crate) async fn serve_in_process<S: Reactive>(
    arrival: Arrival,
    dispatch: Dispatch<S>,
    limits: Limits,
    token: Option<Token>,
    mut shutdown: Shutdown,
) -> Option<u64> {
    let Arrival {
        request,
        mut pipe,
        answer,
    } = arrival;
    if token
        .as_ref()
        .is_some_and(|token| !auth::admits(token, &request))
    {
        tracing::warn!("refused a peer with 401: no valid token");
        let _ = answer.send(Err(StatusCode::UNAUTHORIZED));
        return None;
    }
    answer.send(Ok(())).ok()?;
    pipe.limit(limits.max_message);
    let path = request.uri().path().to_owned();
    Some(conversation(&mut pipe, path, &dispatch, limits, &mut shutdown).await)
}

/// A peer's conversation from its first message to its end, with the lines
/// that begin and end it; how many of its messages were acknowledged.
async fn conversation<S: Reactive>(
    socket: &mut impl Frames,
    path: String,
    dispatch: &Dispatch<S>,
    limits: Limits,
    shutdown: &mut Shutdown,
) -> u64 {
    let channel: Arc<str> = path.into();
    tracing::info!("** new client connected, path={channel}");
    let mut handled = 0u64;
    let end = converse(
        socket,
        &channel,
        dispatch,
        limits.ping_interval,
        shutdown,
        &mut handled,
    )
    .await;
    let how = match end {
        End::PeerClosed(Some(code)) => format!("peer closed with {}", u16::from(code)),
        End::PeerClosed(None) => "peer closed".to_owned(),
        End::Dropped => "peer went away without closing".to_owned(),
        End::Shutdown => "server shutting down, sent 1001".to_owned(),
        End::Refused(code, why) => format!("{why}, sent {}", u16::from(code)),
        End::Failed(err) => err,
    };
    tracing::info!("done processing messages: path={channel}, {handled} acknowledged, {how}");
    handled
}

/// Refuses a peer beyond `--max-clients` with HTTP 503, before any upgrade.
#[allow(clippy::result_large_err)]
pub(crate) async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(stream: S, limits: Limits) {
    let handshake = accept_hdr_async(stream, |_: &Handshake, _: Response| {
        Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many clients; try again later",
        ))
    });
    let _ = timeout(limits.handshake_timeout, handshake).await;
    tracing::warn!(
        "refused a peer with 503: {} clients already (--max-clients)",
        limits.max_clients
    );
}

/// An HTTP error answer to a handshake, with a one-line reason as its body.
fn refusal(status: StatusCode, reason: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(reason.to_owned()));
    *response.status_mut() = status;
    response
}

/// The WebSocket settings of every connection: the message and frame limit,
/// so that nothing larger than `--max-message` is ever buffered.
fn config(limits: Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limits.max_message))
        .max_frame_size(Some(limits.max_message))
}

/// The receive → loop → acknowledge cycle, until the peer or the server ends it.
async fn converse<S: Reactive>(
    socket: &mut impl Frames,
    channel: &Arc<str>,
    dispatch: &Dispatch<S>,
    ping_interval: Duration,
    shutdown: &mut Shutdown,
    handled: &mut u64,
) -> End {
    let mut peer_close = None;
    let mut replies = Replies::default();
    // Keepalive: a peer silent for an interval gets a ping; one still silent
    // an interval later is gone. A busy connection reads no clock per frame.
    let keepalive = !ping_interval.is_zero();
    let mut watchdog = Watchdog::default();
    let mut pinged = false;
    let every = Watchdog::every(ping_interval);
    let check = sleep(every);
    tokio::pin!(check);
    // Made once, not per frame: waiting on the shared signal registers this
    // peer with it, and a registration per frame is a lock per frame.
    let mut stopping = shutdown.stopping();
    // Acknowledgements written but not yet sent: while the peer's next frame is
    // already here, they wait, so a peer that streams gets them in batches (one
    // write for many); a peer that waits for each gets it at once.
    let mut unsent = 0;
    loop {
        // The peer's next frame, if it is here already while acknowledgements wait.
        let ready = if unsent > 0 && unsent < ACK_BATCH {
            socket.next().now_or_never()
        } else {
            None
        };
        let streaming = matches!(ready, Some(Some(Ok(Message::Text(_) | Message::Binary(_)))));
        if unsent > 0 && !streaming {
            if let Err(err) = socket.flush().await {
                return End::Failed(err.to_string());
            }
            unsent = 0;
        }
        let next = if let Some(next) = ready {
            next
        } else {
            tokio::select! {
                // In this order, without drawing lots: the stop first (a flag
                // to look at), so that a peer that never stops sending cannot
                // keep the server from stopping; the keepalive last.
                biased;
                () = &mut stopping, if peer_close.is_none() => {
                    close(socket, CloseCode::Away, "server shutting down").await;
                    return End::Shutdown;
                }
                next = socket.next() => next,
                _ = &mut check, if keepalive && peer_close.is_none() => {
                    check.as_mut().reset(Instant::now() + every);
                    if !watchdog.silent_for_a_span() {
                        continue;
                    }
                    if pinged {
                        let why = "no answer to a keepalive ping";
                        close(socket, CloseCode::Error, why).await;
                        return End::Refused(CloseCode::Error, why);
                    }
                    if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                        return End::Dropped;
                    }
                    pinged = true;
                    continue;
                }
            }
        };
        watchdog.heard();
        pinged = false;
        let message = match next {
            None if peer_close.is_some() => return End::PeerClosed(peer_close.flatten()),
            None => return End::Dropped,
            Some(Err(WsError::Utf8(_))) => {
                let why = "invalid UTF-8 in a text frame";
                close(socket, CloseCode::Invalid, why).await;
                return End::Refused(CloseCode::Invalid, why);
            }
            Some(Err(WsError::Capacity(_))) => {
                let why = "message larger than --max-message";
                close(socket, CloseCode::Size, why).await;
                return End::Refused(CloseCode::Size, why);
            }
            Some(Err(WsError::Protocol(err))) => {
                let why = "protocol error";
                close(socket, CloseCode::Protocol, why).await;
                return End::Failed(format!("{why}: {err}, sent 1002"));
            }
            Some(Err(err)) => return End::Failed(err.to_string()),
            Some(Ok(Message::Text(text))) => Payload::Text(text),
            Some(Ok(Message::Binary(bytes))) => Payload::Binary(bytes),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close; keep reading until it is done.
                peer_close = Some(frame.map(|f| f.code));
                continue;
            }
            // Pings are answered by tungstenite itself.
            Some(Ok(_)) => continue,
        };
        match dispatch.ask(channel, message, &mut replies).await {
            Some(Ack::Reply(reply)) => {
                let ack = match reply {
                    Payload::Text(text) => Message::Text(text),
                    Payload::Binary(bytes) => Message::Binary(bytes),
                };
                if let Err(err) = socket.feed(ack).await {
                    return End::Failed(err.to_string());
                }
                unsent += 1;
                *handled += 1;
            }
            Some(Ack::Unsupported) => {
                let why = "binary frame refused: this sketch takes text";
                close(socket, CloseCode::Unsupported, why).await;
                return End::Refused(CloseCode::Unsupported, why);
            }
            Some(Ack::Panicked(_)) => {
                let why = "the loop panicked";
                close(socket, CloseCode::Error, why).await;
                return End::Refused(CloseCode::Error, why);
            }
            None => {
                close(socket, CloseCode::Away, "server shutting down").await;
                return End::Shutdown;
            }
        }
    }
}

/// Sends a close frame and waits briefly for the peer's, as RFC 6455 asks.
async fn close(socket: &mut impl Frames, code: CloseCode, reason: &str) {
    close_politely(socket, code, reason).await;
}
