//! How a peer's message reaches the sketch's loop, one message at a time.
//!
//! A loop that never waits (not `async fn`) is run at once by the peer's own
//! task, under a lock held only for the call: no hop to another task and back
//! per message. A loop that may wait is run by the peer's own task too while
//! nobody else uses the sketch (the usual case: one peer, such as a clock);
//! when peers meet, they queue their messages to the task that owns the
//! sketch, which answers everything queued in one go, instead of the sketch
//! waiting for each peer's turn in a run queue that may hold thousands.
//!
//! Every message is shown to the observers of what reaches the loop (a
//! recording keeps what a sketch received) before it takes either way.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::base::message::{Ack, Payload};
use crate::base::sketch::Reactive;
use crate::observe::{inputs, log};

/// Messages waiting for a sketch whose loop may wait; beyond this, peers wait before sending more.
const QUEUE: usize = 256;

/// One message for the task that owns a sketch whose loop may wait.
pub(crate) struct Request {
    /// The path the peer connected to, such as `/datafeed`.
    channel: Arc<str>,
    /// The message as received: text or binary.
    message: Payload,
    /// Where the acknowledgement goes: the peer's own reply channel, made
    /// once per peer (not per message).
    reply: mpsc::UnboundedSender<Ack>,
}

/// A peer's way to the loop. Every peer holds a clone; the sketch is handed
/// back once the last one is dropped.
pub(crate) enum Dispatch<S> {
    /// The loop never waits: the peer's task runs it, under a lock held for the call.
    Now {
        /// The sketch; `None` once handed back.
        shared: Arc<Mutex<Option<S>>>,
        /// Never sent on: its closing tells the owner that every peer is gone.
        _alive: mpsc::Sender<Request>,
    },
    /// The loop may wait: the peer's task runs it when the sketch is free,
    /// else the owning task does, in arrival order.
    Queued {
        /// The sketch, held by whoever runs its loop; `None` once handed back.
        shared: Arc<tokio::sync::Mutex<Option<S>>>,
        /// The owning task's queue.
        requests: mpsc::Sender<Request>,
    },
}

impl<S> Clone for Dispatch<S> {
    fn clone(&self) -> Self {
        match self {
            Dispatch::Now { shared, _alive } => Dispatch::Now {
                shared: Arc::clone(shared),
                _alive: _alive.clone(),
            },
            Dispatch::Queued { shared, requests } => Dispatch::Queued {
                shared: Arc::clone(shared),
                requests: requests.clone(),
            },
        }
    }
}

/// What a peer keeps between messages: its reply channel, made on first use
/// and only for a queued sketch, so that no message pays for a channel.
#[derive(Default)]
pub(crate) struct Replies(Option<(mpsc::UnboundedSender<Ack>, mpsc::UnboundedReceiver<Ack>)>);

impl<S: Reactive> Dispatch<S> {
    /// Starts serving `sketch`: the way in for its peers, and the task that
    /// hands the sketch back once every peer (every clone) is gone.
    pub fn start(sketch: S) -> (Dispatch<S>, JoinHandle<S>) {
        let (alive, queue) = mpsc::channel(QUEUE);
        if S::LOOP.waits {
            let shared = Arc::new(tokio::sync::Mutex::new(Some(sketch)));
            // Unconstrained by tokio's cooperative budget: once scheduled, the sketch
            // answers everything queued before yielding, instead of going to the back
            // of a run queue that may hold thousands of connection tasks.
            let owner = log::spawn(tokio::task::unconstrained(own(Arc::clone(&shared), queue)));
            let requests = alive;
            return (Dispatch::Queued { shared, requests }, owner);
        }
        let shared = Arc::new(Mutex::new(Some(sketch)));
        let owner = log::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let mut queue = queue;
                // Nothing is ever sent: `None` means every peer has let go.
                while queue.recv().await.is_some() {}
                let mut sketch = shared.lock().unwrap_or_else(PoisonError::into_inner);
                sketch.take().expect("the sketch is handed back once")
            }
        });
        (
            Dispatch::Now {
                shared,
                _alive: alive,
            },
            owner,
        )
    }

    /// The loop's answer to `message` received on `channel`, or `None` when
    /// the server is shutting down and the loop can no longer be reached.
    pub async fn ask(
        &self,
        channel: &Arc<str>,
        message: Payload,
        replies: &mut Replies,
    ) -> Option<Ack> {
        observe(channel, &message);
        match self {
            Dispatch::Now { shared, .. } => {
                let mut sketch = shared.lock().unwrap_or_else(PoisonError::into_inner);
                Some(run_now(sketch.as_mut()?, channel, &message))
            }
            Dispatch::Queued { shared, requests } => {
                // Queued messages go first; then the sketch must be free.
                let queue_empty = requests.capacity() == requests.max_capacity();
                if let Some(mut sketch) = queue_empty.then(|| shared.try_lock().ok()).flatten() {
                    return Some(run_waiting(sketch.as_mut()?, channel, &message).await);
                }
                let (reply, answers) = replies.0.get_or_insert_with(mpsc::unbounded_channel);
                let request = Request {
                    channel: Arc::clone(channel),
                    message,
                    reply: reply.clone(),
                };
                requests.send(request).await.ok()?;
                // The owner answers every request it takes (a panicking loop
                // included), and it outlives us: we hold a sender of its queue.
                answers.recv().await
            }
        }
    }
}

/// What watches every message on its way to the loop, whichever way it takes:
/// a recording keeps what the sketch received, to drive it again.
fn observe(channel: &str, message: &Payload) {
    if let Payload::Text(text) = message {
        inputs::received(channel, text);
    }
}

/// Runs a loop that never waits on one message: its future is ready on the
/// first poll, so it is polled once, here, with a waker that is never needed.
fn run_now<S: Reactive>(sketch: &mut S, channel: &str, message: &Payload) -> Ack {
    let polled = catch_unwind(AssertUnwindSafe(|| {
        let future = pin!(sketch.react(channel, message));
        future.poll(&mut Context::from_waker(Waker::noop()))
    }));
    match polled {
        Ok(Poll::Ready(ack)) => ack,
        Ok(Poll::Pending) => {
            // Only a hand-written `Reactive` whose loop says `waits: false` and waits gets here.
            let why = "the loop waited, but its sketch says it never waits (`Reactive::LOOP`)";
            tracing::error!("{why}");
            Ack::Panicked(why.to_owned())
        }
        Err(panic) => panicked(panic.as_ref(), message, channel),
    }
}

/// Runs a loop that may wait on one message, to its answer (a panic included).
async fn run_waiting<S: Reactive>(sketch: &mut S, channel: &str, message: &Payload) -> Ack {
    AssertUnwindSafe(sketch.react(channel, message))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| panicked(panic.as_ref(), message, channel))
}

/// Owns a sketch whose loop may wait: answers the messages peers queue while
/// it is busy, in order, until every peer is gone; then hands the sketch back.
async fn own<S: Reactive>(
    shared: Arc<tokio::sync::Mutex<Option<S>>>,
    mut queue: mpsc::Receiver<Request>,
) -> S {
    while let Some(first) = queue.recv().await {
        let mut held = shared.lock().await;
        let sketch = held.as_mut().expect("the sketch is handed back once");
        let mut request = Some(first);
        // Everything queued meanwhile, without letting go of the sketch.
        while let Some(Request {
            channel,
            message,
            reply,
        }) = request.take().or_else(|| queue.try_recv().ok())
        {
            let ack = run_waiting(sketch, &channel, &message).await;
            // The peer may be gone already; the answer then has nowhere to go.
            let _ = reply.send(ack);
        }
    }
    let mut held = shared.lock().await;
    held.take().expect("the sketch is handed back once")
}

/// Logs a panic of the loop with the message that caused it; the answer that says so.
fn panicked(payload: &(dyn std::any::Any + Send), message: &Payload, channel: &str) -> Ack {
    let why = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    };
    tracing::error!("the loop panicked on {message:?} from {channel}: {why}");
    Ack::Panicked(why)
}
