//! A link's identity: 16 random bytes that name one link for as long as it
//! lives (a process, or its spool), written as 32 lowercase hex characters,
//! so that a server can tell a resent message from a new one.

use std::fmt;
use std::str::FromStr;

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};

/// The identity of one link, the same on every connection it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LinkId([u8; 16]);

impl LinkId {
    /// A new identity, drawn from the operating system's randomness: two
    /// links (in any processes) share one with negligible chance.
    pub(crate) fn random() -> LinkId {
        let mut bytes = [0u8; 16];
        SmallRng::from_os_rng().fill(&mut bytes);
        LinkId(bytes)
    }

    /// Its 16 bytes, as a file keeps them.
    pub(crate) fn bytes(self) -> [u8; 16] {
        self.0
    }

    /// The identity of these 16 bytes.
    pub(crate) fn from_bytes(bytes: [u8; 16]) -> LinkId {
        LinkId(bytes)
    }
}

impl fmt::Display for LinkId {
    /// 32 lowercase hex characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl FromStr for LinkId {
    type Err = String;

    /// 32 hex characters (either case), as [`Display`](fmt::Display) writes them.
    fn from_str(text: &str) -> Result<LinkId, String> {
        let wrong = || format!("a link identity is 32 hex characters, not {text:?}");
        if text.len() != 32 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(wrong());
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| wrong())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| wrong())?;
        }
        Ok(LinkId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_written_as_32_hex_characters_and_read_back() {
        let id = LinkId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert!(text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(text.parse::<LinkId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<LinkId>(), Ok(id));
        assert_ne!(LinkId::random(), id);
        let zero: LinkId = "000102030405060708090a0b0c0d0e0f".parse().unwrap();
        assert_eq!(zero.to_string(), "000102030405060708090a0b0c0d0e0f");
        for bad in [
            "",
            "00",
            &"0".repeat(33),
            &"g".repeat(32),
            &"é".repeat(16),
            "+1020304050607080900a0b0c0d0e0f0",
        ] {
            assert!(bad.parse::<LinkId>().is_err(), "{bad:?}");
        }
    }
}
