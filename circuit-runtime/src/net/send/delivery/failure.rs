//! When a connection fails or the peer refuses the link: what goes again
//! on the next connection, after a longer wait, and what is dead-lettered.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{shortened, Delivery, Failure};
use crate::net::wire::socket::{close_politely, Socket};

impl Delivery {
    /// Dead-letters every message held, for a peer that refused us; says so
    /// once, loudly, then quietly for later messages.
    pub(super) fn dead_letter_all(&mut self, reason: &str) {
        let mut count = 0u64;
        while let Some(dead) = self.pending.pop_front() {
            self.pending_bytes -= dead.text.len();
            if dead.retained {
                continue; // still retained, for the next connection
            }
            self.settled += 1;
            count += 1;
            self.link
                .dead_lettered(dead.number, dead.answer, dead.failures + 1, reason);
        }
        self.in_flight = 0;
        self.link.flying(0);
        let url = self.link.url.as_str();
        if std::mem::replace(&mut self.refused, true) {
            tracing::debug!("link to {url} refused again ({reason}): {count} dead-lettered");
        } else {
            tracing::error!(
                "link to {url} was refused ({reason}); what it is given is dead-lettered, not retried, until the peer takes it"
            );
        }
    }

    /// Ends the connection after `failure`: what it left unacknowledged goes
    /// again on the next one, after a longer wait; the oldest message, which
    /// the connection ended on, is dead-lettered after `--link-attempts`. An
    /// idle connection that ends is no failure of delivery: said quietly,
    /// and the next message connects at once.
    pub(super) async fn fail(&mut self, socket: &mut Option<Socket>, failure: Failure) {
        let link = Arc::clone(&self.link);
        let url = link.url.as_str();
        let violation = matches!(failure, Failure::Violation(_));
        let reason = match failure {
            Failure::Lost(reason) => reason,
            Failure::Violation(what) => {
                if let Some(mut live) = socket.take() {
                    close_politely(&mut live, CloseCode::Protocol, what).await;
                }
                format!("protocol violation by the peer ({what}), closed with 1002")
            }
            Failure::Silent => format!(
                "no acknowledgement within {:.1}s (--ack-timeout)",
                self.options.ack_timeout.as_secs_f64()
            ),
        };
        *socket = None;
        self.dialer.lost();
        let carried = std::mem::take(&mut self.in_flight) > 0;
        self.link.flying(0);
        if !carried && !violation {
            // Idle (a peer that restarted, a dead one that did not answer our
            // ping): nothing is late, and the next message connects again;
            // a retained message reconnects now, after a wait, for a peer
            // that restarted to learn it.
            if self.resend_retained() {
                self.retry = Some(self.backoff.next_wait());
                tracing::info!(
                    "link to {url}: {reason}; reconnecting to resend the retained message"
                );
            } else {
                tracing::debug!("link to {url}: {reason}; reconnecting with the next message");
            }
            return;
        }
        let wait = self.backoff.next_wait();
        self.retry = Some(wait);
        self.down = true;
        if !carried {
            tracing::warn!("link to {url}: {reason}");
            self.resend_retained();
            return;
        }
        let Some(oldest) = self.pending.front_mut() else {
            return;
        };
        oldest.failures += 1;
        if oldest.failures < self.options.attempts.max(1) {
            tracing::warn!(
                "link to {url}: {reason}, with {} unacknowledged; resending in {}ms",
                self.pending.len(),
                wait.as_millis()
            );
            return;
        }
        let Some(dead) = self.pending.pop_front() else {
            return;
        };
        self.pending_bytes -= dead.text.len();
        if dead.retained {
            // The peer keeps failing on it: it is not worth another connection.
            tracing::warn!(
                "link to {url}: gave up resending the retained {} after {} attempts ({reason}); it is retained no more",
                shortened(&dead.text),
                dead.failures
            );
            self.retained = None;
            return;
        }
        self.settled += 1;
        tracing::warn!(
            "link to {url}: gave up on {} after {} attempts ({reason}); dead-lettered",
            shortened(&dead.text),
            dead.failures
        );
        self.link
            .dead_lettered(dead.number, dead.answer, dead.failures, &reason);
        self.resend_retained();
    }
}
