//! Where a connection takes up a link's stream: the `Circuit-Link` and
//! `Circuit-Next` handshake headers (and `Circuit-Retained` when a retained
//! message goes first, unnumbered), which a link presents and a server
//! reads, so that a server can tell a resent message from a new one. Plain
//! WebSocket peers neither send nor read them.

use tokio_tungstenite::tungstenite::handshake::client::Request as ClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::Request as Handshake;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::net::send::identity::LinkId;

/// The header naming the link: its identity, 32 hex characters.
pub(crate) const LINK: &str = "circuit-link";

/// The header giving the number of the first message the connection carries;
/// the k-th message after it (from 0) is number `Circuit-Next + k`.
pub(crate) const NEXT: &str = "circuit-next";

/// The header saying that the first message on the connection is the link's
/// retained message (`--retain`), outside the numbering: the server runs its
/// loop on it whatever it remembers (a restarted peer must hear it), and
/// numbers the messages after it from `Circuit-Next`.
pub(crate) const RETAINED: &str = "circuit-retained";

/// A link's place in its stream, as a connection opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resume {
    /// The link.
    pub(crate) link: LinkId,
    /// The number of the first message on this connection (messages are
    /// numbered from 1, in the order the link took them).
    pub(crate) next: u64,
    /// Whether the link's retained message goes first, unnumbered.
    pub(crate) retained: bool,
}

impl Resume {
    /// Adds the two headers to a client's handshake.
    pub(crate) fn present(&self, request: &mut ClientRequest) {
        let headers = request.headers_mut();
        // Hex and digits are always valid header values.
        if let Ok(link) = HeaderValue::from_str(&self.link.to_string()) {
            headers.insert(HeaderName::from_static(LINK), link);
        }
        headers.insert(HeaderName::from_static(NEXT), HeaderValue::from(self.next));
        if self.retained {
            headers.insert(
                HeaderName::from_static(RETAINED),
                HeaderValue::from_static("1"),
            );
        }
    }

    /// The place a handshake gives, if it carries both headers; `Err` with
    /// why, when it carries them wrong (the peer is then served as a plain
    /// one: each message processed, resent or not).
    pub(crate) fn read(request: &Handshake) -> Result<Option<Resume>, String> {
        let headers = request.headers();
        let (link, next) = match (headers.get(LINK), headers.get(NEXT)) {
            (None, None) => return Ok(None),
            (Some(link), Some(next)) => (link, next),
            _ => return Err(format!("{LINK} and {NEXT} come together, not one alone")),
        };
        let link = link
            .to_str()
            .map_err(|_| format!("{LINK} is not text"))?
            .parse()?;
        let next = next
            .to_str()
            .ok()
            .and_then(|next| next.parse::<u64>().ok())
            .filter(|next| *next >= 1)
            .ok_or_else(|| format!("{NEXT} is a message number from 1, not {next:?}"))?;
        let retained = headers.get(RETAINED).is_some_and(|value| value == "1");
        Ok(Some(Resume {
            link,
            next,
            retained,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    #[test]
    fn the_headers_a_link_presents_are_read_back_and_bad_ones_are_told() {
        let mut request = "ws://localhost/pin".into_client_request().unwrap();
        for retained in [true, false] {
            let resume = Resume {
                link: LinkId::random(),
                next: 42,
                retained,
            };
            request = "ws://localhost/pin".into_client_request().unwrap();
            resume.present(&mut request);
            assert_eq!(Resume::read(&request), Ok(Some(resume)));
        }
        let plain = "ws://localhost/pin".into_client_request().unwrap();
        assert_eq!(Resume::read(&plain), Ok(None));

        let mut half = plain.clone();
        half.headers_mut()
            .insert(NEXT, HeaderValue::from_static("3"));
        assert!(Resume::read(&half).is_err());
        let mut zero = request.clone();
        zero.headers_mut()
            .insert(NEXT, HeaderValue::from_static("0"));
        assert!(Resume::read(&zero).unwrap_err().contains("from 1"));
        let mut bad = request;
        bad.headers_mut()
            .insert(LINK, HeaderValue::from_static("xyz"));
        assert!(Resume::read(&bad).unwrap_err().contains("32 hex"));
    }
}
