//! The retained message (`--retain`): queued first, unnumbered, on a new
//! connection, taken out again when a connection closes, and its
//! acknowledgement counted apart.

use std::sync::atomic::Ordering;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{shortened, Delivery, Outstanding};

impl Delivery {
    /// Queues the retained message first, for the next connection (unless
    /// it waits there already, from a connection that ended before its
    /// answer); whether there is one. Nothing is on the wire then. It has no
    /// number: the handshake says it goes first (`Circuit-Retained`), so that
    /// the peer runs its loop on it whatever it remembers, as retaining is for.
    pub(super) fn resend_retained(&mut self) -> bool {
        let Some(text) = self.retained.clone() else {
            return false;
        };
        if !self.pending.front().is_some_and(|held| held.retained) {
            self.pending_bytes += text.len();
            self.pending.push_front(Outstanding {
                text,
                answer: None,
                number: 0,
                failures: 0,
                retained: true,
                sent: None,
            });
        }
        true
    }

    /// Takes the retained message out of the queue, when it waits there.
    pub(super) fn unqueue_retained(&mut self) {
        if self.pending.front().is_some_and(|held| held.retained) {
            if let Some(held) = self.pending.pop_front() {
                self.pending_bytes -= held.text.len();
            }
        }
    }

    /// The acknowledgement `ack` of the retained message, sent again: counted
    /// apart, since the peer had it before. It settles nothing, and does not
    /// reset the backoff, so that a peer that closes after every message is
    /// not reconnected to in a hurry.
    pub(super) fn retained_acked(&mut self, resent: &Utf8Bytes, ack: &Utf8Bytes) {
        let url = &self.link.url;
        if ack.as_str().starts_with("error: ") {
            tracing::warn!(
                "link to {url}: the peer refused the retained {}: {}",
                shortened(resent),
                ack.as_str()
            );
            return;
        }
        self.link
            .counters
            .retained_resends
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "link to {url}: resent the retained {} on a new connection",
            shortened(resent)
        );
    }
}
