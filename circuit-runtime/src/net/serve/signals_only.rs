//! A port that serves one sketch's signal stream and nothing else
//! (`/_circuit/signals`): what a timer of a circuit across hosts, which
//! serves no peers, offers the recorder on another host. Its peers come in
//! through the same door as a server's (its token, its TLS, its
//! `--max-clients`) and get the same stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::base::error::{Error, Result};
use crate::base::options::{Limits, Options, Token};
use crate::base::shutdown::Shutdown;
use crate::net::serve::arrival::Arrival;
use crate::net::serve::door::Door;
use crate::net::serve::signals;
use crate::net::wire::listener::{accept_until, Listener, Tcp, Tls};
use crate::net::wire::signal_frames::PATH;
use crate::net::wire::socket::close_politely;
use crate::net::wire::tls;
use crate::observe::log;

/// How long stopping waits for the streams to send what they hold and close.
const CLOSING: Duration = Duration::from_secs(1);

/// A running signal stream port.
pub(crate) struct SignalsOnly {
    /// The address bound (its real port).
    address: SocketAddr,
    /// Whether it speaks TLS (`wss://`).
    secure: bool,
    /// Whether a peer must show a token or a client certificate.
    auth: bool,
    /// Stops the accept loop and every stream.
    shutdown: Shutdown,
    /// The accept loop.
    accepting: JoinHandle<()>,
    /// Held by every stream: closed once the last has ended.
    streams: (mpsc::Sender<()>, mpsc::Receiver<()>),
}

impl SignalsOnly {
    /// Binds a free port of `bind` and serves the signal stream of sketch
    /// `sketch` on it, with the token, certificate and limits of `options`.
    ///
    /// # Errors
    /// [`Error::Tls`] for a certificate that cannot be used, and as
    /// [`Tcp::bind`] when no port can be bound.
    pub(crate) async fn start(sketch: Arc<str>, bind: &str, options: &Options) -> Result<Self> {
        let acceptor = tls::acceptor(&options.tls).map_err(Error::Tls)?;
        let tcp = Tcp::bind(&format!("{bind}:0")).await?;
        let address = tcp.local_addr()?;
        let shutdown = Shutdown::new();
        let streams = mpsc::channel(1);
        let entry = Entry {
            sketch,
            limits: options.limits,
            token: options.token.clone(),
            places: Arc::new(Semaphore::new(options.limits.max_clients)),
            shutdown: shutdown.clone(),
            held: streams.0.clone(),
        };
        let secure = acceptor.is_some();
        let accepting = match acceptor {
            Some(acceptor) => log::spawn(entry.accept(Tls::new(tcp, acceptor))),
            None => log::spawn(entry.accept(tcp)),
        };
        tracing::debug!("serving its signals on port {}", address.port());
        Ok(SignalsOnly {
            address,
            secure,
            auth: options.token.is_some() || options.tls.client_ca.is_some(),
            shutdown,
            accepting,
            streams,
        })
    }

    /// The address bound.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Whether it speaks TLS.
    pub(crate) fn secure(&self) -> bool {
        self.secure
    }

    /// Whether a peer must show a token or a client certificate.
    pub(crate) fn auth(&self) -> bool {
        self.auth
    }

    /// Stops accepting, and waits (at most [`CLOSING`]) for each stream to
    /// send the changes it still holds and close.
    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.accepting.await;
        let (held, mut ended) = self.streams;
        drop(held);
        let _ = timeout(CLOSING, ended.recv()).await;
    }
}

/// What every peer of the port shares.
#[derive(Clone)]
struct Entry {
    /// The sketch whose signals are streamed.
    sketch: Arc<str>,
    /// The handshake's time limit, the largest message, `--max-clients`.
    limits: Limits,
    /// The token a peer must carry, if any.
    token: Option<Token>,
    /// The `--max-clients` places.
    places: Arc<Semaphore>,
    /// Stops the accept loop and every stream.
    shutdown: Shutdown,
    /// Held by each stream while it runs (see [`SignalsOnly::stop`]).
    held: mpsc::Sender<()>,
}

impl Entry {
    /// Accepts peers from `listener` until shutdown, each served by a task of its own.
    async fn accept<L>(self, mut listener: L)
    where
        L: Listener,
        L::Arrival: Arrival,
    {
        let mut shutdown = self.shutdown.clone();
        accept_until(&mut listener, &mut shutdown, |arrival| {
            log::spawn(self.clone().serve(arrival));
        })
        .await;
    }

    /// Serves one peer: through the door, then the stream if it asked for
    /// it; any other path is closed with a word on what this port is.
    async fn serve<A: Arrival>(self, arrival: A) {
        let place = Arc::clone(&self.places).try_acquire_owned().ok();
        let door = Door::new(self.limits, self.token.as_ref(), place.is_none());
        let mut shutdown = self.shutdown.clone();
        let opened = tokio::select! {
            opened = arrival.open(&door) => opened,
            () = shutdown.wait() => return,
        };
        let (mut socket, path, _) = match opened {
            Ok(opened) => opened,
            Err(refused) => return refused.log(self.limits),
        };
        if path != PATH {
            let why = format!("{} serves nothing but its signals ({PATH})", self.sketch);
            return close_politely(&mut socket, CloseCode::Policy, &why).await;
        }
        signals::stream(socket, self.sketch, self.shutdown).await;
        drop((place, self.held));
    }
}
