//! A spool's writer: it stores what the link is given in groups, one sync
//! each, and feeds the delivering task's queue in order as it has room,
//! reading back from the file what it did not keep in memory; `--spool-max`
//! bounds what it takes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::Spool;
use crate::net::send::queue::{Answer, Command};

/// Messages read back from the file at a time, to feed the queue.
const READ_BACK: usize = 256;
/// Messages stored by one group commit, at most.
const GROUP: usize = 4096;

/// What a link hands its spool's writer, in order.
pub(crate) enum Item {
    /// A message to store, then queue; counted in `on_disk` once stored.
    Send(Utf8Bytes, Answer),
    /// A flush or a close, queued after what came before it.
    Other(Command),
}

/// Stores `texts`, trying again (waiting longer each time, up to 5 s) while
/// the disk refuses, with one error line then one when it is writable again:
/// the link waits rather than take what it could not store. Their numbers.
async fn store(spool: &Arc<Spool>, texts: Vec<Utf8Bytes>) -> Vec<u64> {
    let mut failing = false;
    let mut wait = Duration::from_millis(100);
    loop {
        let writer = Arc::clone(spool);
        let texts = texts.clone(); // shares the texts' bytes
                                   // On a thread that may block, which a simulated clock waits for.
        let stored = tokio::task::spawn_blocking(move || writer.append(&texts)).await;
        let err = match stored {
            Ok(Ok(numbers)) => {
                if failing {
                    tracing::info!("spool {} is written again", spool.path.display());
                }
                return numbers;
            }
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        if !failing {
            tracing::error!(
                "cannot write the spool {}: {err}; the link waits, sending nothing it did not store",
                spool.path.display()
            );
            failing = true;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// Writes what is settled and syncs, from a task: the end of a link's run.
pub(crate) async fn checkpoint(spool: &Arc<Spool>) {
    let writer = Arc::clone(spool);
    let done = tokio::task::spawn_blocking(move || writer.checkpoint()).await;
    if let Ok(Err(err)) = done {
        tracing::warn!("spool {}: {err}", spool.path.display());
    }
}

/// What the writer stored and has yet to queue for the delivering task, in order.
enum Fed {
    /// A message kept in memory, with its answer and number.
    Memory(Utf8Bytes, Answer, u64),
    /// Messages numbered from the first to the last, to read back from the file.
    Disk(u64, u64),
    /// A flush or a close.
    Other(Command),
}

/// The writer's backlog: at most `keep` messages in memory, the rest on disk.
struct Backlog {
    /// What is to be queued, oldest first.
    fed: VecDeque<Fed>,
    /// How many of them are messages kept in memory.
    in_memory: usize,
    /// Messages it keeps in memory at most (those read back aside).
    keep: usize,
}

impl Backlog {
    /// Adds a stored message: in memory while there is room (or if someone
    /// waits for its answer), else as a number to read back.
    fn push(&mut self, text: Utf8Bytes, answer: Answer, number: u64) {
        if answer.is_some() || self.in_memory < self.keep {
            self.in_memory += 1;
            self.fed.push_back(Fed::Memory(text, answer, number));
        } else if let Some(Fed::Disk(_, last)) = self.fed.back_mut() {
            if *last + 1 == number {
                *last = number;
            } else {
                self.fed.push_back(Fed::Disk(number, number));
            }
        } else {
            self.fed.push_back(Fed::Disk(number, number));
        }
    }

    /// The next command for the queue, reading a piece of the file back if
    /// that is what comes next; `None` if it cannot be read (said, then
    /// tried again after a pause).
    async fn next(&mut self, spool: &Arc<Spool>) -> Option<Command> {
        if let Some(&Fed::Disk(first, last)) = self.fed.front() {
            let reader = Arc::clone(spool);
            let read =
                tokio::task::spawn_blocking(move || reader.read(first, last, READ_BACK)).await;
            let texts = match read {
                Ok(Ok(texts)) => texts,
                Ok(Err(err)) => return self.unreadable(spool, &err.to_string()).await,
                Err(err) => return self.unreadable(spool, &err.to_string()).await,
            };
            self.fed.pop_front();
            let upto = texts.last().map_or(last, |(number, _)| *number);
            if upto < last {
                self.fed.push_front(Fed::Disk(upto + 1, last));
            }
            for (number, text) in texts.into_iter().rev() {
                self.in_memory += 1;
                self.fed.push_front(Fed::Memory(text, None, number));
            }
        }
        match self.fed.pop_front()? {
            Fed::Memory(text, answer, number) => {
                self.in_memory -= 1;
                Some(Command::Send(text, answer, number))
            }
            Fed::Other(command) => Some(command),
            Fed::Disk(..) => None,
        }
    }

    /// Says that the spool cannot be read back, and waits before a retry.
    async fn unreadable(&self, spool: &Spool, err: &str) -> Option<Command> {
        tracing::error!(
            "cannot read back the spool {}: {err}; trying again in a second",
            spool.path.display()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        None
    }
}

/// The writer of a link's spool: first queues what the spool held from an
/// earlier run, then takes what the link is given in groups, stores each
/// group with one sync, says so (`on_disk`, which acknowledgements upstream
/// wait for), and queues its messages for the delivering task, in order, as
/// its queue has room. It keeps `keep` of them in memory and reads the
/// others back from the file; it takes no more while the unsettled ones
/// hold `max` bytes or more, so that `send` waits (backpressure).
pub(crate) async fn write(
    spool: Arc<Spool>,
    mut items: mpsc::Receiver<Item>,
    queue: mpsc::Sender<Command>,
    keep: usize,
    max: u64,
) {
    let mut backlog = Backlog {
        fed: VecDeque::new(),
        in_memory: 0,
        keep: keep.max(1),
    };
    if let Some((first, last)) = spool.unsettled_range() {
        backlog.fed.push_back(Fed::Disk(first, last));
    }
    let mut open = true;
    let mut group = Vec::new();
    loop {
        let room = open && spool.unsettled_bytes() < max;
        tokio::select! {
            biased;
            permit = queue.reserve(), if !backlog.fed.is_empty() => {
                let Ok(permit) = permit else { return };
                if let Some(command) = backlog.next(&spool).await {
                    permit.send(command);
                }
                // What is in memory goes on while the queue has room.
                while matches!(backlog.fed.front(), Some(Fed::Memory(..) | Fed::Other(_))) {
                    let Ok(permit) = queue.try_reserve() else { break };
                    if let Some(command) = backlog.next(&spool).await {
                        permit.send(command);
                    }
                }
            }
            item = items.recv(), if room => {
                let Some(first) = item else {
                    open = false;
                    continue;
                };
                group.push(first);
                while group.len() < GROUP {
                    match items.try_recv() {
                        Ok(item) => group.push(item),
                        Err(_) => break,
                    }
                }
                store_group(&spool, &mut group, &mut backlog).await;
            }
            () = spool.settle.notified(), if open && !room => {}
            else => return,
        }
    }
}

/// Stores the messages of `group` with one sync, says they are on disk, and
/// adds the group to the backlog, in order.
async fn store_group(spool: &Arc<Spool>, group: &mut Vec<Item>, backlog: &mut Backlog) {
    let texts: Vec<Utf8Bytes> = group
        .iter()
        .filter_map(|item| match item {
            Item::Send(text, ..) => Some(text.clone()),
            Item::Other(_) => None,
        })
        .collect();
    let stored = texts.len() as u64;
    let mut numbers = if texts.is_empty() {
        Vec::new()
    } else {
        store(spool, texts).await
    }
    .into_iter();
    spool.on_disk.synced(stored);
    for item in group.drain(..) {
        match item {
            Item::Send(text, answer) => {
                let number = numbers.next().unwrap_or(0);
                backlog.push(text, answer, number);
            }
            Item::Other(command) => backlog.fed.push_back(Fed::Other(command)),
        }
    }
}
