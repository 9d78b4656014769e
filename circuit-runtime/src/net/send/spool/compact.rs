//! Compaction: once a spool file is large and mostly settled, it is
//! rewritten with only what is unsettled.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};

use super::format::{record, Stored, ACKED};
use super::{sync_folder, Log, Spool};

/// A file larger than this is rewritten with only what is unsettled.
const COMPACT_AT: u64 = 16 * 1024 * 1024;

impl Spool {
    /// Rewrites the file if it is large and mostly settled, saying so if it cannot.
    pub(super) fn compact(&self, log: &mut Log) {
        // Only when most of the file is settled: a spool filling up while
        // its peer is down is not rewritten again and again.
        if log.size > COMPACT_AT && log.size / 2 > log.unsettled_bytes {
            if let Err(err) = self.rewrite(log) {
                tracing::warn!("spool {}: cannot compact it: {err}", self.path.display());
            }
        }
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

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::Utf8Bytes;

    use super::COMPACT_AT;
    use crate::net::send::spool::format::FRAMING;
    use crate::net::send::spool::tests::{folder, left, texts};
    use crate::net::send::spool::Spool;

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
