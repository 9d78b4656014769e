//! The live logic-analyzer page: the page at `/`, and the recorded signals
//! as a WebSocket event stream at `/events`, on one port, so that a browser
//! needs nothing but the address; and `/metrics` and `/healthz` as the
//! metrics endpoint serves them.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::base::error::Result;
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::web::metrics;
use crate::net::web::server::{self, text, upgrade, whole, Answer, Served, Site};
use crate::net::wire::socket::close_politely;
use crate::observe::analyzer::{change, event, hello, hosts, lane, Panel, PAGE};
use crate::observe::log;
use crate::observe::trace::{Change, Event, Trace};

/// A running analyzer server.
pub struct Analyzer {
    /// The server.
    served: Served,
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
        let page = Page {
            trace,
            panel,
            shutdown: shutdown.clone(),
        };
        let served = server::serve(address, Arc::new(page), tls, "web", shutdown).await?;
        let address = served.address;
        log::scoped("web", async {
            match served.secure {
                true => tracing::info!("logic analyzer on https://{address}/"),
                false if !address.ip().is_loopback() => tracing::warn!(
                    "logic analyzer on http://{address}/: plain HTTP, seen by anyone on the network (give --tls-cert and --tls-key for HTTPS)"
                ),
                false => tracing::info!("logic analyzer on http://{address}/"),
            }
        })
        .await;
        Ok(Analyzer { served })
    }

    /// The address the page is served on.
    pub fn local_addr(&self) -> SocketAddr {
        self.served.address
    }

    /// Waits for the server to end (after its shutdown fired).
    pub async fn stopped(self) {
        self.served.stopped().await;
    }
}

/// The page and its event stream.
struct Page {
    /// What the sketches record.
    trace: Arc<Trace>,
    /// What the page shows.
    panel: Panel,
    /// Ends the streams.
    shutdown: Shutdown,
}

impl Site for Page {
    fn answer(&self, request: Request<Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        if let Some(answer) = metrics::answer(&request) {
            return Box::pin(std::future::ready(answer));
        }
        let answer = match request.uri().path() {
            "/" | "/index.html" => whole(StatusCode::OK, "text/html; charset=utf-8", PAGE),
            "/events" => {
                let (trace, panel) = (Arc::clone(&self.trace), self.panel.clone());
                let shutdown = self.shutdown.clone();
                upgrade(request, move |socket| async move {
                    stream_events(socket, &trace, &panel, shutdown).await;
                })
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        };
        Box::pin(std::future::ready(answer))
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
    if !watch.hosts.is_empty() {
        past.push(hosts(&watch.hosts));
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
