//! What a server remembers of the links it served: per link identity, the
//! number of the last message its loop processed and the acknowledgements of
//! the last ones, so that a message a link resends (its acknowledgement was
//! lost with a connection, or its sender crashed and resends from its spool)
//! is answered as the first time, without running the loop again.
//!
//! The memory is bounded: [`KEPT`] acknowledgements per link (a link's
//! largest window: a sender never resends more than it left unacknowledged),
//! [`LINKS`] links (the least recently seen forgotten first) and [`BYTES`]
//! of acknowledgements over all of them.
//!
//! With `--spool DIR` it survives the server's restart: each answer kept is
//! also recorded in a [`Journal`], and [`Processed::sync`] makes the records
//! durable (one sync for all that wait) before their acknowledgements go out.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::base::message::Payload;
use crate::base::options::LinkOptions;
use crate::net::send::identity::LinkId;
use crate::net::serve::journal::{self, Journal};

/// Acknowledgements kept per link: a link's default window, the most it
/// leaves unacknowledged, hence the most it resends.
pub(crate) const KEPT: usize = LinkOptions::WINDOW;

/// Links remembered at once; beyond, the least recently seen is forgotten.
pub(crate) const LINKS: usize = 1024;

/// Bytes of acknowledgements kept over all links (each counted with
/// [`OVERHEAD`] more); beyond, the least recently seen links are forgotten,
/// then the oldest acknowledgements of the link that needs the room.
pub(crate) const BYTES: usize = 16 * 1024 * 1024;

/// What keeping one acknowledgement costs besides its bytes, for [`BYTES`].
const OVERHEAD: usize = 64;

/// What to do with message number `n` of a link.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// It is new: run the loop, then [`Processed::done`] (or
    /// [`Processed::undone`] when the loop gave no answer).
    New,
    /// It was processed: answer this, as the first time.
    Answered(Payload),
    /// It was processed long ago: its answer is forgotten (older than the
    /// last [`KEPT`]); it is not run again.
    Forgotten,
    /// Another connection of the link is running the loop on it now: wait
    /// for [`Processed::changed`] and ask again.
    Running,
}

/// The memory of one link.
struct Link {
    /// The number of the last message taken for processing (0: none).
    last: u64,
    /// The answers to messages `last - answers.len() + 1 ..= last`, oldest
    /// first; `None` while the loop runs on one.
    answers: VecDeque<Option<Payload>>,
    /// When it was last seen, in [`Links::clock`] ticks.
    seen: u64,
}

/// Every link remembered.
#[derive(Default)]
struct Links {
    /// By identity.
    links: HashMap<LinkId, Link>,
    /// Counts every look-up: a link's `seen` orders links by recency.
    clock: u64,
    /// Bytes of answers kept, with their [`OVERHEAD`].
    bytes: usize,
}

/// A server's memory of the messages its links' loops processed.
#[derive(Default)]
pub(crate) struct Processed {
    /// The links, under a lock held for a look-up or an update.
    links: Mutex<Links>,
    /// Woken whenever an answer is recorded or given up, for a connection
    /// waiting on a message another connection is running.
    changed: Notify,
    /// With `--spool`, where the answers are kept on disk.
    durable: Option<Arc<Durable>>,
}

/// The on-disk side of a server's memory.
struct Durable {
    /// The file, used by one sync at a time.
    journal: Mutex<Journal>,
    /// Records made since the last sync, and how many were made in all.
    pending: Mutex<(Vec<u8>, u64)>,
    /// Taken by the sync under way: the others wait, then find theirs done.
    turn: tokio::sync::Mutex<()>,
    /// How many records are durable.
    synced: AtomicU64,
    /// Whether a failed write was said (said once).
    failed: AtomicBool,
}

/// What keeping `answer` costs.
fn cost(answer: &Payload) -> usize {
    answer.as_bytes().len() + OVERHEAD
}

impl Processed {
    /// A memory kept in `DIR/SKETCH.processed` too, with what that file
    /// remembers from earlier runs.
    ///
    /// # Errors
    /// Naming the file: see [`Journal::open`].
    pub(crate) fn durable(dir: &Path, sketch: &str) -> Result<Processed, String> {
        let (journal, entries) = Journal::open(dir, sketch)?;
        let mut processed = Processed::default();
        for (link, number, answer) in &entries {
            if processed.seen(*link, *number) == Seen::New {
                processed.done(*link, *number, answer);
            }
        }
        if !entries.is_empty() {
            tracing::info!(
                "memory {}: {} answers of {} links remembered from earlier runs",
                journal.path().display(),
                entries.len(),
                processed
                    .links
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .links
                    .len()
            );
        }
        processed.durable = Some(Arc::new(Durable {
            journal: Mutex::new(journal),
            pending: Mutex::new((Vec::new(), 0)),
            turn: tokio::sync::Mutex::new(()),
            synced: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        }));
        Ok(processed)
    }

    /// Whether answers are kept on disk, to be synced before they are sent.
    pub(crate) fn is_durable(&self) -> bool {
        self.durable.is_some()
    }

    /// Makes every answer recorded so far durable: one sync for all of
    /// them, shared with the connections that ask meanwhile; rewrites the
    /// file with only what is kept when it grew large. `false` when it
    /// cannot be written (said once): the answers must not be sent.
    pub(crate) async fn sync(&self) -> bool {
        let Some(durable) = &self.durable else {
            return true;
        };
        let wanted = durable
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .1;
        let _turn = durable.turn.lock().await;
        if durable.synced.load(Ordering::Acquire) >= wanted {
            return true;
        }
        let large = durable
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .large();
        // Under the memory's lock, so that the snapshot holds every record taken.
        let (records, upto, snapshot) = {
            let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
            let mut pending = durable
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let snapshot = large.then(|| links.records());
            (std::mem::take(&mut pending.0), pending.1, snapshot)
        };
        let writer = Arc::clone(durable);
        let written = tokio::task::spawn_blocking(move || {
            let mut journal = writer
                .journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match snapshot {
                Some(all) => journal.rewrite(&all),
                None => journal.append(&records),
            }
            .map_err(|err| {
                format!(
                    "memory {}: cannot write it: {err}",
                    journal.path().display()
                )
            })
        })
        .await
        .unwrap_or_else(|err| Err(err.to_string()));
        match written {
            Ok(()) => {
                durable.synced.store(upto, Ordering::Release);
                true
            }
            Err(why) => {
                if !durable.failed.swap(true, Ordering::Relaxed) {
                    tracing::error!("{why}: acknowledgements wait, their senders resend");
                }
                false
            }
        }
    }

    /// What to do with message `number` of `link`; a new one is taken for
    /// processing (marked running), so that no other connection runs it too.
    pub(crate) fn seen(&self, link: LinkId, number: u64) -> Seen {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        links.clock += 1;
        let clock = links.clock;
        if !links.links.contains_key(&link) && links.links.len() >= LINKS {
            links.forget_oldest(None);
        }
        let Links {
            links: all, bytes, ..
        } = &mut *links;
        let memory = all.entry(link).or_insert(Link {
            last: 0,
            answers: VecDeque::new(),
            seen: clock,
        });
        memory.seen = clock;
        if number > memory.last {
            if number != memory.last + 1 {
                // Messages between were never seen here (they went to a
                // server before a restart, or were given up on): the
                // answers kept no longer end at the one before.
                *bytes -= memory
                    .answers
                    .drain(..)
                    .flatten()
                    .map(|a| cost(&a))
                    .sum::<usize>();
            }
            memory.last = number;
            memory.answers.push_back(None);
            return Seen::New;
        }
        let back = (memory.last - number) as usize;
        if back >= memory.answers.len() {
            return Seen::Forgotten;
        }
        let at = memory.answers.len() - 1 - back;
        match &memory.answers[at] {
            Some(answer) => Seen::Answered(answer.clone()),
            None => Seen::Running,
        }
    }

    /// The loop answered message `number` of `link` with `answer`: kept, to
    /// answer it again, within the bounds.
    pub(crate) fn done(&self, link: LinkId, number: u64, answer: &Payload) {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let added = cost(answer);
        let recorded = links.links.get_mut(&link).and_then(|memory| {
            let back = memory.last.checked_sub(number)? as usize;
            let at = memory.answers.len().checked_sub(back + 1)?;
            memory.answers[at] = Some(answer.clone());
            Some(())
        });
        if recorded.is_some() {
            links.bytes += added;
            links.bound(link);
            if let Some(durable) = &self.durable {
                let mut pending = durable
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                journal::record(&mut pending.0, link, number, answer);
                pending.1 += 1;
            }
        }
        drop(links);
        self.changed.notify_waiters();
    }

    /// The loop gave no answer to message `number` of `link` (it panicked,
    /// or the server is stopping): it is not processed, and a resend runs it.
    pub(crate) fn undone(&self, link: LinkId, number: u64) {
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(memory) = links.links.get_mut(&link) {
            if memory.last == number && memory.answers.back().is_some_and(Option::is_none) {
                memory.answers.pop_back();
                memory.last -= 1;
            }
        }
        drop(links);
        self.changed.notify_waiters();
    }

    /// Woken when an answer is recorded or given up: made before asking
    /// [`Processed::seen`], so that no change between is missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// How many links are remembered and the bytes their answers take.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        (links.links.len(), links.bytes)
    }
}

impl Links {
    /// The records of every answer kept, for a rewritten journal.
    fn records(&self) -> Vec<u8> {
        let mut records = Vec::new();
        for (link, memory) in &self.links {
            let first = memory.last + 1 - memory.answers.len() as u64;
            for (at, answer) in memory.answers.iter().enumerate() {
                if let Some(answer) = answer {
                    journal::record(&mut records, *link, first + at as u64, answer);
                }
            }
        }
        records
    }

    /// Forgets the least recently seen link but `keep`; whether there was one.
    fn forget_oldest(&mut self, keep: Option<LinkId>) -> bool {
        let oldest = self
            .links
            .iter()
            .filter(|(id, _)| Some(**id) != keep)
            .min_by_key(|(_, memory)| memory.seen)
            .map(|(id, _)| *id);
        let Some(memory) = oldest.and_then(|id| self.links.remove(&id)) else {
            return false;
        };
        self.bytes -= memory.answers.iter().flatten().map(cost).sum::<usize>();
        true
    }

    /// Keeps `link` within [`KEPT`] answers, and everything within
    /// [`BYTES`]: other links go first, then `link`'s oldest answers.
    fn bound(&mut self, link: LinkId) {
        while self.bytes > BYTES && self.forget_oldest(Some(link)) {}
        let Some(memory) = self.links.get_mut(&link) else {
            return;
        };
        while memory.answers.len() > KEPT || (self.bytes > BYTES && memory.answers.len() > 1) {
            // The oldest is answered: only the newest ones may be running.
            match memory.answers.pop_front() {
                Some(Some(answer)) => self.bytes -= cost(&answer),
                Some(None) | None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resent_message_is_answered_as_the_first_time_and_a_new_one_is_run() {
        let memory = Processed::default();
        let link = LinkId::random();
        assert_eq!(memory.seen(link, 1), Seen::New);
        memory.done(link, 1, &Payload::fixed("one"));
        assert_eq!(memory.seen(link, 2), Seen::New);
        // Another connection of the link resends 2 while it runs.
        assert_eq!(memory.seen(link, 2), Seen::Running);
        memory.done(link, 2, &Payload::fixed("two"));
        assert_eq!(memory.seen(link, 1), Seen::Answered(Payload::fixed("one")));
        assert_eq!(memory.seen(link, 2), Seen::Answered(Payload::fixed("two")));
        // A loop that gave no answer: its message runs again when resent.
        assert_eq!(memory.seen(link, 3), Seen::New);
        memory.undone(link, 3);
        assert_eq!(memory.seen(link, 3), Seen::New);
        // Another link is another stream.
        assert_eq!(memory.seen(LinkId::random(), 1), Seen::New);
        // A gap (messages sent elsewhere): what came before is forgotten.
        assert_eq!(memory.seen(link, 10), Seen::New);
        assert_eq!(memory.seen(link, 2), Seen::Forgotten);
    }

    #[test]
    fn the_memory_keeps_a_window_of_answers_per_link_and_a_bounded_number_of_links() {
        let memory = Processed::default();
        let link = LinkId::random();
        let answer = Payload::fixed("ok");
        let total = KEPT as u64 + 10;
        for number in 1..=total {
            assert_eq!(memory.seen(link, number), Seen::New);
            memory.done(link, number, &answer);
        }
        assert_eq!(memory.seen(link, 10), Seen::Forgotten);
        assert_eq!(memory.seen(link, 11), Seen::Answered(answer.clone()));
        assert_eq!(memory.seen(link, total), Seen::Answered(answer.clone()));
        assert_eq!(memory.size(), (1, KEPT * cost(&answer)));

        for _ in 0..LINKS + 5 {
            let other = LinkId::random();
            assert_eq!(memory.seen(other, 1), Seen::New);
            memory.done(other, 1, &answer);
        }
        let (links, bytes) = memory.size();
        assert_eq!(links, LINKS);
        // The first link, seen least lately, was forgotten with its answers.
        assert_eq!(bytes, LINKS * cost(&answer));
        assert_eq!(memory.seen(link, total), Seen::New);
    }

    #[test]
    fn large_answers_are_kept_within_the_bytes_bound() {
        let memory = Processed::default();
        let big = Payload::text("x".repeat(1024 * 1024));
        let (first, second) = (LinkId::random(), LinkId::random());
        assert_eq!(memory.seen(first, 1), Seen::New);
        memory.done(first, 1, &big);
        for number in 1..=20 {
            assert_eq!(memory.seen(second, number), Seen::New);
            memory.done(second, number, &big);
        }
        let (links, bytes) = memory.size();
        assert!(bytes <= BYTES, "{bytes}");
        // The other link went first; then the oldest answers of this one.
        assert_eq!(links, 1);
        assert_eq!(memory.seen(second, 20), Seen::Answered(big));
        assert_eq!(memory.seen(second, 1), Seen::Forgotten);
    }
}
