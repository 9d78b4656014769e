//! A link's identity: 16 random bytes that name one link across its
//! restarts (kept in its spool), written as 32 hex characters.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::TryRngCore as _;

/// Who a link is, to its peer: the same across the sender's restarts when
/// its spool keeps it, a fresh one per link and process otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LinkId([u8; 16]);

impl LinkId {
    /// A new identity, drawn from the operating system's randomness.
    pub(crate) fn random() -> Self {
        let mut bytes = [0u8; 16];
        if OsRng.try_fill_bytes(&mut bytes).is_err() {
            // No randomness from the system: the clock and the process id
            // still tell two links apart.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos());
            bytes = (now ^ u128::from(std::process::id()) << 96).to_le_bytes();
        }
        LinkId(bytes)
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for LinkId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("a link identity is 32 hex characters, not {text:?}");
        if text.len() != 32 || !text.is_ascii() {
            return Err(wrong());
        }
        let mut bytes = [0u8; 16];
        for (at, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * at..2 * at + 2], 16).map_err(|_| wrong())?;
        }
        Ok(LinkId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_reads_back_from_its_hex() {
        let id = LinkId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<LinkId>(), Ok(id));
        assert_ne!(LinkId::random(), id);
        assert!("xyz".parse::<LinkId>().is_err());
        assert!("zz".repeat(16).parse::<LinkId>().is_err());
    }
}
