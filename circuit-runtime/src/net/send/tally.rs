//! What a timer's run adds up to, whichever wire its ticks take: each
//! tick's acknowledgement counted and printed, and the end of the run (its
//! links drained, its line said).

use crate::base::losses::Losses;
use crate::base::options::Options;
use crate::base::sketch::Timed;
use crate::net::send::outbound::drain;
use crate::observe::progress::Progress;
use crate::observe::signal::signal;

/// What a timer sketch did, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerReport {
    /// Ticks sent to the server.
    pub sent: u64,
    /// Acknowledgements received back.
    pub acked: u64,
    /// Ticks sent again after the server went away before acknowledging them.
    pub resent: u64,
    /// What it lost: ticks never acknowledged (it stopped first), and what
    /// its links did not deliver.
    pub lost: Losses,
}

/// Counts the acknowledgement `ack` of a tick, with its line and signal.
pub(crate) fn acked(ack: &str, report: &mut TimerReport, progress: &Progress) {
    crate::out!("< {ack}");
    signal("ack", ack);
    report.acked += 1;
    progress.acked(report.acked);
}

/// The end of a timer's run, its connection closed: what its links still
/// hold is delivered (within `--stop-timeout`), and the run said in a line.
pub(crate) async fn ended<S: Timed>(
    sketch: S,
    options: &Options,
    mut report: TimerReport,
) -> TimerReport {
    report.lost = drain(&sketch.links(), options.stop_timeout).await;
    report.lost.unacknowledged = report.sent - report.acked;
    let line = format!(
        "{} ticks sent, {} acknowledged, {} resent",
        report.sent, report.acked, report.resent
    );
    match report.lost.unacknowledged {
        0 => tracing::info!("{line}"),
        never => tracing::warn!("{line}, {never} not acknowledged (lost)"),
    }
    report
}
