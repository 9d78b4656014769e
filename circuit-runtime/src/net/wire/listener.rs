//! Where peers arrive, whatever carries them: a [`Listener`] for TCP, one for
//! TLS over TCP, one for in-process wires, and the one accept loop that runs
//! over any of them.
//!
//! A listener only hands over what arrived; making a conversation of it (the
//! handshakes, the token) is the server's job (`serve::arrival`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::sleep;

use crate::base::error::{Error, Result};
use crate::base::shutdown::Shutdown;
use crate::net::wire::memory::{self, Incoming};
use crate::net::wire::tls::TlsAcceptor;

/// Where peers arrive from: TCP, TLS or this process's wires.
pub(crate) trait Listener: Send + 'static {
    /// What arrives: a peer before any handshake.
    type Arrival: Send + 'static;

    /// The next peer; `None` once no more can arrive. Cancel-safe, so that it
    /// can wait beside a stop signal.
    fn accept(&mut self) -> impl Future<Output = Option<Self::Arrival>> + Send;
}

/// Accepts peers from `listener` until `shutdown` fires (or no more can
/// arrive) and hands each to `serve`.
pub(crate) async fn accept_until<L: Listener>(
    listener: &mut L,
    shutdown: &mut Shutdown,
    mut serve: impl FnMut(L::Arrival),
) {
    loop {
        let arrival = tokio::select! {
            arrival = listener.accept() => arrival,
            () = shutdown.wait() => return,
        };
        match arrival {
            Some(arrival) => serve(arrival),
            None => return,
        }
    }
}

/// The first pause after a failed `accept`; each failure in a row doubles it.
const FIRST_PAUSE: Duration = Duration::from_millis(10);

/// The longest pause after a failed `accept`.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// A bound TCP port. A failed `accept` (such as too many open files) never
/// ends it: it is logged and retried after a pause that doubles up to a second.
pub(crate) struct Tcp {
    /// The bound socket.
    listener: TcpListener,
    /// The pause after the next failed `accept`.
    pause: Duration,
}

impl Tcp {
    /// Binds the first address `HOST:PORT` resolves to; the errors name the
    /// address, and tell a port in use from an address this machine does not have.
    pub(crate) async fn bind(addr: &str) -> Result<Tcp> {
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
        let listener = TcpListener::bind(resolved)
            .await
            .map_err(|source| match source.kind() {
                // "Is the server already running?" would send a user looking
                // for a process that does not exist.
                std::io::ErrorKind::AddrNotAvailable => Error::NotOurs {
                    addr: addr.to_owned(),
                    ip: resolved.ip(),
                    source,
                },
                _ => Error::Bind {
                    addr: addr.to_owned(),
                    source,
                },
            })?;
        Ok(Tcp::from(listener))
    }

    /// A listener bound beforehand (so that others could be told its port).
    pub(crate) fn from_std(listener: std::net::TcpListener) -> Result<Tcp> {
        listener.set_nonblocking(true)?;
        Ok(Tcp::from(TcpListener::from_std(listener)?))
    }

    /// The address it is bound to.
    pub(crate) fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }
}

impl From<TcpListener> for Tcp {
    fn from(listener: TcpListener) -> Tcp {
        Tcp {
            listener,
            pause: FIRST_PAUSE,
        }
    }
}

impl Listener for Tcp {
    type Arrival = TcpStream;

    async fn accept(&mut self) -> Option<TcpStream> {
        loop {
            match self.listener.accept().await {
                Ok((stream, _peer)) => {
                    self.pause = FIRST_PAUSE;
                    // Acks are tiny and latency-bound: do not let Nagle hold them.
                    let _ = stream.set_nodelay(true);
                    return Some(stream);
                }
                Err(err) => {
                    let pause = self.pause;
                    tracing::warn!("accept failed: {err}; retrying in {}ms", pause.as_millis());
                    self.pause = (pause * 2).min(LONGEST_PAUSE);
                    sleep(pause).await;
                }
            }
        }
    }
}

/// A TCP port whose peers speak TLS: each arrives with the acceptor that
/// will secure it, in its own task (a handshake takes round trips).
pub(crate) struct Tls {
    /// The port.
    tcp: Tcp,
    /// The server's certificate and what it asks of clients.
    acceptor: TlsAcceptor,
}

impl Tls {
    /// Peers of `tcp`, secured with `acceptor`.
    pub(crate) fn new(tcp: Tcp, acceptor: TlsAcceptor) -> Tls {
        Tls { tcp, acceptor }
    }
}

/// A peer of a TLS port, before its TLS handshake.
pub(crate) struct Secured {
    /// Its connection.
    pub(crate) stream: TcpStream,
    /// What secures it.
    pub(crate) acceptor: TlsAcceptor,
}

impl Listener for Tls {
    type Arrival = Secured;

    async fn accept(&mut self) -> Option<Secured> {
        let stream = self.tcp.accept().await?;
        Some(Secured {
            stream,
            acceptor: self.acceptor.clone(),
        })
    }
}

/// The peers of this process that reach a server by its name over in-memory
/// wires (`mem://NAME/PATH`).
pub(crate) struct InProcess(mpsc::UnboundedReceiver<Incoming>);

impl InProcess {
    /// Registers the server `name` of this process; it takes peers until dropped.
    pub(crate) fn register(name: &str) -> InProcess {
        InProcess(memory::register(name))
    }
}

impl Listener for InProcess {
    type Arrival = Incoming;

    async fn accept(&mut self) -> Option<Incoming> {
        self.0.recv().await
    }
}
