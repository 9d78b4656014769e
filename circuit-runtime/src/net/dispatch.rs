//! How a peer's message reaches the sketch's loop, one message at a time.
//!
//! A loop that never waits (not `async fn`) is run at once by the peer's own
//! task, under a lock held only for the call: no hop to another task and back
//! per message. A loop that may wait is run by the one task that owns the
//! sketch; peers queue their messages to it, so that no lock is ever held
//! across an await.

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
use crate::observe::log;

/// Messages waiting for a sketch whose loop may wait; beyond this, peers wait before sending more.
const QUEUE: usize = 256;

/// Runs the loop on one message at once: `None` once the sketch has been handed back.
type RunNow = dyn Fn(&str, &Payload) -> Option<Ack> + Send + Sync;

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
#[derive(Clone)]
pub(crate) enum Dispatch {
    /// The loop never waits: the peer's task runs it.
    Now {
        /// Locks the sketch, runs the loop, unlocks.
        run: Arc<RunNow>,
        /// Never sent on: its closing tells the owner that every peer is gone.
        _alive: mpsc::Sender<Request>,
    },
    /// The loop may wait: the owning task runs it, in arrival order.
    Queued(mpsc::Sender<Request>),
}

/// What a peer keeps between messages: its reply channel, made on first use
/// and only for a queued sketch, so that no message pays for a channel.
#[derive(Default)]
pub(crate) struct Replies(Option<(mpsc::UnboundedSender<Ack>, mpsc::UnboundedReceiver<Ack>)>);

impl Dispatch {
    /// Starts serving `sketch`: the way in for its peers, and the task that
    /// hands the sketch back once every peer (every clone) is gone.
    pub fn start<S: Reactive>(sketch: S) -> (Dispatch, JoinHandle<S>) {
        let (alive, queue) = mpsc::channel(QUEUE);
        if S::LOOP.waits {
            // Unconstrained by tokio's cooperative budget: once scheduled, the sketch
            // answers everything queued before yielding, instead of going to the back
            // of a run queue that may hold thousands of connection tasks.
            let owner = log::spawn(tokio::task::unconstrained(own(sketch, queue)));
            return (Dispatch::Queued(alive), owner);
        }
        let shared = Arc::new(Mutex::new(Some(sketch)));
        let run = {
            let shared = Arc::clone(&shared);
            Arc::new(move |channel: &str, message: &Payload| {
                let mut sketch = shared.lock().unwrap_or_else(PoisonError::into_inner);
                Some(run_now(sketch.as_mut()?, channel, message))
            })
        };
        let owner = log::spawn(async move {
            let mut queue = queue;
            // Nothing is ever sent: `None` means every peer has let go.
            while queue.recv().await.is_some() {}
            let mut sketch = shared.lock().unwrap_or_else(PoisonError::into_inner);
            sketch.take().expect("the sketch is handed back once")
        });
        (Dispatch::Now { run, _alive: alive }, owner)
    }

    /// The loop's answer to `message` received on `channel`, or `None` when
    /// the server is shutting down and the loop can no longer be reached.
    pub async fn ask(
        &self,
        channel: &Arc<str>,
        message: Payload,
        replies: &mut Replies,
    ) -> Option<Ack> {
        match self {
            Dispatch::Now { run, .. } => run(channel, &message),
            Dispatch::Queued(requests) => {
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

/// Owns a sketch whose loop may wait: runs it on each message, in order, until every peer is gone.
async fn own<S: Reactive>(mut sketch: S, mut queue: mpsc::Receiver<Request>) -> S {
    while let Some(request) = queue.recv().await {
        let (channel, message) = (&request.channel, &request.message);
        let ack = AssertUnwindSafe(sketch.react(channel, message))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| panicked(panic.as_ref(), message, channel));
        // The peer may be gone already; the answer then has nowhere to go.
        let _ = request.reply.send(ack);
    }
    sketch
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
