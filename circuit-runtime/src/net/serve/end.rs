//! How a peer's conversation ends: the close code we send for what the peer
//! sent or what the loop did, and the words of the `done processing
//! messages` line.

use std::fmt;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::net::wire::socket::{close_politely, Frames};

/// Why a conversation ended.
pub(crate) enum End {
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

impl End {
    /// Closes with 1001: the server is stopping.
    pub(crate) async fn shutdown(socket: &mut impl Frames) -> End {
        close_politely(socket, CloseCode::Away, "server shutting down").await;
        End::Shutdown
    }

    /// Closes with `code`, saying `why`.
    pub(crate) async fn refuse(
        socket: &mut impl Frames,
        code: CloseCode,
        why: &'static str,
    ) -> End {
        close_politely(socket, code, why).await;
        End::Refused(code, why)
    }

    /// Closes as a keepalive ping went unanswered.
    pub(crate) async fn silent(socket: &mut impl Frames) -> End {
        End::refuse(socket, CloseCode::Error, "no answer to a keepalive ping").await
    }

    /// What an error reading the peer's next frame means, closing with the
    /// code that says so when the peer can still hear it.
    pub(crate) async fn of_error(socket: &mut impl Frames, err: WsError) -> End {
        match err {
            WsError::Utf8(_) => {
                End::refuse(socket, CloseCode::Invalid, "invalid UTF-8 in a text frame").await
            }
            WsError::Capacity(_) => {
                End::refuse(socket, CloseCode::Size, "message larger than --max-message").await
            }
            WsError::Protocol(err) => {
                let why = "protocol error";
                close_politely(socket, CloseCode::Protocol, why).await;
                End::Failed(format!("{why}: {err}, sent 1002"))
            }
            err => End::Failed(err.to_string()),
        }
    }

    /// Closes with 1003: a binary frame to a loop that takes text.
    pub(crate) async fn unsupported(socket: &mut impl Frames) -> End {
        let why = "binary frame refused: this sketch takes text";
        End::refuse(socket, CloseCode::Unsupported, why).await
    }

    /// Closes with 1011: the loop panicked on the peer's message.
    pub(crate) async fn panicked(socket: &mut impl Frames) -> End {
        End::refuse(socket, CloseCode::Error, "the loop panicked").await
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::PeerClosed(Some(code)) => write!(f, "peer closed with {}", u16::from(*code)),
            End::PeerClosed(None) => f.write_str("peer closed"),
            End::Dropped => f.write_str("peer went away without closing"),
            End::Shutdown => f.write_str("server shutting down, sent 1001"),
            End::Refused(code, why) => write!(f, "{why}, sent {}", u16::from(*code)),
            End::Failed(err) => f.write_str(err),
        }
    }
}
