//! A client's connection while it waits for nothing (a timer's between two
//! ticks, a link's with no message in flight), kept alive and honest: the
//! server's keepalive pings answered at once, and a peer silent for a span
//! pinged, and called gone when it stays silent for another.

use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::net::wire::socket::Socket;

/// Whether the peer of an idle connection was pinged and has not been heard since.
#[derive(Debug, Default)]
pub(crate) struct Pinging {
    /// Our ping is out, unanswered.
    out: bool,
}

impl Pinging {
    /// The peer sent something (a pong, a ping, …): it is there.
    pub(crate) fn heard(&mut self) {
        self.out = false;
    }

    /// The peer was silent for a `span` (`--ack-timeout`): pings it, or, when
    /// it has not answered the last ping either, says why the connection is gone.
    pub(crate) async fn silent(
        &mut self,
        socket: &mut Socket,
        span: Duration,
    ) -> Result<(), String> {
        if self.out {
            return Err(format!(
                "no answer to a ping within {:.1}s (--ack-timeout)",
                span.as_secs_f64()
            ));
        }
        socket
            .send(Message::Ping(Bytes::new()))
            .await
            .map_err(|err| err.to_string())?;
        self.out = true;
        Ok(())
    }
}

/// Sends the pong that tungstenite queued when it read the peer's ping now,
/// instead of with whatever we write next: an idle connection may write
/// nothing for longer than the peer waits for it.
pub(crate) async fn answer_ping(socket: &mut Socket) -> Result<(), String> {
    socket.flush().await.map_err(|err| err.to_string())
}
