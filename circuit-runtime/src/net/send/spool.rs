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

use std::collections::VecDeque;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::base::durable::OnDisk;
use crate::net::send::identity::LinkId;
use crate::net::send::queue::{Answer, Command};

/// Messages read back from the file at a time, to feed the queue.
const READ_BACK: usize = 256;

/// What a spool file starts with.
const MAGIC: &[u8; 8] = b"CIRCSPL\n";
/// The layout of the file, after the magic.
const VERSION: u32 = 1;
/// A record that holds a message: its number, then its text.
const MESSAGE: u8 = 1;
/// A record that says every message up to its number is settled.
const ACKED: u8 = 2;
/// Bytes of a record before its kind: its length and its checksum.
const FRAMING: usize = 8;
/// A file larger than this is rewritten with only what is unsettled.
const COMPACT_AT: u64 = 16 * 1024 * 1024;
/// Messages stored by one group commit, at most.
const GROUP: usize = 4096;

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

/// Where a message's record is in the file.
#[derive(Clone, Copy)]
struct Stored {
    /// The message's number.
    number: u64,
    /// Where its record starts.
    at: u64,
    /// Its record's length, framing included.
    len: u64,
}

/// What a link hands its spool's writer, in order.
pub(crate) enum Item {
    /// A message to store, then queue; counted in `on_disk` once stored.
    Send(Utf8Bytes, Answer),
    /// A flush or a close, queued after what came before it.
    Other(Command),
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
    fn unsettled_bytes(&self) -> u64 {
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
    /// and syncs them: their numbers. A blocking call: see [`store`].
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
        // Only when most of the file is settled: a spool filling up while
        // its peer is down is not rewritten again and again.
        if log.size > COMPACT_AT && log.size / 2 > log.unsettled_bytes {
            if let Err(err) = self.rewrite(&mut log) {
                tracing::warn!("spool {}: cannot compact it: {err}", self.path.display());
            }
        }
        Ok(numbers)
    }

    /// Writes what is settled so far and syncs it, compacting a large file:
    /// at the end of a run, once the link is flushed. A blocking call.
    fn checkpoint(&self) -> std::io::Result<()> {
        self.append(&[])?;
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.file.sync_data()
    }

    /// Starts the file anew with the header, the settled number and the
    /// unsettled messages: written to a temporary file, synced, renamed over.
    fn rewrite(&self, log: &mut Log) -> std::io::Result<()> {
        let fresh = self.path.with_extension("spool.new");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&fresh)?;
        file.try_lock().map_err(std::io::Error::other)?;
        let mut buffer = log.header.clone();
        record(&mut buffer, ACKED, log.written_ack, b"");
        // The unsettled records are copied as they are, a piece at a time.
        let mut moved = Vec::with_capacity(log.unsettled.len());
        let mut size = 0;
        let mut bytes = Vec::new();
        let copied = log.unsettled.iter().try_for_each(|stored| {
            bytes.resize(stored.len as usize, 0);
            log.file.seek(SeekFrom::Start(stored.at))?;
            log.file.read_exact(&mut bytes)?;
            moved.push(Stored {
                at: size + buffer.len() as u64,
                ..*stored
            });
            buffer.extend_from_slice(&bytes);
            if buffer.len() >= 1 << 20 {
                file.write_all(&buffer)?;
                size += buffer.len() as u64;
                buffer.clear();
            }
            Ok::<(), std::io::Error>(())
        });
        let end = log.size;
        log.file.seek(SeekFrom::Start(end))?;
        copied?;
        file.write_all(&buffer)?;
        size += buffer.len() as u64;
        file.sync_data()?;
        std::fs::rename(&fresh, &self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_folder(dir);
        }
        log.file = file;
        log.size = size;
        log.unsettled = moved.into();
        Ok(())
    }
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

/// The header of a spool for link `link` of sketch `sketch`, identity `id`.
fn header(sketch: &str, link: &str, id: LinkId) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&VERSION.to_le_bytes());
    for name in [sketch, link, &id.to_string()] {
        header.extend_from_slice(&(name.len() as u16).to_le_bytes());
        header.extend_from_slice(name.as_bytes());
    }
    let crc = crc32fast::hash(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    header
}

/// The identity in a spool's header, and where its records start.
///
/// # Errors
/// Not a spool, another version, a damaged header, or another sketch's or link's.
fn read_header(bytes: &[u8], sketch: &str, link: &str) -> Result<(LinkId, usize), String> {
    let damaged = || "its header is damaged or it is not a spool; it was left as it is".to_owned();
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(damaged());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| damaged())?);
    if version != VERSION {
        return Err(format!(
            "it is of version {version}, this program reads version {VERSION}"
        ));
    }
    let mut at = 12;
    let mut names = Vec::new();
    for _ in 0..3 {
        let len = bytes
            .get(at..at + 2)
            .map(|len| u16::from_le_bytes([len[0], len[1]]) as usize)
            .ok_or_else(damaged)?;
        let name = bytes.get(at + 2..at + 2 + len).ok_or_else(damaged)?;
        names.push(String::from_utf8(name.to_vec()).map_err(|_| damaged())?);
        at += 2 + len;
    }
    let crc = bytes.get(at..at + 4).ok_or_else(damaged)?;
    if crc32fast::hash(&bytes[..at]).to_le_bytes() != crc {
        return Err(damaged());
    }
    if names[0] != sketch || names[1] != link {
        return Err(format!(
            "it was written for link `{}` of sketch {}, not for link `{link}` of sketch {sketch}; it was left as it is",
            names[1], names[0]
        ));
    }
    let id = names[2].parse().map_err(|_| damaged())?;
    Ok((id, at + 4))
}

/// The whole records at the start of `bytes` (kind, number, where), and
/// where the last one ends: a record cut short, failing its checksum or of
/// no known kind ends them.
fn read_records(bytes: &[u8]) -> (Vec<(u8, Stored)>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(framing) = bytes.get(at..at + FRAMING) {
        let len = u32::from_le_bytes([framing[0], framing[1], framing[2], framing[3]]) as usize;
        let crc = u32::from_le_bytes([framing[4], framing[5], framing[6], framing[7]]);
        let Some(body) = bytes.get(at + FRAMING..at + FRAMING + len) else {
            break;
        };
        if len < 9 || crc32fast::hash(body) != crc || !matches!(body[0], MESSAGE | ACKED) {
            break;
        }
        let number = u64::from_le_bytes(body[1..9].try_into().unwrap_or_default());
        if std::str::from_utf8(&body[9..]).is_err() {
            break;
        }
        let stored = Stored {
            number,
            at: at as u64,
            len: (FRAMING + len) as u64,
        };
        records.push((body[0], stored));
        at += FRAMING + len;
    }
    (records, at)
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

/// Appends a record of `kind` with `number` and `text` to `buffer`.
fn record(buffer: &mut Vec<u8>, kind: u8, number: u64, text: &[u8]) {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; FRAMING]);
    buffer.push(kind);
    buffer.extend_from_slice(&number.to_le_bytes());
    buffer.extend_from_slice(text);
    let body = &buffer[start + FRAMING..];
    let len = (body.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(body).to_le_bytes();
    buffer[start..start + 4].copy_from_slice(&len);
    buffer[start + 4..start + 8].copy_from_slice(&crc);
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
    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("circuit-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// What the spool holds unsettled, read back from its file.
    fn left(opened: &Opened) -> Vec<(u64, String)> {
        let texts = opened.spool.read(0, u64::MAX, usize::MAX).unwrap();
        assert_eq!(texts.len() as u64, opened.unsettled);
        texts
            .into_iter()
            .map(|(number, text)| (number, text.as_str().to_owned()))
            .collect()
    }

    fn texts(texts: &[&str]) -> Vec<Utf8Bytes> {
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

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_at_the_last_whole_record() {
        let dir = folder("torn");
        let opened = Spool::open(&dir, "relay", "out").unwrap();
        opened
            .spool
            .append(&texts(&["one", "two", "three"]))
            .unwrap();
        drop(opened);
        let path = dir.join("relay.out.spool");
        let whole = std::fs::read(&path).unwrap();
        // Torn: the last record cut short.
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let torn = Spool::open(&dir, "relay", "out").unwrap();
        let texts: Vec<String> = left(&torn).into_iter().map(|(_, text)| text).collect();
        assert_eq!(texts, ["one", "two"]);
        drop(torn);
        // Corrupt: a byte of the second record's text flipped.
        let mut flipped = whole.clone();
        let at = whole.windows(3).position(|w| w == b"two").unwrap();
        flipped[at] ^= 0xff;
        std::fs::write(&path, &flipped).unwrap();
        let corrupt = Spool::open(&dir, "relay", "out").unwrap();
        let texts: Vec<String> = left(&corrupt).into_iter().map(|(_, text)| text).collect();
        assert_eq!(texts, ["one"]);
        drop(corrupt);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_spool_of_another_sketch_or_link_is_refused_and_kept() {
        let dir = folder("other");
        drop(Spool::open(&dir, "relay", "out").unwrap());
        let path = dir.join("relay.out.spool");
        std::fs::rename(&path, dir.join("relay.in.spool")).unwrap();
        let refused = Spool::open(&dir, "relay", "in").err().unwrap();
        assert!(
            refused.contains("relay.in.spool") && refused.contains("link `out`"),
            "{refused}"
        );
        assert!(dir.join("relay.in.spool").exists(), "nothing deleted");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_large_file_with_everything_settled_starts_anew() {
        let dir = folder("compact");
        let opened = Spool::open(&dir, "relay", "out").unwrap();
        let big = "x".repeat(1024 * 1024);
        for _ in 0..17 {
            let numbers = opened.spool.append(&texts(&[big.as_str()])).unwrap();
            opened.spool.settled(numbers[0]);
        }
        let size = std::fs::metadata(dir.join("relay.out.spool"))
            .unwrap()
            .len();
        assert!(size < COMPACT_AT, "{size}");
        drop(opened);
        let again = Spool::open(&dir, "relay", "out").unwrap();
        assert_eq!(
            left(&again),
            [(17, big.clone())],
            "only the last, not yet said settled"
        );
        assert_eq!(again.spool.append(&texts(&["y"])).unwrap(), [18]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_spool_filling_up_is_read_back_whole_after_a_compaction() {
        let dir = folder("fill");
        let opened = Spool::open(&dir, "relay", "out").unwrap();
        let big = "y".repeat(1024 * 1024);
        // Settled ones first, then unsettled ones: the file is rewritten
        // once it is large and mostly settled, moving what is unsettled.
        for _ in 0..14 {
            let numbers = opened.spool.append(&texts(&[big.as_str()])).unwrap();
            opened.spool.settled(numbers[0]);
        }
        for at in 0..6 {
            let text = format!("{at}{big}");
            opened.spool.append(&[Utf8Bytes::from(text)]).unwrap();
        }
        let record = (FRAMING + 9 + big.len()) as u64;
        assert_eq!(opened.spool.unsettled_bytes(), 6 * record + 6);
        let size = std::fs::metadata(dir.join("relay.out.spool"))
            .unwrap()
            .len();
        assert!(size < 10 * record, "compacted: {size}");
        let back = opened.spool.read(15, 20, usize::MAX).unwrap();
        assert_eq!(back.len(), 6);
        for (at, (number, text)) in back.iter().enumerate() {
            assert_eq!(*number, 15 + at as u64);
            assert!(text.starts_with(&format!("{at}y")), "{number}");
        }
        assert_eq!(opened.spool.read(17, 20, 2).unwrap()[1].0, 18);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
