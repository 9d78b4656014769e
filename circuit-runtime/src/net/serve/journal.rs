//! The file that makes a server's memory of what it processed survive its
//! restart (`--spool DIR`): `DIR/SKETCH.processed`, an append-only log of
//! checksummed records "link, number, answer", synced in groups before the
//! acknowledgements they stand for go out, rewritten with only what the
//! memory keeps when it grows large.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::base::message::Payload;
use crate::net::send::identity::LinkId;

/// The first bytes of the file.
const MAGIC: &[u8; 8] = b"CIRCMEM\n";
/// Length and checksum before each record's body.
const FRAMING: usize = 8;
/// A body: link (16), number (8), kind of answer (1), then the answer.
const BODY: usize = 25;
/// The answer is text.
const TEXT: u8 = 1;
/// The answer is binary.
const BINARY: u8 = 2;
/// The file is rewritten once it is this large and four times what was
/// kept at the last rewrite.
const COMPACT_AT: u64 = 16 * 1024 * 1024;

/// One thing remembered: message `number` of `link` was answered `answer`.
pub(crate) type Entry = (LinkId, u64, Payload);

/// The open, locked file of a server's memory.
pub(crate) struct Journal {
    /// Where it is.
    path: PathBuf,
    /// The file, locked against other processes, positioned at its end.
    file: File,
    /// Its size.
    size: u64,
    /// Its size after the last rewrite (or opening).
    kept: u64,
}

impl Journal {
    /// Opens (or starts) `DIR/SKETCH.processed`, locked for this process,
    /// and what it remembers, oldest first. A torn or corrupt tail is cut,
    /// with one warning saying how much.
    ///
    /// # Errors
    /// Naming the file: it cannot be created, read or locked (another
    /// process uses it), or it is not such a file (it is left as it is).
    pub(crate) fn open(dir: &Path, sketch: &str) -> Result<(Journal, Vec<Entry>), String> {
        let path = dir.join(format!("{sketch}.processed"));
        let named = |why: String| format!("memory {}: {why}", path.display());
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
            file.write_all(MAGIC)
                .and_then(|()| file.sync_data())
                .map_err(|err| named(format!("cannot write it: {err}")))?;
            sync_folder(dir);
            let size = MAGIC.len() as u64;
            return Ok((
                Journal {
                    path,
                    file,
                    size,
                    kept: size,
                },
                Vec::new(),
            ));
        }
        if bytes.get(..MAGIC.len()) != Some(MAGIC) {
            return Err(named(
                "it is not a server's memory; it was left as it is".to_owned(),
            ));
        }
        let (entries, end) = read(&bytes[MAGIC.len()..]);
        let end = (MAGIC.len() + end) as u64;
        let cut = bytes.len() as u64 - end;
        if cut > 0 {
            tracing::warn!(
                "memory {}: cut {cut} bytes of a torn or corrupt tail after its last whole record",
                path.display()
            );
            file.set_len(end)
                .map_err(|err| named(format!("cannot cut its tail: {err}")))?;
        }
        file.seek(SeekFrom::Start(end))
            .map_err(|err| named(format!("cannot seek in it: {err}")))?;
        let journal = Journal {
            path,
            file,
            size: end,
            kept: end,
        };
        Ok((journal, entries))
    }

    /// Appends `records` (made by [`record`]) and syncs them: once this
    /// returns, they survive a crash. A blocking call.
    pub(crate) fn append(&mut self, records: &[u8]) -> std::io::Result<()> {
        self.file.write_all(records)?;
        self.file.sync_data()?;
        self.size += records.len() as u64;
        Ok(())
    }

    /// Whether the file is large enough to be rewritten with what is kept.
    pub(crate) fn large(&self) -> bool {
        self.size >= COMPACT_AT && self.size >= 4 * self.kept
    }

    /// Replaces the file with `records` (everything the memory keeps, made
    /// by [`record`]): written beside it, synced, renamed over it. A
    /// blocking call.
    pub(crate) fn rewrite(&mut self, records: &[u8]) -> std::io::Result<()> {
        let fresh = self.path.with_extension("processed.new");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&fresh)?;
        file.try_lock().map_err(std::io::Error::other)?;
        file.write_all(MAGIC)?;
        file.write_all(records)?;
        file.sync_data()?;
        std::fs::rename(&fresh, &self.path)?;
        if let Some(dir) = self.path.parent() {
            sync_folder(dir);
        }
        self.size = (MAGIC.len() + records.len()) as u64;
        self.kept = self.size;
        self.file = file;
        Ok(())
    }

    /// Where the file is, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Appends the record of message `number` of `link`, answered `answer`, to `buffer`.
pub(crate) fn record(buffer: &mut Vec<u8>, link: LinkId, number: u64, answer: &Payload) {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; FRAMING]);
    buffer.extend_from_slice(&link.bytes());
    buffer.extend_from_slice(&number.to_le_bytes());
    let (kind, bytes): (u8, &[u8]) = match answer {
        Payload::Text(text) => (TEXT, text.as_bytes()),
        Payload::Binary(bytes) => (BINARY, bytes),
    };
    buffer.push(kind);
    buffer.extend_from_slice(bytes);
    let body = &buffer[start + FRAMING..];
    let len = (body.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(body).to_le_bytes();
    buffer[start..start + 4].copy_from_slice(&len);
    buffer[start + 4..start + 8].copy_from_slice(&crc);
}

/// The whole records at the start of `bytes`, and where the last one ends:
/// a record cut short, failing its checksum or of no known kind ends them.
fn read(bytes: &[u8]) -> (Vec<Entry>, usize) {
    let mut entries = Vec::new();
    let mut at = 0;
    while let Some(framing) = bytes.get(at..at + FRAMING) {
        let len = u32::from_le_bytes([framing[0], framing[1], framing[2], framing[3]]) as usize;
        let crc = u32::from_le_bytes([framing[4], framing[5], framing[6], framing[7]]);
        let Some(body) = bytes.get(at + FRAMING..at + FRAMING + len) else {
            break;
        };
        if len < BODY || crc32fast::hash(body) != crc {
            break;
        }
        let mut link = [0u8; 16];
        link.copy_from_slice(&body[..16]);
        let mut number = [0u8; 8];
        number.copy_from_slice(&body[16..24]);
        let answer = match body[24] {
            TEXT => match std::str::from_utf8(&body[BODY..]) {
                Ok(text) => Payload::text(text),
                Err(_) => break,
            },
            BINARY => Payload::binary(&body[BODY..]),
            _ => break,
        };
        entries.push((LinkId::from_bytes(link), u64::from_le_bytes(number), answer));
        at += FRAMING + len;
    }
    (entries, at)
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

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("circuit-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn what_is_appended_is_read_back_a_torn_tail_is_cut_and_a_second_opener_is_refused() {
        let dir = folder("torn");
        let link = LinkId::random();
        let (mut journal, entries) = Journal::open(&dir, "sink").unwrap();
        assert!(entries.is_empty());
        let refused = Journal::open(&dir, "sink").err().unwrap();
        assert!(
            refused.contains("sink.processed") && refused.contains("locked"),
            "{refused}"
        );
        let mut records = Vec::new();
        record(&mut records, link, 1, &Payload::fixed("one"));
        record(&mut records, link, 2, &Payload::binary([7, 8]));
        journal.append(&records).unwrap();
        // A third record cut short by a crash.
        let mut torn = Vec::new();
        record(&mut torn, link, 3, &Payload::fixed("three"));
        journal.append(&torn[..torn.len() - 2]).unwrap();
        drop(journal);
        let (journal, entries) = Journal::open(&dir, "sink").unwrap();
        assert_eq!(
            entries,
            vec![
                (link, 1, Payload::fixed("one")),
                (link, 2, Payload::binary([7, 8]))
            ]
        );
        assert_eq!(journal.size, (MAGIC.len() + records.len()) as u64);
        drop(journal);
        std::fs::write(dir.join("other.processed"), b"not a memory").unwrap();
        let other = Journal::open(&dir, "other").err().unwrap();
        assert!(other.contains("not a server's memory"), "{other}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
