//! The signal that tells every task of a sketch to stop (fired by Ctrl-C,
//! SIGTERM, or the program itself).

use std::sync::Arc;

use tokio::sync::watch;

/// A stop signal shared by every task of a sketch; clones observe the same signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    /// Shared so that any clone can trigger the signal.
    trigger: Arc<watch::Sender<bool>>,
    /// This clone's view of the signal.
    seen: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal that has not fired yet.
    pub fn new() -> Self {
        let (trigger, seen) = watch::channel(false);
        Shutdown {
            trigger: Arc::new(trigger),
            seen,
        }
    }

    /// Fires the signal for every clone; firing twice is harmless.
    pub fn trigger(&self) {
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
}
