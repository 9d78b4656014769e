//! A server: binds a port, accepts peers, and hands the sketch back when stopped.
//!
//! Each peer has its own task that reads frames, has the loop answer them one
//! at a time (see [`crate::dispatch`]), and writes back acknowledgements.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use crate::auth::Token;
use crate::cli::{Limits, Options};
use crate::connection;
use crate::dispatch::Dispatch;
use crate::link::Link;
use crate::log;
use crate::shutdown::Shutdown;
use crate::sketch::Reactive;
use crate::{Error, Result};

/// How long a stopping sketch may take to deliver what its links still hold;
/// shorter than the 2 s a stop may take, so a stuck link is reported, not cut off.
const FLUSH: Duration = Duration::from_secs(1);

/// A running server sketch.
pub struct Server<S> {
    /// The address actually bound (the real port when `-p 0` was asked).
    address: SocketAddr,
    /// Stops the accept loop and every connection.
    shutdown: Shutdown,
    /// The accept loop.
    accepting: JoinHandle<()>,
    /// The task that hands the sketch back once every peer is gone.
    sketch: JoinHandle<S>,
}

impl<S: Reactive> Server<S> {
    /// Runs `setup`, binds `options.socket:options.port`, logs `serving on`, and starts accepting.
    ///
    /// # Errors
    /// [`Error::Setup`] when `setup` rejects the settings, [`Error::Resolve`] for
    /// an unknown host, [`Error::Bind`] when the port is taken.
    pub async fn start(sketch: S, options: &Options) -> Result<Self> {
        log::scoped(S::NAME, Self::start_here(sketch, options)).await
    }

    /// [`Server::start`], logging as the sketch's own task.
    async fn start_here(mut sketch: S, options: &Options) -> Result<Self> {
        sketch.begin()?;
        authorize(&sketch.links(), options.token.as_ref());
        let listener = bind(&options.socket, options.port).await?;
        let address = listener.local_addr()?;
        if !address.ip().is_loopback() {
            tracing::warn!(
                "listening on {}: this sketch is reachable from the network, by anyone who can reach this machine",
                address.ip()
            );
        }
        let shutdown = Shutdown::new();
        let (dispatch, sketch) = Dispatch::start(sketch);
        let accepting = tokio::spawn(log::scoped(
            S::NAME,
            accept(
                listener,
                dispatch,
                options.limits,
                options.token.clone(),
                shutdown.clone(),
            ),
        ));
        tracing::info!("serving on {}:{}", options.socket, address.port());
        Ok(Server {
            address,
            shutdown,
            accepting,
            sketch,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, closes every peer with 1001 once its in-flight message
    /// is acknowledged, delivers what the links still hold, and hands back the sketch.
    pub async fn stop(self) -> S {
        self.shutdown.trigger();
        let _ = self.accepting.await;
        let sketch = match self.sketch.await {
            Ok(sketch) => sketch,
            // The sketch task catches the loop's panics, so this is a bug of ours.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        log::scoped(S::NAME, flush(&sketch.links())).await;
        sketch
    }
}

/// Serves `sketch` until `shutdown` fires, then stops it cleanly.
///
/// # Errors
/// As [`Server::start`].
pub async fn serve<S: Reactive>(
    sketch: S,
    options: &Options,
    mut shutdown: Shutdown,
) -> Result<()> {
    let server = Server::start(sketch, options).await?;
    shutdown.wait().await;
    server.stop().await;
    Ok(())
}

/// Has every link present the sketch's token, so that linked servers sharing it admit us.
pub(crate) fn authorize(links: &[&Link], token: Option<&Token>) {
    if let Some(token) = token {
        for link in links {
            link.authorize(token.clone());
        }
    }
}

/// Delivers what `links` still hold and closes them, for at most [`FLUSH`] each.
pub(crate) async fn flush(links: &[&Link]) {
    for link in links {
        if timeout(FLUSH, link.close()).await.is_err() {
            tracing::warn!(
                "link to {} did not take everything before the end",
                link.url()
            );
        }
    }
}

/// Binds the first address `host` resolves to.
async fn bind(host: &str, port: u16) -> Result<TcpListener> {
    bind_to(&format!("{host}:{port}")).await
}

/// Binds the first address `HOST:PORT` resolves to; the errors name the address.
pub(crate) async fn bind_to(addr: &str) -> Result<TcpListener> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let resolve = |source| Error::Resolve {
        host: host.to_owned(),
        source,
    };
    let resolved = tokio::net::lookup_host(addr)
        .await
        .map_err(resolve)?
        .next()
        .ok_or_else(|| resolve(std::io::Error::other("no address")))?;
    TcpListener::bind(resolved)
        .await
        .map_err(|source| Error::Bind {
            addr: addr.to_owned(),
            source,
        })
}

/// Accepts peers until shutdown. Beyond `--max-clients`, peers are refused.
async fn accept(
    listener: TcpListener,
    dispatch: Dispatch,
    limits: Limits,
    token: Option<Token>,
    mut shutdown: Shutdown,
) {
    let places = Arc::new(Semaphore::new(limits.max_clients));
    let stop = shutdown.clone();
    accept_until(&listener, &mut shutdown, |stream| {
        match Arc::clone(&places).try_acquire_owned() {
            Ok(place) => {
                let peer = connection::serve(
                    stream,
                    dispatch.clone(),
                    limits,
                    token.clone(),
                    stop.clone(),
                );
                log::spawn(async move {
                    peer.await;
                    drop(place);
                });
            }
            Err(_) => {
                log::spawn(connection::refuse(stream, limits));
            }
        }
    })
    .await;
}

/// Accepts connections until `shutdown` fires and hands each to `serve`, with
/// Nagle off. A failed `accept` (such as too many open files) never stops the
/// loop: it is logged and retried after a pause that doubles up to a second.
pub(crate) async fn accept_until(
    listener: &TcpListener,
    shutdown: &mut Shutdown,
    mut serve: impl FnMut(TcpStream),
) {
    let mut pause = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => return,
        };
        match accepted {
            Ok((stream, _peer)) => {
                pause = Duration::from_millis(10);
                let _ = stream.set_nodelay(true);
                serve(stream);
            }
            Err(err) => {
                tracing::warn!("accept failed: {err}; retrying in {}ms", pause.as_millis());
                sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
