//! Serves the live logic-analyzer page: the page at `/`, and the recorded
//! signals as a WebSocket event stream at `/events`.
//!
//! The page and its stream share one port, so a browser needs nothing but the
//! address. The page is one `GET` (see [`http`](crate::net::wire::http)), and the
//! stream is a plain tokio-tungstenite socket after the upgrade.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::base::error::{Error, Result};
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::wire::http::{answer, read_head};
use crate::net::wire::listener::{accept_until, Tcp};
use crate::net::wire::socket::{close_politely, READ_BUFFER};
use crate::net::wire::tls::{self, TlsAcceptor};
use crate::observe::analyzer::{change, event, hello, lane, Panel, PAGE};
use crate::observe::log;
use crate::observe::trace::{Change, Event, Trace};

/// How long a browser may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A running analyzer server.
pub struct Analyzer {
    /// Where it listens.
    address: SocketAddr,
    /// The accept loop.
    accepting: JoinHandle<()>,
}

impl Analyzer {
    /// Binds `address` (`HOST:PORT`; port 0 picks a free one), logs where the
    /// page is, and serves it until `shutdown` fires.
    ///
    /// # Errors
    /// [`Error::Resolve`](crate::base::Error::Resolve) for an unknown host,
    /// [`Error::Bind`](crate::base::Error::Bind) when the port is taken,
    /// [`Error::NotOurs`](crate::base::Error::NotOurs) for an address of another machine.
    pub async fn start(
        address: &str,
        trace: Arc<Trace>,
        panel: Panel,
        tls: &TlsFiles,
        shutdown: Shutdown,
    ) -> Result<Analyzer> {
        let listener = Tcp::bind(address).await?;
        let address = listener.local_addr()?;
        // On loopback the page stays plain HTTP; beyond it, it takes the
        // certificate the sketches were given, if any.
        let acceptor = if address.ip().is_loopback() {
            None
        } else {
            tls::acceptor(tls).map_err(Error::Tls)?
        };
        log::scoped("web", async {
            match &acceptor {
                Some(_) => tracing::info!("logic analyzer on https://{address}/"),
                None if !address.ip().is_loopback() => tracing::warn!(
                    "logic analyzer on http://{address}/: plain HTTP, seen by anyone on the network (give --tls-cert and --tls-key for HTTPS)"
                ),
                None => tracing::info!("logic analyzer on http://{address}/"),
            }
        })
        .await;
        let accepting = tokio::spawn(log::scoped(
            "web",
            accept(listener, acceptor, trace, panel, shutdown),
        ));
        Ok(Analyzer { address, accepting })
    }

    /// The address the page is served on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Waits for the server to end (after its shutdown fired).
    pub async fn stopped(self) {
        let _ = self.accepting.await;
    }
}

/// Accepts browsers until shutdown; each gets a task of its own.
async fn accept(
    mut listener: Tcp,
    acceptor: Option<TlsAcceptor>,
    trace: Arc<Trace>,
    panel: Panel,
    mut shutdown: Shutdown,
) {
    let stop = shutdown.clone();
    accept_until(&mut listener, &mut shutdown, |stream| {
        let (trace, stop, acceptor) = (Arc::clone(&trace), stop.clone(), acceptor.clone());
        let panel = panel.clone();
        log::spawn(async move {
            match acceptor {
                None => visit(stream, trace, panel, stop).await,
                Some(acceptor) => {
                    if let Ok(Ok(secured)) = timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
                    {
                        visit(secured, trace, panel, stop).await;
                    }
                }
            }
        });
    })
    .await;
}

/// One request: the page, the event stream, or an HTTP error.
async fn visit<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    trace: Arc<Trace>,
    panel: Panel,
    shutdown: Shutdown,
) {
    let Ok(Some(head)) = timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(&head), Ok(httparse::Status::Complete(_))) {
        return answer(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad request\n",
        )
        .await;
    }
    if request.method != Some("GET") {
        return answer(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n",
        )
        .await;
    }
    let path = request.path.unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    match path {
        "/" | "/index.html" => {
            answer(&mut stream, "200 OK", "text/html; charset=utf-8", PAGE).await
        }
        "/events" => {
            let upgrade = header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
            let Some(key) = header("sec-websocket-key").filter(|_| upgrade) else {
                return answer(
                    &mut stream,
                    "426 Upgrade Required",
                    "text/plain",
                    "a WebSocket stream\n",
                )
                .await;
            };
            let accept = derive_accept_key(key.trim().as_bytes());
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
            let socket = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
            stream_events(socket, &trace, &panel, shutdown).await;
        }
        _ => answer(&mut stream, "404 Not Found", "text/plain", "not found\n").await,
    }
}

/// Streams hello, the recent past, then every live event, until the page
/// leaves, falls too far behind (it reconnects and rebuilds), or we stop.
async fn stream_events<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocketStream<S>,
    trace: &Trace,
    panel: &Panel,
    mut shutdown: Shutdown,
) {
    let mut watch = trace.watch();
    // A derived panel learns its rows from the signals: each one is announced
    // (a `lane` message) before its first change reaches this page.
    let mut rows = panel.is_derived().then(HashSet::new);
    let mut past = vec![hello(panel, &watch.before, watch.now)];
    for (id, totals) in &watch.before {
        if let (Some(rows), Some(last)) = (rows.as_mut(), &totals.last) {
            rows.insert(id.clone());
            past.push(lane(id, last));
        }
    }
    for recent in &watch.recent {
        past.extend(announce(&mut rows, recent));
        past.push(change(recent));
    }
    past.extend(watch.ended.iter().map(event));
    for text in past {
        if socket.feed(Message::text(text)).await.is_err() {
            return;
        }
    }
    if socket.flush().await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            received = watch.live.recv() => match received {
                Ok(live) => {
                    if let Event::Change(changed) = &live {
                        if let Some(row) = announce(&mut rows, changed) {
                            if socket.feed(Message::text(row)).await.is_err() {
                                return;
                            }
                        }
                    }
                    if socket.send(Message::text(event(&live))).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    return close(socket, CloseCode::Again, "fell behind; reconnect").await;
                }
                Err(RecvError::Closed) => return close(socket, CloseCode::Normal, "").await,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = shutdown.wait() => return close(socket, CloseCode::Away, "server shutting down").await,
        }
    }
}

/// The `lane` message of a signal a derived panel has not shown yet.
fn announce(rows: &mut Option<HashSet<String>>, changed: &Change) -> Option<String> {
    let rows = rows.as_mut()?;
    let id = changed.signal();
    let row = lane(&id, &changed.value);
    rows.insert(id).then_some(row)
}

/// Closes the stream with `code`, briefly waiting for the page's answer.
async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocketStream<S>,
    code: CloseCode,
    reason: &str,
) {
    close_politely(&mut socket, code, reason).await;
}
