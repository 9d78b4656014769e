//! Who gets in: a peer's handshake is admitted when the server has a place
//! for it (`--max-clients`) and it carries the token, if one is asked for;
//! written once for every carrier. And the line a refused peer leaves.

use tokio_tungstenite::tungstenite::handshake::server::Request as Handshake;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::base::options::{Limits, Token};
use crate::net::wire::auth;

/// What a server asks of one arriving peer.
pub(crate) struct Door<'a> {
    /// The server's limits: the handshake's time, the largest message.
    pub(crate) limits: Limits,
    /// The token a peer must carry, if any.
    token: Option<&'a Token>,
    /// Whether every place is taken: the peer is refused, whatever it carries.
    full: bool,
}

impl<'a> Door<'a> {
    /// The door for a peer, with or without a place for it.
    pub(crate) fn new(limits: Limits, token: Option<&'a Token>, full: bool) -> Self {
        Door {
            limits,
            token,
            full,
        }
    }

    /// Whether every place is taken.
    pub(crate) fn full(&self) -> bool {
        self.full
    }

    /// Whether the handshake `request` gets in, or the HTTP status that
    /// refuses it: 503 when every place is taken, 401 without the token.
    pub(crate) fn admit(&self, request: &Handshake) -> Result<(), StatusCode> {
        if self.full {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        if self
            .token
            .is_some_and(|token| !auth::admits(token, request))
        {
            return Err(StatusCode::UNAUTHORIZED);
        }
        Ok(())
    }
}

/// The one-line body of a refusal with `status`, for the peer to read.
pub(crate) fn reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => "too many clients; try again later",
        StatusCode::UNAUTHORIZED => "a valid token is required",
        _ => "refused",
    }
}

/// Why a peer did not get as far as its conversation.
pub(crate) enum Refused {
    /// Its handshake was answered with this HTTP status.
    Status(StatusCode),
    /// Its handshake failed; why, in words.
    Failed(String),
    /// This handshake (`"handshake"`, `"TLS handshake"`) did not end in time.
    Late(&'static str),
    /// It left before it could be answered.
    Gone,
}

impl Refused {
    /// Logs the line that says why (a peer that left says nothing).
    pub(crate) fn log(&self, limits: Limits) {
        match self {
            Refused::Status(StatusCode::SERVICE_UNAVAILABLE) => tracing::warn!(
                "refused a peer with 503: {} clients already (--max-clients)",
                limits.max_clients
            ),
            Refused::Status(StatusCode::UNAUTHORIZED) => {
                tracing::warn!("refused a peer with 401: no valid token");
            }
            Refused::Status(status) => tracing::warn!("refused a peer with {status}"),
            Refused::Failed(why) => tracing::warn!("refused a peer: {why}"),
            Refused::Late(what) => tracing::warn!(
                "dropped a peer: no {what} within {:.1}s",
                limits.handshake_timeout.as_secs_f64()
            ),
            Refused::Gone => {}
        }
    }
}
