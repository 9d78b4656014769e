//! One WebSocket peer of a server: receive a frame, call the loop, acknowledge, in order.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::server::{Request as Handshake, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{accept_hdr_async, WebSocketStream};

use crate::shutdown::Shutdown;

/// A handshake that is not done by then is dropped, so slow peers cannot pin a task.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// How long we wait for the peer's answer to our close frame.
const CLOSING: Duration = Duration::from_secs(1);

/// One message for the task that owns the sketch.
pub(crate) struct Request {
    /// The path the peer connected to, such as `/datafeed`.
    pub channel: Arc<str>,
    /// The text frame as received.
    pub frame: Utf8Bytes,
    /// Where the acknowledgement goes, or the panic message if the loop panicked.
    pub reply: oneshot::Sender<Result<String, String>>,
}

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
/// whatever happens to this peer is logged and stays with this peer.
// The handshake callback's large error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
pub(crate) async fn serve(
    stream: TcpStream,
    requests: mpsc::Sender<Request>,
    mut shutdown: Shutdown,
) {
    let mut path = String::from("/");
    let handshake = accept_hdr_async(stream, |request: &Handshake, response: Response| {
        path = request.uri().path().to_owned();
        Ok(response)
    });
    let mut socket = tokio::select! {
        result = timeout(HANDSHAKE, handshake) => match result {
            Ok(Ok(socket)) => socket,
            Ok(Err(err)) => return tracing::debug!("handshake failed: {err}"),
            Err(_) => return tracing::debug!("handshake not finished within {}s; dropped", HANDSHAKE.as_secs()),
        },
        _ = shutdown.wait() => return,
    };
    let channel: Arc<str> = path.into();
    tracing::info!("** new client connected, path={channel}");
    let mut handled = 0u64;
    let end = converse(
        &mut socket,
        &channel,
        &requests,
        &mut shutdown,
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
}

/// The receive → loop → acknowledge cycle, until the peer or the server ends it.
async fn converse(
    socket: &mut WebSocketStream<TcpStream>,
    channel: &Arc<str>,
    requests: &mpsc::Sender<Request>,
    shutdown: &mut Shutdown,
    handled: &mut u64,
) -> End {
    let mut peer_close = None;
    loop {
        let next = tokio::select! {
            next = socket.next() => next,
            _ = shutdown.wait(), if peer_close.is_none() => {
                close(socket, CloseCode::Away, "server shutting down").await;
                return End::Shutdown;
            }
        };
        let frame = match next {
            None if peer_close.is_some() => return End::PeerClosed(peer_close.flatten()),
            None => return End::Dropped,
            Some(Err(err)) => return End::Failed(err.to_string()),
            Some(Ok(Message::Text(frame))) => frame,
            Some(Ok(Message::Binary(_))) => {
                let why = "binary frame refused: this sketch takes text";
                close(socket, CloseCode::Unsupported, why).await;
                return End::Refused(CloseCode::Unsupported, why);
            }
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close; keep reading until it is done.
                peer_close = Some(frame.map(|f| f.code));
                continue;
            }
            // Pings are answered by tungstenite itself.
            Some(Ok(_)) => continue,
        };
        let (reply, acknowledgement) = oneshot::channel();
        let request = Request {
            channel: Arc::clone(channel),
            frame,
            reply,
        };
        if requests.send(request).await.is_err() {
            close(socket, CloseCode::Away, "server shutting down").await;
            return End::Shutdown;
        }
        match acknowledgement.await {
            Ok(Ok(ack)) => {
                if let Err(err) = socket.send(Message::text(ack)).await {
                    return End::Failed(err.to_string());
                }
                *handled += 1;
            }
            Ok(Err(_panic)) => {
                let why = "the loop panicked";
                close(socket, CloseCode::Error, why).await;
                return End::Refused(CloseCode::Error, why);
            }
            Err(_) => {
                close(socket, CloseCode::Away, "server shutting down").await;
                return End::Shutdown;
            }
        }
    }
}

/// Sends a close frame and waits briefly for the peer's, as RFC 6455 asks.
async fn close(socket: &mut WebSocketStream<TcpStream>, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.close(Some(frame)).await.is_err() {
        return;
    }
    let _ = timeout(CLOSING, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}
