//! What a server's acknowledgement waits for when its sketch's links keep a
//! spool (`--spool`): every message its loop handed them being on disk.
//!
//! A spooled `send` returns once its message is handed to the spool's
//! writer, so that the sends of one loop run share one `fdatasync`; the
//! acknowledgement upstream, the promise that the message is handled, is
//! held instead until the spool has synced everything handed to it so far.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// How far a spooled link's messages got: handed to its spool, and synced.
#[derive(Debug, Default)]
pub struct OnDisk {
    /// Messages handed to the spool's writer so far.
    handed: AtomicU64,
    /// Of them, those written and synced, in the order they were handed.
    synced: AtomicU64,
    /// Told each time `synced` moves.
    moved: Notify,
}

impl OnDisk {
    /// One more message is handed to the writer. Counted before it is
    /// queued to the writer, with nothing that can fail in between: whoever
    /// reads `handed` after its own message was queued then counts every
    /// message queued before it too.
    pub(crate) fn handed(&self) {
        self.handed.fetch_add(1, Ordering::SeqCst);
    }

    /// `count` more messages, the oldest handed, are on disk.
    pub(crate) fn synced(&self, count: u64) {
        self.synced.fetch_add(count, Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    /// Returns once `mark` messages are on disk.
    async fn reached(&self, mark: u64) {
        loop {
            // Registered before the count is read, so no move is missed.
            let mut moved = pin!(self.moved.notified());
            moved.as_mut().enable();
            if self.synced.load(Ordering::SeqCst) >= mark {
                return;
            }
            moved.await;
        }
    }
}

/// The spools of a sketch's links, which its acknowledgements wait for.
#[derive(Debug)]
pub(crate) struct Barrier {
    /// One per spooled link; never empty (a sketch without one has no barrier).
    spools: Vec<Arc<OnDisk>>,
}

impl Barrier {
    /// The barrier of a sketch whose spooled links are `spools` (their
    /// `Outbound::on_disk`): `None` when there is none, so that such a
    /// sketch's acknowledgements wait for nothing.
    pub(crate) fn of(spools: impl IntoIterator<Item = Arc<OnDisk>>) -> Option<Arc<Barrier>> {
        let spools: Vec<Arc<OnDisk>> = spools.into_iter().collect();
        (!spools.is_empty()).then(|| Arc::new(Barrier { spools }))
    }

    /// Returns once every message handed to the spools before the call is
    /// on disk: acknowledging after it means the loop's sends are stored.
    pub(crate) fn passed(&self) -> impl Future<Output = ()> + Send + '_ {
        let marks: Vec<u64> = self
            .spools
            .iter()
            .map(|spool| spool.handed.load(Ordering::SeqCst))
            .collect();
        async move {
            for (spool, mark) in self.spools.iter().zip(marks) {
                spool.reached(mark).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn the_barrier_waits_for_what_was_handed_before_it_not_after() {
        let on_disk = Arc::new(OnDisk::default());
        let barrier = Barrier {
            spools: vec![Arc::clone(&on_disk)],
        };
        barrier.passed().await; // nothing handed: passes at once
        on_disk.handed();
        on_disk.handed();
        let mut passed = Box::pin(barrier.passed());
        on_disk.handed(); // after the barrier: not waited for
        assert!(passed.as_mut().now_or_never().is_none());
        on_disk.synced(1);
        assert!(passed.as_mut().now_or_never().is_none());
        on_disk.synced(1);
        assert!(passed.as_mut().now_or_never().is_some());
    }
}
