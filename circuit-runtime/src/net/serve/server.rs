//! A server: binds a port, accepts peers, and hands the sketch back when stopped.
//!
//! Its peers arrive on a TCP (or TLS) port and, inside one process, over
//! in-memory wires; each is served the same way (see `accept`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::base::durable::Barrier;
use crate::base::error::{Error, Result};
use crate::base::losses::Losses;
use crate::base::message::Payload;
use crate::base::options::Options;
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{Reactive, Replaying, RunReport, Running, Runs, Starting};
use crate::base::wiring::MessageType;
use crate::net::find::discovery::{self, Advert};
use crate::net::find::mdns::{advertise, Advertised};
use crate::net::mqtt::subscriptions::Subscriptions;
use crate::net::send::outbound::{configure, drain};
use crate::net::serve::accept::{Peers, Served};
use crate::net::serve::dispatch::Dispatch;
use crate::net::serve::processed::Processed;
use crate::net::wire::listener::{InProcess, Tcp, Tls};
use crate::net::wire::tls;
use crate::observe::{health, log};

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
    /// How long stopping may take to deliver what the links hold (`--stop-timeout`).
    stop_timeout: std::time::Duration,
    /// The name its log lines carry.
    name: Arc<str>,
    /// What its peers sent, for its end-of-run line.
    served: Arc<Served>,
    /// Its DNS-SD advertisement, withdrawn (with a goodbye) when it stops.
    advertised: Option<Advertised>,
    /// Its `--subscribe` topics, whose messages its loop takes too.
    subscriptions: Subscriptions,
}

impl<S: Reactive> Server<S> {
    /// Runs `setup`, binds `options.socket:options.port`, logs `serving on`, and starts accepting.
    ///
    /// # Errors
    /// [`Error::Setup`](crate::base::Error::Setup) when `setup` rejects the
    /// settings, [`Error::Resolve`](crate::base::Error::Resolve) for an unknown
    /// host, [`Error::Bind`](crate::base::Error::Bind) when the port is taken,
    /// [`Error::NotOurs`](crate::base::Error::NotOurs) for an address of another machine.
    pub async fn start(sketch: S, options: &Options) -> Result<Self> {
        log::scoped(Self::name(options), Self::start_here(sketch, options, None)).await
    }

    /// As [`Server::start`], on a listener bound beforehand (so that other
    /// sketches could be told its port before it started).
    ///
    /// # Errors
    /// As [`Server::start`].
    pub async fn start_on(
        sketch: S,
        options: &Options,
        listener: std::net::TcpListener,
    ) -> Result<Self> {
        log::scoped(
            Self::name(options),
            Self::start_here(sketch, options, Some(listener)),
        )
        .await
    }

    /// [`Server::start`], logging as the sketch's own task.
    async fn start_here(
        mut sketch: S,
        options: &Options,
        bound: Option<std::net::TcpListener>,
    ) -> Result<Self> {
        sketch.begin()?;
        // A certificate that cannot be used stops the start, before the bind.
        let acceptor = tls::acceptor(&options.tls).map_err(Error::Tls)?;
        let shutdown = Shutdown::new();
        configure(&sketch, options, Some(&shutdown))?;
        let tcp = match bound {
            Some(listener) => Tcp::from_std(listener)?,
            None => Tcp::bind(&format!("{}:{}", options.socket, options.port)).await?,
        };
        let address = tcp.local_addr()?;
        if !address.ip().is_loopback() {
            tracing::warn!(
                "listening on {}: this sketch is reachable from the network, by anyone who can reach this machine",
                address.ip()
            );
        }
        // With `--spool`, what the loop processed survives a restart.
        let processed = match &options.spool {
            Some(dir) => Processed::durable(dir, &Self::name(options)).map_err(Error::Spool)?,
            None => Processed::default(),
        };
        let served = Arc::new(Served::new(&Self::name(options)));
        let durable = Barrier::of(sketch.links().iter().filter_map(|link| link.on_disk()));
        let (dispatch, sketch) = Dispatch::start(sketch);
        // Subscribed before it says it serves: a refusing broker stops the start.
        let subscriptions =
            match Subscriptions::start(options, &Self::name(options), &dispatch, &shutdown).await {
                Ok(subscriptions) => subscriptions,
                Err(err) => {
                    shutdown.trigger();
                    return Err(err);
                }
            };
        let token = options.token.clone();
        let peers = Peers::new(
            dispatch,
            options.limits,
            token,
            processed,
            Arc::clone(&served),
            shutdown.clone(),
            durable,
        );
        // Every carrier has its own listener, and one way its peers are served.
        if let Some(wire) = &options.in_process {
            log::spawn(peers.clone().accept(InProcess::register(wire)));
        }
        let secure = acceptor.is_some();
        let accepting = match acceptor {
            Some(acceptor) => log::spawn(peers.accept(Tls::new(tcp, acceptor))),
            None => log::spawn(peers.accept(tcp)),
        };
        if secure {
            tracing::info!("serving on wss://{}:{}", options.socket, address.port());
        } else {
            tracing::info!("serving on {}:{}", options.socket, address.port());
        }
        health::sketch_up();
        let advertised = Self::advertise(options, address, secure).await;
        Ok(Server {
            address,
            shutdown,
            accepting,
            sketch,
            stop_timeout: options.stop_timeout,
            name: Self::name(options),
            served,
            advertised,
            subscriptions,
        })
    }

    /// Announces the server by DNS-SD when asked to, or by default when it
    /// is bound beyond loopback; a machine without multicast gets a warning.
    async fn advertise(options: &Options, address: SocketAddr, tls: bool) -> Option<Advertised> {
        if !options.advertise.unwrap_or(!address.ip().is_loopback()) {
            return None;
        }
        let advert = Advert {
            sketch: Self::name(options).to_string(),
            kind: S::NAME.to_owned(),
            takes: S::LOOP.takes.name(),
            circuit: options.circuit.as_deref().map(str::to_owned),
            port: address.port(),
            ip: (!address.ip().is_unspecified()).then_some(address.ip()),
            auth: options.token.is_some() || options.tls.client_ca.is_some(),
            tls,
        };
        match advertise(&advert).await {
            Ok(advertised) => {
                let standby = if advertised.instance() == advert.sketch {
                    String::new()
                } else {
                    format!(", the name {:?} being taken: a standby", advert.sketch)
                };
                tracing::info!(
                    "advertised as {:?} ({}){standby}",
                    advertised.instance(),
                    discovery::SERVICE_TYPE
                );
                if address.ip().is_loopback() {
                    // Asked for with --advertise: other machines see the name,
                    // with no address they can reach.
                    tracing::warn!(
                        "advertised on {} alone: found by name from this machine only; serve on -s 0.0.0.0 (or an address of this machine) to be found from others",
                        address.ip()
                    );
                }
                Some(advertised)
            }
            Err(err) => {
                tracing::warn!("not advertised: {err}");
                None
            }
        }
    }

    /// The name its lines carry: its name in a circuit, or its kind's.
    fn name(options: &Options) -> Arc<str> {
        options.named.clone().unwrap_or_else(|| S::NAME.into())
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, closes every peer with 1001 once its in-flight message
    /// is acknowledged, delivers what the links still hold (within
    /// `--stop-timeout`, saying what it could not), says goodbye on DNS-SD,
    /// and hands back the sketch.
    pub async fn stop(self) -> S {
        self.stop_counting().await.0
    }

    /// [`Server::stop`], with what its links lost.
    async fn stop_counting(self) -> (S, Losses) {
        self.shutdown.trigger();
        let _ = self.accepting.await;
        // Every subscription lets go of the loop, so that the sketch comes back.
        let subscribed = self.subscriptions.finish().await;
        let sketch = match self.sketch.await {
            Ok(sketch) => sketch,
            // The sketch task catches the loop's panics, so this is a bug of ours.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        let (served, links) = (self.served, sketch.links());
        let lost = log::scoped(Arc::clone(&self.name), async {
            let lost = drain(&links, self.stop_timeout).await;
            tracing::info!("{}", served.line());
            for line in subscribed {
                tracing::info!("{line}");
            }
            lost
        })
        .await;
        drop(links);
        // Last: a part of a circuit across hosts that waits for this sketch
        // to end learns from the goodbye that all its links sent has arrived.
        if let Some(advertised) = self.advertised {
            advertised.withdraw().await;
        }
        (sketch, lost)
    }
}

/// The role of a sketch that serves peers: `type Role = Serving`.
pub struct Serving;

impl<S: Reactive> Runs<S> for Serving {
    const SERVES: bool = true;
    const TAKES: Option<MessageType> = Some(S::LOOP.takes);

    fn replay(mut sketch: S, inputs: Vec<(std::time::Duration, String, String)>) -> Replaying {
        Box::pin(async move {
            sketch.begin()?;
            let start = tokio::time::Instant::now();
            for (at, channel, text) in inputs {
                tokio::time::sleep_until(start + at).await;
                // The acknowledgement goes nowhere: what the sketch records is what counts.
                let _ = sketch.react(&channel, &Payload::text(text)).await;
            }
            Ok(())
        })
    }

    fn run(
        sketch: S,
        options: &Options,
        shutdown: Shutdown,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        serve(sketch, options, shutdown)
    }

    fn start(sketch: S, options: Options, listener: Option<std::net::TcpListener>) -> Starting {
        Box::pin(async move {
            let server = match listener {
                Some(listener) => Server::start_on(sketch, &options, listener).await?,
                None => Server::start(sketch, &options).await?,
            };
            Ok(Box::new(server) as Box<dyn Running>)
        })
    }
}

impl<S: Reactive> Running for Server<S> {
    fn done(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending()) // a server serves until it is stopped
    }

    fn stop(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<RunReport>> + Send>> {
        Box::pin(async move {
            let failed = self.subscriptions.failure();
            let (_, lost) = self.stop_counting().await;
            if let Some(err) = failed {
                return Err(err);
            }
            Ok(RunReport {
                lost,
                ..RunReport::default()
            })
        })
    }
}

/// Serves `sketch` until `shutdown` fires, then stops it cleanly.
///
/// # Errors
/// As [`Server::start`]; [`Error::Losses`] when its links lost messages
/// (after their end-of-run lines said so).
pub async fn serve<S: Reactive>(
    sketch: S,
    options: &Options,
    mut shutdown: Shutdown,
) -> Result<()> {
    let mut server = Server::start(sketch, options).await?;
    let failed = tokio::select! {
        () = shutdown.wait() => None,
        err = server.subscriptions.failed() => Some(err),
    };
    let (_, lost) = server.stop_counting().await;
    match failed {
        Some(err) => Err(err),
        None => lost.verdict(),
    }
}
