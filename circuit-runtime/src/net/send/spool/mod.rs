//! A link's spool (`--spool DIR`): an append-only, checksummed file that
//! keeps what the link was given and its peer has not acknowledged, so that
//! a process that crashes resends it when it starts again on the same file.
//!
//! The file is a header (magic, version, the sketch's and the link's names,
//! the link's identity) and records: a length, a CRC-32 of what follows it,
//! a kind (a message with its number, or "acknowledged up to number"), the
//! number, and for a message its text. Messages are appended in groups and
//! synced once per group (one `fdatasync`); acknowledgements ride along with
//! the next group. A torn or corrupt tail is cut at the last whole record.
//!
//! The spool is also the link's overflow: its writer keeps taking messages
//! while what is unsettled on disk is under `--spool-max`, and queues them
//! for the delivering task as its queue has room, reading back from the
//! file those it did not keep in memory; only a full spool makes `send` wait.

mod compact;
mod format;
pub(crate) mod writer;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use self::format::{header, read_header, read_records, record, Stored, ACKED, FRAMING, MESSAGE};
use crate::base::durable::OnDisk;
use crate::net::send::identity::LinkId;

/// `fdatasync`s of messages by every spool of this process, for the benchmark.
static SYNCS: AtomicU64 = AtomicU64::new(0);

/// How many times the spools of this process synced messages to disk so far
/// (one per group commit), for the benchmark's syncs per second.
pub fn syncs() -> u64 {
    SYNCS.load(Ordering::Relaxed)
}

/// A link's spool file, shared by the link, its writer and its delivering task.
pub(crate) struct Spool {
    /// The file, for messages that name it.
    pub(crate) path: PathBuf,
    /// The link's identity, kept in the header.
    pub(crate) id: LinkId,
    /// How far the messages handed to its writer got to disk, which the
    /// acknowledgements of the sketch that holds the link wait for.
    pub(crate) on_disk: Arc<OnDisk>,
    /// The highest message number settled (acknowledged, refused or dead-lettered).
    acked: AtomicU64,
    /// Told when `acked` moves, for a writer waiting for the spool to have room.
    settle: Notify,
    /// The file and what it holds; taken by one writer at a time.
    log: Mutex<Log>,
}

/// The open file and what it holds.
struct Log {
    /// The file, locked against other processes.
    file: File,
    /// Its header, for a rewrite.
    header: Vec<u8>,
    /// Its length: where the next record goes.
    size: u64,
    /// The settled number last written.
    written_ack: u64,
    /// Messages stored and not settled, oldest first: where their records
    /// are, to read them back and for a rewrite (their text stays on disk).
    unsettled: VecDeque<Stored>,
    /// The bytes of their records, which `--spool-max` bounds.
    unsettled_bytes: u64,
    /// The number of the next message.
    next: u64,
}

/// What was left in a spool when it was opened.
pub(crate) struct Opened {
    /// The spool.
    pub(crate) spool: Arc<Spool>,
    /// How many messages were not settled; the writer queues them first.
    pub(crate) unsettled: u64,
}

impl Spool {
    /// Opens (or starts) the spool of link `link` of sketch `sketch` in
    /// `dir`: `DIR/SKETCH.LINK.spool`, locked for this process. A torn or
    /// corrupt tail is cut, with one warning saying how much.
    ///
    /// # Errors
    /// Naming the file: it cannot be created or read, another process holds
    /// it, or it was written for another sketch or link (nothing is deleted).
    pub(crate) fn open(dir: &Path, sketch: &str, link: &str) -> Result<Opened, String> {
        let path = dir.join(format!("{sketch}.{link}.spool"));
        let named = |why: String| format!("spool {}: {why}", path.display());
        std::fs::create_dir_all(dir)
            .map_err(|err| named(format!("cannot create its folder: {err}")))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| named(format!("cannot open it: {err}")))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(named("another process uses it (it is locked)".to_owned()))
            }
            Err(TryLockError::Error(err)) => return Err(named(format!("cannot lock it: {err}"))),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|err| named(format!("cannot read it: {err}")))?;
        if bytes.is_empty() {
            let id = LinkId::random();
            let header = header(sketch, link, id);
            file.write_all(&header)
                .and_then(|()| file.sync_data())
                .map_err(|err| named(format!("cannot write it: {err}")))?;
            sync_folder(dir);
            let log = Log {
                file,
                size: header.len() as u64,
                header,
                written_ack: 0,
                unsettled: VecDeque::new(),
                unsettled_bytes: 0,
                next: 1,
            };
            return Ok(Opened {
                spool: Arc::new(Spool::new(path, id, 0, log)),
                unsettled: 0,
            });
        }
        let (id, start) = read_header(&bytes, sketch, link).map_err(named)?;
        let header = bytes[..start].to_vec();
        let (records, end) = read_records(&bytes[start..]);
        let end = (start + end) as u64;
        let cut = bytes.len() as u64 - end;
        if cut > 0 {
            tracing::warn!(
                "spool {}: cut {cut} bytes of a torn or corrupt tail after its last whole record",
                path.display()
            );
            file.set_len(end)
                .map_err(|err| named(format!("cannot cut its tail: {err}")))?;
        }
        file.seek(SeekFrom::Start(end))
            .map_err(|err| named(format!("cannot seek in it: {err}")))?;
        drop(bytes);
        let acked = records
            .iter()
            .filter(|record| record.0 == ACKED)
            .map(|record| record.1.number)
            .max()
            .unwrap_or(0);
        let mut last = acked;
        let mut unsettled = VecDeque::new();
        let mut unsettled_bytes = 0;
        for (kind, stored) in records {
            last = last.max(stored.number);
            if kind == MESSAGE && stored.number > acked {
                unsettled_bytes += stored.len;
                unsettled.push_back(Stored {
                    at: stored.at + start as u64,
                    ..stored
                });
            }
        }
        let left = unsettled.len() as u64;
        let log = Log {
            file,
            header,
            size: end,
            written_ack: acked,
            unsettled,
            unsettled_bytes,
            next: last + 1,
        };
        Ok(Opened {
            spool: Arc::new(Spool::new(path, id, acked, log)),
            unsettled: left,
        })
    }

    /// A spool over `log`, settled up to `acked`.
    fn new(path: PathBuf, id: LinkId, acked: u64, log: Log) -> Self {
        Spool {
            path,
            id,
            on_disk: Arc::new(OnDisk::default()),
            acked: AtomicU64::new(acked),
            settle: Notify::new(),
            log: Mutex::new(log),
        }
    }

    /// Says that every message up to `number` is settled; written with the next group.
    pub(crate) fn settled(&self, number: u64) {
        if self.acked.fetch_max(number, Ordering::Relaxed) < number {
            // One waiter at most (the writer); a permit kept if it is not waiting yet.
            self.settle.notify_one();
        }
    }

    /// The bytes of the unsettled messages' records: what `--spool-max` bounds.
    pub(crate) fn unsettled_bytes(&self) -> u64 {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        prune(&mut log, self.acked.load(Ordering::Relaxed));
        log.unsettled_bytes
    }

    /// The numbers of the first and the last unsettled message, if any.
    fn unsettled_range(&self) -> Option<(u64, u64)> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        Some((log.unsettled.front()?.number, log.unsettled.back()?.number))
    }

    /// Reads back at most `most` unsettled messages numbered `from` to
    /// `upto`, oldest first. A blocking call.
    fn read(&self, from: u64, upto: u64, most: usize) -> std::io::Result<Vec<(u64, Utf8Bytes)>> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let first = log.unsettled.partition_point(|stored| stored.number < from);
        let wanted: Vec<Stored> = log
            .unsettled
            .range(first..)
            .take_while(|stored| stored.number <= upto)
            .take(most)
            .copied()
            .collect();
        let mut texts = Vec::with_capacity(wanted.len());
        let mut bytes = Vec::new();
        let read = wanted.iter().try_for_each(|stored| {
            bytes.resize(stored.len as usize, 0);
            log.file.seek(SeekFrom::Start(stored.at))?;
            log.file.read_exact(&mut bytes)?;
            let text = bytes
                .get(FRAMING + 9..)
                .and_then(|text| std::str::from_utf8(text).ok())
                .ok_or_else(|| std::io::Error::other("a stored record reads back damaged"))?;
            texts.push((stored.number, Utf8Bytes::from(text.to_owned())));
            Ok(())
        });
        // Appends go on at the end, whatever the read did.
        let size = log.size;
        log.file.seek(SeekFrom::Start(size))?;
        read.map(|()| texts)
    }

    /// Appends `texts` as messages (with the settled number, if it moved)
    /// and syncs them: their numbers. A blocking call: see [`writer::store`].
    fn append(&self, texts: &[Utf8Bytes]) -> std::io::Result<Vec<u64>> {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let acked = self.acked.load(Ordering::Relaxed);
        let mut buffer = Vec::new();
        if acked > log.written_ack {
            record(&mut buffer, ACKED, acked, b"");
        }
        let first = log.next;
        let mut stored = Vec::with_capacity(texts.len());
        for (at, text) in texts.iter().enumerate() {
            let start = buffer.len() as u64;
            let number = first + at as u64;
            record(&mut buffer, MESSAGE, number, text.as_bytes());
            stored.push(Stored {
                number,
                at: log.size + start,
                len: buffer.len() as u64 - start,
            });
        }
        let written = log.file.write_all(&buffer);
        if let Err(err) = written.and_then(|()| {
            if texts.is_empty() {
                Ok(())
            } else {
                SYNCS.fetch_add(1, Ordering::Relaxed);
                log.file.sync_data()
            }
        }) {
            // What was written in part goes: the next attempt writes it whole.
            let size = log.size;
            let _ = log.file.set_len(size);
            let _ = log.file.seek(SeekFrom::Start(size));
            return Err(err);
        }
        log.size += buffer.len() as u64;
        log.written_ack = log.written_ack.max(acked);
        log.next += texts.len() as u64;
        prune(&mut log, acked);
        let numbers: Vec<u64> = (first..log.next).collect();
        for stored in stored {
            log.unsettled_bytes += stored.len;
            log.unsettled.push_back(stored);
        }
        self.compact(&mut log);
        Ok(numbers)
    }

    /// Writes what is settled so far and syncs it, compacting a large file:
    /// at the end of a run, once the link is flushed. A blocking call.
    fn checkpoint(&self) -> std::io::Result<()> {
        self.append(&[])?;
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.file.sync_data()
    }
}

/// Forgets the unsettled messages up to `acked`.
fn prune(log: &mut Log, acked: u64) {
    while let Some(stored) = log.unsettled.front().copied() {
        if stored.number > acked {
            break;
        }
        log.unsettled_bytes -= stored.len;
        log.unsettled.pop_front();
    }
}

/// Syncs a folder, so that a file created or renamed in it survives a crash.
fn sync_folder(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary one.
    pub(super) fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("circuit-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// What the spool holds unsettled, read back from its file.
    pub(super) fn left(opened: &Opened) -> Vec<(u64, String)> {
        let texts = opened.spool.read(0, u64::MAX, usize::MAX).unwrap();
        assert_eq!(texts.len() as u64, opened.unsettled);
        texts
            .into_iter()
            .map(|(number, text)| (number, text.as_str().to_owned()))
            .collect()
    }

    pub(super) fn texts(texts: &[&str]) -> Vec<Utf8Bytes> {
        texts.iter().map(|text| Utf8Bytes::from(*text)).collect()
    }

    #[test]
    fn what_is_not_settled_is_there_again_after_a_reopen_with_the_same_identity() {
        let dir = folder("reopen");
        let first = Spool::open(&dir, "relay", "out").unwrap();
        assert_eq!(first.unsettled, 0);
        assert_eq!(
            first.spool.append(&texts(&["a", "b", "c"])).unwrap(),
            [1, 2, 3]
        );
        first.spool.settled(1);
        assert_eq!(first.spool.append(&texts(&["d"])).unwrap(), [4]);
        let id = first.spool.id;
        // Locked while open: a second opener is refused, naming the file.
        let refused = Spool::open(&dir, "relay", "out").err().unwrap();
        assert!(
            refused.contains("relay.out.spool") && refused.contains("locked"),
            "{refused}"
        );
        drop(first);
        let again = Spool::open(&dir, "relay", "out").unwrap();
        assert_eq!(again.spool.id, id);
        let held = left(&again);
        let held: Vec<(u64, &str)> = held.iter().map(|(n, text)| (*n, text.as_str())).collect();
        assert_eq!(held, [(2, "b"), (3, "c"), (4, "d")]);
        assert_eq!(
            again.spool.append(&texts(&["e"])).unwrap(),
            [5],
            "numbers go on"
        );
        drop(again);
        let other = Spool::open(&dir, "relay", "elsewhere");
        assert!(other.is_ok(), "another link has a file of its own");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
