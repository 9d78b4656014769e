//! How an arrived peer becomes a conversation, whatever carries it: its
//! handshakes (TLS's, then the WebSocket's over a byte stream, or the
//! in-process wire's), each asking the same [`Door`] whether the peer gets in.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::accept_hdr_async_with_config;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as Handshake, Response,
};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use crate::base::options::Limits;
use crate::net::serve::door::{reason, Door, Refused};
use crate::net::wire::listener::Secured;
use crate::net::wire::memory::{Incoming, Pipe};
use crate::net::wire::resume::Resume;
use crate::net::wire::socket::{Frames, READ_BUFFER};
use crate::net::wire::tls::Secure;

/// An admitted peer: what its conversation runs on, the path it asked for,
/// and where its link's stream resumes (`Circuit-Link`, `Circuit-Next`), if
/// it said.
pub(crate) type Opened<F> = (F, String, Option<Resume>);

/// A peer that has arrived, on its way to its conversation.
pub(crate) trait Arrival: Send + 'static {
    /// What its conversation runs on.
    type Frames: Frames + Send;

    /// Whether it takes one of the server's `--max-clients` places. Peers of
    /// this process do not: they are the circuit's own sketches, which the
    /// limit is not there to turn away.
    const COUNTED: bool;

    /// Its handshakes, with `door` saying whether it gets in: what its
    /// conversation runs on, the path it asked for and where its link's
    /// stream resumes, or why not.
    fn open(
        self,
        door: &Door<'_>,
    ) -> impl Future<Output = Result<Opened<Self::Frames>, Refused>> + Send;
}

impl Arrival for TcpStream {
    type Frames = WebSocketStream<TcpStream>;
    const COUNTED: bool = true;

    async fn open(self, door: &Door<'_>) -> Result<Opened<Self::Frames>, Refused> {
        upgrade(self, door).await
    }
}

impl Arrival for Secured {
    type Frames = WebSocketStream<Secure<TcpStream>>;
    const COUNTED: bool = true;

    async fn open(self, door: &Door<'_>) -> Result<Opened<Self::Frames>, Refused> {
        // The TLS handshake has a time limit of its own, as the WebSocket's has.
        let handshake = self.acceptor.accept(self.stream);
        let secured = match timeout(door.limits.handshake_timeout, handshake).await {
            Ok(Ok(secured)) => secured,
            Ok(Err(err)) if err.to_string().contains("InvalidContentType") => {
                let why = "it spoke plain ws:// to this wss:// server";
                return Err(Refused::Failed(why.to_owned()));
            }
            Ok(Err(err)) => {
                return Err(Refused::Failed(format!("its TLS handshake failed ({err})")))
            }
            Err(_) => return Err(Refused::Late("TLS handshake")),
        };
        upgrade(secured, door).await
    }
}

impl Arrival for Incoming {
    type Frames = Pipe;
    const COUNTED: bool = false;

    async fn open(self, door: &Door<'_>) -> Result<Opened<Pipe>, Refused> {
        let Incoming {
            request,
            mut pipe,
            answer,
        } = self;
        if let Err(status) = door.admit(&request) {
            let _ = answer.send(Err(status));
            return Err(Refused::Status(status));
        }
        answer.send(Ok(())).map_err(|_| Refused::Gone)?;
        pipe.limit(door.limits.max_message);
        let resume = resumes(&request);
        Ok((pipe, request.uri().path().to_owned(), resume))
    }
}

/// The WebSocket handshake over a byte stream, within the handshake's time
/// limit: the door is asked before the upgrade, so that a peer it refuses
/// never gets a socket.
// The handshake callback's large error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn upgrade<T>(stream: T, door: &Door<'_>) -> Result<Opened<WebSocketStream<T>>, Refused>
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut path = String::from("/");
    let mut resume = None;
    let mut refused = None;
    let handshake = accept_hdr_async_with_config(
        stream,
        |request: &Handshake, response: Response| match door.admit(request) {
            Ok(()) => {
                path = request.uri().path().to_owned();
                resume = resumes(request);
                Ok(response)
            }
            Err(status) => {
                refused = Some(status);
                Err(refusal(status))
            }
        },
        Some(config(door.limits)),
    );
    let handshaken = timeout(door.limits.handshake_timeout, handshake).await;
    match handshaken {
        Ok(Ok(socket)) => Ok((socket, path, resume)),
        // A full server refuses whatever the peer sent, or did not send in time.
        Ok(Err(_)) | Err(_) if door.full() => Err(Refused::Status(StatusCode::SERVICE_UNAVAILABLE)),
        Ok(Err(err)) => Err(match refused {
            Some(status) => Refused::Status(status),
            None => Refused::Failed(format!("its handshake failed ({err})")),
        }),
        Err(_) => Err(Refused::Late("handshake")),
    }
}

/// Where the handshake says its link's stream resumes; headers given wrong
/// are said once per peer, which is then served as a plain one.
fn resumes(request: &Handshake) -> Option<Resume> {
    Resume::read(request).unwrap_or_else(|why| {
        tracing::warn!(
            "a peer's handshake: {why}; each of its messages is processed, resent or not"
        );
        None
    })
}

/// An HTTP error answer to a handshake, with a one-line reason as its body.
fn refusal(status: StatusCode) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(reason(status).to_owned()));
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
