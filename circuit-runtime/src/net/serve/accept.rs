//! A server's peers from arrival to departure, the same for every carrier:
//! the one accept loop, over any listener, and the one way each peer is
//! served (a place, the door, the conversation), with what they add up to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::base::durable::Barrier;
use crate::base::options::{Limits, Token};
use crate::base::shutdown::Shutdown;
use crate::base::sketch::Reactive;
use crate::net::serve::arrival::Arrival;
use crate::net::serve::dispatch::Dispatch;
use crate::net::serve::door::Door;
use crate::net::serve::peer::{Peer, Tally};
use crate::net::serve::processed::Processed;
use crate::net::serve::signals;
use crate::net::wire::listener::{accept_until, Listener};
use crate::net::wire::signal_frames;
use crate::observe::log;
use crate::observe::metrics;

/// What every peer of one server shares.
pub(crate) struct Peers<S> {
    /// The way to the loop.
    dispatch: Dispatch<S>,
    /// The server's limits.
    limits: Limits,
    /// The token a peer must carry, if any.
    token: Option<Token>,
    /// What the loop processed for each link, to answer a resent message.
    processed: Arc<Processed>,
    /// The `--max-clients` places, shared by every listener of the server.
    places: Arc<Semaphore>,
    /// What the peers sent, added up as each leaves.
    served: Arc<Served>,
    /// Stops the accept loops and every conversation.
    shutdown: Shutdown,
    /// With spooled links, what acknowledgements wait for: the loop's sends on disk.
    durable: Option<Arc<Barrier>>,
}

impl<S> Clone for Peers<S> {
    fn clone(&self) -> Self {
        Peers {
            dispatch: self.dispatch.clone(),
            limits: self.limits,
            token: self.token.clone(),
            processed: Arc::clone(&self.processed),
            places: Arc::clone(&self.places),
            served: Arc::clone(&self.served),
            shutdown: self.shutdown.clone(),
            durable: self.durable.clone(),
        }
    }
}

impl<S: Reactive> Peers<S> {
    /// The peers of a server whose loop `dispatch` reaches, remembering
    /// what it processed in `processed`, and acknowledging only past
    /// `durable` when the sketch's links keep a spool.
    pub(crate) fn new(
        dispatch: Dispatch<S>,
        limits: Limits,
        token: Option<Token>,
        processed: Processed,
        served: Arc<Served>,
        shutdown: Shutdown,
        durable: Option<Arc<Barrier>>,
    ) -> Self {
        Peers {
            dispatch,
            limits,
            token,
            processed: Arc::new(processed),
            places: Arc::new(Semaphore::new(limits.max_clients)),
            served,
            shutdown,
            durable,
        }
    }

    /// Accepts peers from `listener` until shutdown, each served by a task of its own.
    pub(crate) async fn accept<L>(self, mut listener: L)
    where
        L: Listener,
        L::Arrival: Arrival,
    {
        let mut shutdown = self.shutdown.clone();
        accept_until(&mut listener, &mut shutdown, |arrival| {
            // Taken here, in arrival order, so that a burst beyond the limit is refused.
            let place = if <L::Arrival as Arrival>::COUNTED {
                match Arc::clone(&self.places).try_acquire_owned() {
                    Ok(place) => Place::Taken { _place: place },
                    Err(_) => Place::Full,
                }
            } else {
                Place::Uncounted
            };
            log::spawn(self.clone().serve(arrival, place));
        })
        .await;
    }

    /// Serves one arrived peer: through the door (refused with 503 when
    /// every place is taken), then its conversation, while it holds its place.
    /// Whatever happens to this peer is logged and stays with this peer.
    async fn serve<A: Arrival>(self, arrival: A, place: Place) {
        let full = matches!(place, Place::Full);
        let door = Door::new(self.limits, self.token.as_ref(), full);
        let mut shutdown = self.shutdown.clone();
        let opened = tokio::select! {
            opened = arrival.open(&door) => opened,
            () = shutdown.wait() => return,
        };
        let (socket, path, resume) = match opened {
            Ok(opened) => opened,
            Err(refused) => return refused.log(self.limits),
        };
        // The recorder of another host asks for the sketch's signals, not its loop.
        if path == signal_frames::PATH {
            signals::stream(socket, log::current(), self.shutdown.clone()).await;
            drop(place);
            return;
        }
        let _connected = self.served.metered.peer();
        let metered = self.served.metered.path(&path);
        let mut peer = Peer::new(socket, path, &self.dispatch, self.limits, metered);
        peer.durable(self.durable.as_deref());
        if let Some(resume) = resume {
            peer.resume(resume, &self.processed);
        }
        self.served.add(peer.run(&self.shutdown).await);
        drop(place);
    }
}

/// A peer's place among the server's `--max-clients`, held while it is served.
enum Place {
    /// It holds one, given back when this is dropped.
    Taken {
        /// Held, never read: its drop frees the place.
        _place: OwnedSemaphorePermit,
    },
    /// Every place is taken: the door refuses it.
    Full,
    /// It needs none (see [`Arrival::COUNTED`]).
    Uncounted,
}

/// Messages acknowledged and peers served, added up as each peer leaves
/// (nothing per message); counted live, per message, for `--metrics`.
pub(crate) struct Served {
    /// The server's series (`--metrics`), which its peers count in.
    metered: metrics::Sketch,
    /// Messages acknowledged, over all peers.
    messages: AtomicU64,
    /// Of them, those refused (answered `error: …`).
    refused: AtomicU64,
    /// Peers whose conversation began.
    peers: AtomicU64,
}

impl Served {
    /// Nothing served yet by sketch `name`.
    pub(crate) fn new(name: &str) -> Self {
        Served {
            metered: metrics::Sketch::named(name),
            messages: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            peers: AtomicU64::new(0),
        }
    }

    /// Counts one peer that has left, and what it sent.
    fn add(&self, tally: Tally) {
        self.messages.fetch_add(tally.handled, Ordering::Relaxed);
        self.refused.fetch_add(tally.refused, Ordering::Relaxed);
        self.peers.fetch_add(1, Ordering::Relaxed);
    }

    /// "served 15 messages from 1 peer", and ", 3 refused" when some were.
    pub(crate) fn line(&self) -> String {
        let (messages, refused, peers) = (
            self.messages.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.peers.load(Ordering::Relaxed),
        );
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let refused = match refused {
            0 => String::new(),
            n => format!(", {n} refused"),
        };
        format!(
            "served {} from {}{refused}",
            plural(messages, "message", "messages"),
            plural(peers, "peer", "peers")
        )
    }
}
