//! The signal that tells every task of a sketch to stop (fired by Ctrl-C,
//! SIGTERM, or the program itself).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tokio::sync::watch;

/// A stop signal shared by every task of a sketch; clones observe the same signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    /// Shared so that any clone can trigger the signal.
    trigger: Arc<watch::Sender<bool>>,
    /// This clone's view of the signal.
    seen: watch::Receiver<bool>,
    /// Set before the signal is sent, for [`Stopping`] to look at without a lock.
    fired: Arc<AtomicBool>,
}

impl Shutdown {
    /// A signal that has not fired yet.
    pub fn new() -> Self {
        let (trigger, seen) = watch::channel(false);
        Shutdown {
            trigger: Arc::new(trigger),
            seen,
            fired: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Fires the signal for every clone; firing twice is harmless.
    pub fn trigger(&self) {
        self.fired.store(true, Ordering::Release);
        self.trigger.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *self.seen.borrow()
    }

    /// Waits until the signal fires. Cancel-safe, so it can sit in a `select!`.
    pub async fn wait(&mut self) {
        // The sender lives in `self`, so the channel cannot close under us.
        let _ = self.seen.wait_for(|fired| *fired).await;
    }

    /// A wait to keep and poll often (a connection polls it between any two
    /// frames): it looks at a flag, not at the signal's lock, once it waits.
    /// Ready as soon as the signal has fired, and from then on.
    pub fn stopping(&self) -> Stopping {
        let mut seen = self.seen.clone();
        Stopping {
            fired: Arc::clone(&self.fired),
            wait: Box::pin(async move {
                let _ = seen.wait_for(|fired| *fired).await;
            }),
            waiting: None,
        }
    }
}

/// A kept wait for the signal: see [`Shutdown::stopping`].
pub struct Stopping {
    /// Whether the signal fired.
    fired: Arc<AtomicBool>,
    /// The wait on the signal itself, which wakes us.
    wait: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The waker the wait was last polled with.
    waiting: Option<Waker>,
}

impl Future for Stopping {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        // Registered already with a waker that wakes the same task: the
        // signal wakes it, after setting the flag.
        if self
            .waiting
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let polled = self.wait.as_mut().poll(cx);
        if polled.is_pending() {
            self.waiting = Some(cx.waker().clone());
        }
        polled
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_clone_sees_the_signal() {
        let shutdown = Shutdown::new();
        let mut waiter = shutdown.clone();
        assert!(!waiter.is_triggered());
        let task = tokio::spawn(async move { waiter.wait().await });
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the waiter wakes up")
            .unwrap();
        assert!(shutdown.is_triggered());
    }

    #[tokio::test]
    async fn a_kept_wait_wakes_when_the_signal_fires_and_stays_ready() {
        let shutdown = Shutdown::new();
        let mut stopping = shutdown.stopping();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut stopping).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut stopping).poll(&mut cx).is_pending());
        let task = tokio::spawn(async move {
            stopping.await;
        });
        tokio::task::yield_now().await;
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the kept wait wakes up")
            .unwrap();
        let mut late = shutdown.stopping();
        assert!(Pin::new(&mut late).poll(&mut cx).is_ready());
    }
}
