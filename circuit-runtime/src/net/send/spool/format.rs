//! The spool file's layout: its header, its checksummed records, and
//! reading back the whole records at its start (what follows them is a torn
//! or corrupt tail).

use crate::net::send::identity::LinkId;

/// What a spool file starts with.
const MAGIC: &[u8; 8] = b"CIRCSPL\n";
/// The layout of the file, after the magic.
const VERSION: u32 = 1;
/// A record that holds a message: its number, then its text.
pub(super) const MESSAGE: u8 = 1;
/// A record that says every message up to its number is settled.
pub(super) const ACKED: u8 = 2;
/// Bytes of a record before its kind: its length and its checksum.
pub(super) const FRAMING: usize = 8;

/// Where a message's record is in the file.
#[derive(Clone, Copy)]
pub(super) struct Stored {
    /// The message's number.
    pub(super) number: u64,
    /// Where its record starts.
    pub(super) at: u64,
    /// Its record's length, framing included.
    pub(super) len: u64,
}

/// The header of a spool for link `link` of sketch `sketch`, identity `id`.
pub(super) fn header(sketch: &str, link: &str, id: LinkId) -> Vec<u8> {
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
pub(super) fn read_header(
    bytes: &[u8],
    sketch: &str,
    link: &str,
) -> Result<(LinkId, usize), String> {
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
pub(super) fn read_records(bytes: &[u8]) -> (Vec<(u8, Stored)>, usize) {
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

/// Appends a record of `kind` with `number` and `text` to `buffer`.
pub(super) fn record(buffer: &mut Vec<u8>, kind: u8, number: u64, text: &[u8]) {
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

#[cfg(test)]
mod tests {
    use crate::net::send::spool::tests::{folder, left, texts};
    use crate::net::send::spool::Spool;

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
}
