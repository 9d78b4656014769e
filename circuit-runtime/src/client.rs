//! The client side of a connection: dial a WebSocket URL, retrying with backoff.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{connect_async_with_config, MaybeTlsStream, WebSocketStream};

use crate::auth::Token;
use crate::connection::READ_BUFFER;

/// A client connection to another sketch.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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

/// One attempt to connect to `url`, presenting `token` if there is one.
pub(crate) async fn dial(url: &str, token: Option<&Token>) -> Result<Socket, String> {
    let mut request = url.into_client_request().map_err(|err| err.to_string())?;
    if let Some(token) = token {
        token.present(&mut request)?;
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    // Acks are tiny and latency-bound: do not let Nagle hold them (`true`).
    match timeout(
        ATTEMPT,
        connect_async_with_config(request, Some(config), true),
    )
    .await
    {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {}s", ATTEMPT.as_secs())),
    }
}

/// Connects to `url`, retrying until `patience` has passed. On failure, the
/// last error. Says once that it is waiting, so a user knows why nothing happens.
pub(crate) async fn dial_within(
    url: &str,
    token: Option<&Token>,
    patience: Duration,
) -> Result<Socket, String> {
    let deadline = Instant::now() + patience;
    let mut backoff = Backoff::new();
    let mut said = false;
    loop {
        let error = match dial(url, token).await {
            Ok(socket) => return Ok(socket),
            Err(error) => error,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(error);
        }
        if !said {
            tracing::warn!(
                "no server at {url} yet ({error}); retrying for up to {:.1}s",
                patience.as_secs_f64()
            );
            said = true;
        }
        sleep(backoff.next_wait().min(deadline - now)).await;
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

    #[tokio::test]
    async fn dialing_nobody_gives_up_after_the_patience() {
        // Bind and drop a listener to find a port where nobody listens.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let started = Instant::now();
        let result = dial_within(
            &format!("ws://127.0.0.1:{port}/x"),
            None,
            Duration::from_millis(300),
        )
        .await;
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
