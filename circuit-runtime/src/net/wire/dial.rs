//! Connecting to another sketch: one attempt at a `ws://`, `wss://` or
//! in-process (`mem://`) URL with our token, the backoff between attempts,
//! and why an attempt failed (absent, worth trying again, or refused).

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{client_async_with_config, MaybeTlsStream};

use crate::base::options::Token;
use crate::net::wire::memory;
use crate::net::wire::resume::Resume;
use crate::net::wire::socket::{Socket, READ_BUFFER};
use crate::net::wire::{auth, tls};

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
/// if there is one, and where a link's stream resumes (`resume`) if it is a
/// link's connection. A `wss://` server's certificate is checked against
/// `name` when given (a sketch found by its name), else the URL's host.
pub(crate) async fn dial(
    url: &str,
    name: Option<&str>,
    token: Option<&Token>,
    resume: Option<Resume>,
) -> std::result::Result<Socket, DialError> {
    let result = timeout(ATTEMPT, dial_once(url, name, token, resume))
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
    resume: Option<Resume>,
) -> std::result::Result<Socket, DialError> {
    if let Some(rest) = url.strip_prefix(memory::SCHEME) {
        return dial_memory(rest, token, resume).await;
    }
    let mut request = url
        .into_client_request()
        .map_err(|err| DialError::Refused(err.to_string()))?;
    if let Some(resume) = resume {
        resume.present(&mut request);
    }
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
        if !secure && !loopback && !auth::plaintext_token_allowed() {
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
        tls::connect(tcp, name.unwrap_or(&host))
            .await
            .map_err(|failed| {
                if failed.refused {
                    DialError::Refused(failed.reason)
                } else {
                    DialError::Absent(failed.reason)
                }
            })?
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
async fn dial_memory(
    rest: &str,
    token: Option<&Token>,
    resume: Option<Resume>,
) -> std::result::Result<Socket, DialError> {
    let name = rest.split('/').next().unwrap_or(rest);
    // The handshake names the sketch as its host; nothing resolves it.
    let mut request = format!("ws://{rest}")
        .into_client_request()
        .map_err(|err| DialError::Refused(err.to_string()))?;
    if let Some(token) = token {
        auth::present(token, &mut request).map_err(DialError::Refused)?;
    }
    if let Some(resume) = resume {
        resume.present(&mut request);
    }
    let absent = || DialError::Absent(format!("no server called {name} in this process"));
    let (pipe, answer) = memory::connect(name, request).ok_or_else(absent)?;
    match answer.await {
        Ok(Ok(())) => Ok(Socket::Memory(pipe)),
        Ok(Err(status)) => Err(answered(status, token)),
        Err(_) => Err(absent()),
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
    async fn an_in_process_wire_carries_where_a_links_stream_resumes() {
        let mut arriving = memory::register("resume-carrier");
        let resume = Resume {
            link: crate::net::send::identity::LinkId::random(),
            next: 7,
            retained: true,
        };
        let dialing = tokio::spawn(dial("mem://resume-carrier/pin", None, None, Some(resume)));
        let incoming = arriving.recv().await.expect("the peer arrives");
        assert_eq!(Resume::read(&incoming.request), Ok(Some(resume)));
        incoming.answer.send(Ok(())).unwrap();
        assert!(dialing.await.unwrap().is_ok());
    }
}
