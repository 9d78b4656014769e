//! The live logic-analyzer page: one embedded HTML page at `/`, and the
//! recorded signals as a WebSocket event stream at `/events`.
//!
//! The page and its stream share one port, so a browser needs nothing but the
//! address. HTTP is handled by hand (the page is one `GET`), and the stream is
//! a plain tokio-tungstenite socket after the upgrade.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::connection::close_politely;
use crate::log;
use crate::server::{accept_until, bind_to};
use crate::shutdown::Shutdown;
use crate::trace::{json_string, Change, Event, Level, Totals, Trace};
use crate::Result;

/// The page, embedded at build time: no CDN, no network, no build step.
const PAGE: &str = include_str!("analyzer.html");

/// Longest request head we read; the page's own requests are far shorter.
const MAX_HEAD: usize = 8 * 1024;

/// How long a browser may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the page shows: its title, its rows, its counters.
#[derive(Clone, Copy, Debug)]
pub struct Panel {
    /// Shown at the top of the page.
    pub title: &'static str,
    /// The rows, in order: `sketch.name` and the kind (`bit`, `number` or `text`).
    pub signals: &'static [(&'static str, &'static str)],
    /// The counters, in order.
    pub counters: &'static [Counter],
    /// The signal whose rises light the buzz indicator.
    pub buzz: Option<&'static str>,
}

/// One counter of the page: how many samples, or rises, a signal has had.
#[derive(Clone, Copy, Debug)]
pub struct Counter {
    /// What the counter is called on the page.
    pub label: &'static str,
    /// The signal it counts, `sketch.name`.
    pub signal: &'static str,
    /// Count low-to-high transitions instead of every sample.
    pub rises: bool,
}

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
    /// [`Error::Resolve`](crate::Error::Resolve) for an unknown host,
    /// [`Error::Bind`](crate::Error::Bind) when the port is taken.
    pub async fn start(
        address: &str,
        trace: Arc<Trace>,
        panel: Panel,
        shutdown: Shutdown,
    ) -> Result<Analyzer> {
        let listener = bind_to(address).await?;
        let address = listener.local_addr()?;
        log::scoped("web", async {
            tracing::info!("logic analyzer on http://{address}/");
        })
        .await;
        let accepting = tokio::spawn(log::scoped("web", accept(listener, trace, panel, shutdown)));
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
async fn accept(listener: TcpListener, trace: Arc<Trace>, panel: Panel, mut shutdown: Shutdown) {
    let stop = shutdown.clone();
    accept_until(&listener, &mut shutdown, |stream| {
        log::spawn(visit(stream, Arc::clone(&trace), panel, stop.clone()));
    })
    .await;
}

/// One request: the page, the event stream, or an HTTP error.
async fn visit(mut stream: TcpStream, trace: Arc<Trace>, panel: Panel, shutdown: Shutdown) {
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
            let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
            let socket = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
            stream_events(socket, &trace, &panel, shutdown).await;
        }
        _ => answer(&mut stream, "404 Not Found", "text/plain", "not found\n").await,
    }
}

/// Reads up to the end of the request head (`\r\n\r\n`); `None` if the browser
/// left first or sent more than [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&buffer[..read]);
        if head.len() > MAX_HEAD {
            return None;
        }
    }
    Some(head)
}

/// Sends a whole HTTP answer and closes.
async fn answer(stream: &mut TcpStream, status: &str, kind: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Streams hello, the recent past, then every live event, until the page
/// leaves, falls too far behind (it reconnects and rebuilds), or we stop.
async fn stream_events(
    mut socket: WebSocketStream<TcpStream>,
    trace: &Trace,
    panel: &Panel,
    mut shutdown: Shutdown,
) {
    let mut watch = trace.watch();
    let mut past = vec![hello(panel, &watch.before, watch.now)];
    past.extend(watch.recent.iter().map(change));
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

/// Closes the stream with `code`, briefly waiting for the page's answer.
async fn close(mut socket: WebSocketStream<TcpStream>, code: CloseCode, reason: &str) {
    close_politely(&mut socket, code, reason).await;
}

/// The first message: what to draw and count, and totals of what fell out of the history.
fn hello(panel: &Panel, before: &[(String, Totals)], now_ns: u64) -> String {
    let mut out = String::from(r#"{"type":"hello","title":"#);
    json_string(&mut out, panel.title);
    out.push_str(r#","signals":["#);
    for (i, (id, kind)) in panel.signals.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { "," });
        out.push_str(r#"{"id":"#);
        json_string(&mut out, id);
        out.push_str(r#","kind":"#);
        json_string(&mut out, kind);
        out.push('}');
    }
    out.push_str(r#"],"counters":["#);
    for (i, counter) in panel.counters.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { "," });
        out.push_str(r#"{"label":"#);
        json_string(&mut out, counter.label);
        out.push_str(r#","signal":"#);
        json_string(&mut out, counter.signal);
        let count = if counter.rises { "rises" } else { "samples" };
        let _ = write!(out, r#","count":"{count}"}}"#);
    }
    out.push_str(r#"],"buzz":"#);
    match panel.buzz {
        Some(buzz) => json_string(&mut out, buzz),
        None => out.push_str("null"),
    }
    out.push_str(r#","before":{"#);
    for (i, (id, totals)) in before.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { "," });
        json_string(&mut out, id);
        let _ = write!(
            out,
            r#":{{"samples":{},"rises":{},"edges":{},"last":"#,
            totals.samples, totals.rises, totals.edges
        );
        match &totals.last {
            Some(level) => value(&mut out, level),
            None => out.push_str("null"),
        }
        out.push('}');
    }
    let _ = write!(out, r#"}},"now":{}}}"#, now_ns / 1000);
    out
}

/// One change as a `change` message (time in microseconds).
fn change(change: &Change) -> String {
    let mut out = String::with_capacity(80);
    let _ = write!(
        out,
        r#"{{"type":"change","t":{},"signal":"#,
        change.at / 1000
    );
    json_string(&mut out, &change.signal());
    out.push_str(r#","value":"#);
    value(&mut out, &change.level);
    out.push('}');
    out
}

/// Any event as its message.
fn event(event: &Event) -> String {
    match event {
        Event::Change(c) => change(c),
        Event::End { at, summary } => {
            let mut out = format!(r#"{{"type":"end","t":{},"summary":"#, at / 1000);
            json_string(&mut out, summary);
            out.push('}');
            out
        }
    }
}

/// A value as JSON: bits as 0 or 1, numbers, text as a string.
fn value(out: &mut String, level: &Level) {
    match level {
        Level::Bit(bit) => out.push(if *bit { '1' } else { '0' }),
        Level::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Level::Text(text) => json_string(out, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Value;

    const PANEL: Panel = Panel {
        title: "test",
        signals: &[("iopin.level", "bit")],
        counters: &[Counter {
            label: "bits drawn",
            signal: "iopin.level",
            rises: false,
        }],
        buzz: None,
    };

    #[test]
    fn messages_are_the_documented_json() {
        let totals = Totals {
            samples: 3,
            rises: 1,
            edges: 2,
            last: Some(Level::Bit(false)),
        };
        assert_eq!(
            hello(&PANEL, &[("iopin.level".to_owned(), totals)], 5_000),
            r#"{"type":"hello","title":"test","signals":[{"id":"iopin.level","kind":"bit"}],"counters":[{"label":"bits drawn","signal":"iopin.level","count":"samples"}],"buzz":null,"before":{"iopin.level":{"samples":3,"rises":1,"edges":2,"last":0}},"now":5}"#
        );
        let trace = Trace::new();
        trace.record("clock", "ack", Value::Text("[0, \"1\"]"));
        let recorded = &trace.watch().recent[0];
        assert!(change(recorded).ends_with(r#","signal":"clock.ack","value":"[0, \"1\"]"}"#));
    }
}
