//! An HTTP/1.1 server on hyper for the framework's own pages: bound to an
//! address, over TLS beyond loopback when a certificate is given, each
//! connection served by a [`Site`] until shutdown. A WebSocket stream is an
//! upgrade that the site takes over (see [`upgrade`]).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::base::error::{Error, Result};
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::wire::listener::{accept_until, Tcp};
use crate::net::wire::socket::READ_BUFFER;
use crate::net::wire::tls::{self, TlsAcceptor};
use crate::observe::log;

/// How long a client may take to send a request's head (and its TLS handshake).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// An answer: a whole body.
pub(crate) type Answer = Response<Full<Bytes>>;

/// A WebSocket stream that a site took over from an upgraded request.
pub(crate) type Upgraded = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// What a server serves: an answer to each request (a `GET`).
pub(crate) trait Site: Send + Sync + 'static {
    /// The answer to `request`. A WebSocket stream is answered with [`upgrade`].
    fn answer(&self, request: Request<Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>>;
}

/// A running server.
pub(crate) struct Served {
    /// Where it listens.
    pub(crate) address: SocketAddr,
    /// Whether it speaks TLS.
    pub(crate) secure: bool,
    /// The accept loop.
    accepting: JoinHandle<()>,
}

impl Served {
    /// Waits for the server to end (after its shutdown fired).
    pub(crate) async fn stopped(self) {
        let _ = self.accepting.await;
    }
}

/// Binds `address` (`HOST:PORT`; port 0 picks a free one) and serves `site`
/// there until `shutdown` fires, its lines logged as `name`. On loopback it
/// stays plain HTTP; beyond it, it takes the certificate in `tls`, if any.
///
/// # Errors
/// [`Error::Resolve`] for an unknown host, [`Error::Bind`] when the port is
/// taken, [`Error::NotOurs`] for an address of another machine,
/// [`Error::Tls`] for a certificate that cannot be used.
pub(crate) async fn serve(
    address: &str,
    site: Arc<dyn Site>,
    tls: &TlsFiles,
    name: &'static str,
    shutdown: Shutdown,
) -> Result<Served> {
    let listener = Tcp::bind(address).await?;
    let address = listener.local_addr()?;
    let acceptor = if address.ip().is_loopback() {
        None
    } else {
        tls::acceptor(tls).map_err(Error::Tls)?
    };
    let secure = acceptor.is_some();
    let accepting = tokio::spawn(log::scoped(
        name,
        accept(listener, acceptor, site, shutdown),
    ));
    Ok(Served {
        address,
        secure,
        accepting,
    })
}

/// Accepts clients until shutdown; each connection gets a task of its own.
async fn accept(
    mut listener: Tcp,
    acceptor: Option<TlsAcceptor>,
    site: Arc<dyn Site>,
    mut shutdown: Shutdown,
) {
    let stop = shutdown.clone();
    accept_until(&mut listener, &mut shutdown, |stream| {
        let (site, stop, acceptor) = (Arc::clone(&site), stop.clone(), acceptor.clone());
        log::spawn(async move {
            match acceptor {
                None => connection(stream, site, stop).await,
                Some(acceptor) => {
                    if let Ok(Ok(secured)) = timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
                    {
                        connection(secured, site, stop).await;
                    }
                }
            }
        });
    })
    .await;
}

/// Serves one connection's requests until it closes or shutdown fires
/// (then the request under way is finished, and the connection closed).
async fn connection<S>(stream: S, site: Arc<dyn Site>, mut shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let site = Arc::clone(&site);
        async move { Ok::<_, Infallible>(checked(request, site.as_ref()).await) }
    });
    let serving = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(serving);
    tokio::select! {
        _ = serving.as_mut() => {}
        () = shutdown.wait() => {
            serving.as_mut().graceful_shutdown();
            let _ = timeout(REQUEST_TIMEOUT, serving).await;
        }
    }
}

/// `request` answered by `site` when it is a `GET`; else 405. Every answer
/// is kept out of caches: each shows what is live.
async fn checked(request: Request<Incoming>, site: &dyn Site) -> Answer {
    let mut answer = if request.method() == Method::GET {
        site.answer(request).await
    } else {
        text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
    };
    answer
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    answer
}

/// An answer of `status` with `body`, of type `kind`.
pub(crate) fn whole(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Answer {
    let mut answer = Response::new(Full::new(body.into()));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    answer
}

/// A plain-text answer of `status`.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Answer {
    whole(status, "text/plain; charset=utf-8", body)
}

/// Answers `request` with a WebSocket upgrade (426 when it asks for none),
/// and runs `stream` on the upgraded connection once the 101 is sent.
pub(crate) fn upgrade<F, Fut>(mut request: Request<Incoming>, stream: F) -> Answer
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let headers = request.headers();
    let asked = headers
        .get(UPGRADE)
        .is_some_and(|upgrade| upgrade.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let Some(key) = headers.get("sec-websocket-key").filter(|_| asked) else {
        return text(StatusCode::UPGRADE_REQUIRED, "a WebSocket stream\n");
    };
    let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) else {
        return text(StatusCode::BAD_REQUEST, "bad Sec-WebSocket-Key\n");
    };
    log::spawn(async move {
        // Resolves once the 101 below is written.
        let Ok(upgraded) = hyper::upgrade::on(&mut request).await else {
            return;
        };
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        stream(socket).await;
    });
    let mut answer = Response::new(Full::new(Bytes::new()));
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = answer.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert("sec-websocket-accept", accept);
    answer
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A site of one page, `/`, and a stream at `/events` that says hello.
    struct Hello;

    impl Site for Hello {
        fn answer(
            &self,
            request: Request<Incoming>,
        ) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
            let answer = match request.uri().path() {
                "/" => whole(StatusCode::OK, "text/plain", "page"),
                "/events" => upgrade(request, |mut socket| async move {
                    use futures_util::SinkExt;
                    let _ = socket
                        .send(tokio_tungstenite::tungstenite::Message::text("hello"))
                        .await;
                }),
                _ => text(StatusCode::NOT_FOUND, "not found\n"),
            };
            Box::pin(std::future::ready(answer))
        }
    }

    /// The [`Hello`] site served on a free port of loopback, and its stop.
    async fn hello_served() -> (Served, Shutdown) {
        let shutdown = Shutdown::new();
        let tls = TlsFiles::default();
        let served = serve(
            "127.0.0.1:0",
            Arc::new(Hello),
            &tls,
            "web",
            shutdown.clone(),
        )
        .await;
        (served.unwrap(), shutdown)
    }

    /// What the server answers `requests`, sent at once on one connection
    /// that the last request closes.
    async fn asked(address: SocketAddr, requests: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(requests.as_bytes()).await.unwrap();
        let mut answers = String::new();
        timeout(Duration::from_secs(10), stream.read_to_string(&mut answers))
            .await
            .unwrap()
            .unwrap();
        answers
    }

    #[tokio::test]
    async fn requests_are_answered_in_turn_and_only_gets_are_served() {
        let (served, shutdown) = hello_served().await;
        let answers = asked(
            served.address,
            "GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        // A body has no line end of its own: the next answer follows it at once.
        let statuses: Vec<&str> = answers
            .split("HTTP/1.1 ")
            .skip(1)
            .filter_map(|answer| answer.lines().next())
            .collect();
        assert_eq!(
            statuses,
            [
                "200 OK",
                "405 Method Not Allowed",
                "404 Not Found",
                "426 Upgrade Required"
            ],
            "{answers}"
        );
        assert_eq!(
            answers.matches("cache-control: no-store").count(),
            4,
            "{answers}"
        );
        shutdown.trigger();
        served.stopped().await;
    }

    #[tokio::test]
    async fn an_upgrade_hands_the_connection_to_the_site_as_a_websocket() {
        use futures_util::StreamExt;

        let (served, shutdown) = hello_served().await;
        let url = format!("ws://{}/events", served.address);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let hello = socket.next().await.unwrap().unwrap();
        assert_eq!(hello.into_text().unwrap().as_str(), "hello");
        shutdown.trigger();
        served.stopped().await;
    }
}
