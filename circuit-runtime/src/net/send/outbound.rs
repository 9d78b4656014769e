//! A sketch's links at the edges of its run: configured with the sketch's
//! options and token at the start, drained at the end within `--stop-timeout`,
//! each with one line saying what it did (for servers and timers alike).

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::timeout;

use crate::base::error::{Error, Result};
use crate::base::losses::Losses;
use crate::base::options::Options;
use crate::base::shutdown::Shutdown;
use crate::base::sketch::{LinkReport, Outbound, Sketch};

/// Gives every link of `sketch` the sketch's link options and token, and
/// those named by `--retain` their retained message; a `send` waiting for
/// room gives up once `shutdown` fires and `--stop-timeout` has passed.
///
/// # Errors
/// A link's spool (`--spool`) that cannot be opened, named.
pub(crate) fn configure<S: Sketch>(
    sketch: &S,
    options: &Options,
    shutdown: Option<&Shutdown>,
) -> Result<()> {
    let name = options.named.as_deref().unwrap_or(S::NAME);
    for link in sketch.links() {
        link.configure(&options.links, options.token.as_ref());
        link.meter(name);
        // A replay (no `shutdown`) sends nothing out: its links keep no spool.
        if let Some(shutdown) = shutdown {
            link.release_on(shutdown, options.stop_timeout);
            if let Some(dir) = &options.spool {
                link.spool_in(dir, name, options.spool_max)
                    .map_err(Error::Spool)?;
            }
        }
    }
    for field in &options.retain {
        for link in sketch.links_of(field) {
            link.retain();
        }
    }
    Ok(())
}

/// Delivers what `links` still hold and closes them, all at once and for at
/// most `within` in total; then logs each link's end-of-run line. Returns what
/// was lost (dead-lettered, dropped or still held), summed over the links.
pub(crate) async fn drain(links: &[&dyn Outbound], within: Duration) -> Losses {
    let finished = timeout(within, join_all(links.iter().map(|link| link.finish()))).await;
    let mut lost = Losses::default();
    for link in links {
        let report = link.report();
        lost.add(report.lost());
        if report == LinkReport::default() {
            continue; // never used: nothing to say
        }
        let line = end_of_run(&report);
        let lost_some = report.refused + report.lost().total() > 0;
        if finished.is_err() && report.held > 0 {
            tracing::warn!(
                "link to {}: {line}; stopped after {:.1}s (--stop-timeout)",
                link.target(),
                within.as_secs_f64()
            );
        } else if lost_some {
            tracing::warn!("link to {}: {line}", link.target());
        } else {
            tracing::info!("link to {}: {line}", link.target());
        }
    }
    lost
}

/// "12 delivered, 1 refused, 2 dead-lettered, 3 dropped, 4 not delivered (9
/// lost)": the counts that are not zero, delivered always (and the retained
/// message's resends, apart), and what of them was lost (a refusal is the
/// peer's answer, not a loss).
fn end_of_run(report: &LinkReport) -> String {
    let mut line = format!("{} delivered", report.delivered);
    match report.retained_resends {
        0 => {}
        1 => line.push_str(", 1 retained resend"),
        n => line.push_str(&format!(", {n} retained resends")),
    }
    if report.resent > 0 {
        line.push_str(&format!(", {} resent from the spool", report.resent));
    }
    for (count, what) in [
        (report.refused, "refused by the peer"),
        (report.dead_lettered, "dead-lettered"),
        (report.overflowed, "dropped (queue full)"),
        (report.held, "not delivered"),
    ] {
        if count > 0 {
            line.push_str(&format!(", {count} {what}"));
        }
    }
    let lost = report.lost().total();
    if lost > 0 {
        line.push_str(&format!(" ({lost} lost)"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_run_line_names_what_went_wrong() {
        let clean = LinkReport {
            delivered: 9,
            ..LinkReport::default()
        };
        assert_eq!(end_of_run(&clean), "9 delivered");
        let rough = LinkReport {
            delivered: 5,
            refused: 1,
            dead_lettered: 2,
            overflowed: 0,
            held: 3,
            retained_resends: 2,
            resent: 0,
        };
        assert_eq!(
            end_of_run(&rough),
            "5 delivered, 2 retained resends, 1 refused by the peer, 2 dead-lettered, 3 not delivered (5 lost)"
        );
        let refused = LinkReport {
            delivered: 1,
            refused: 2,
            ..LinkReport::default()
        };
        assert_eq!(
            end_of_run(&refused),
            "1 delivered, 2 refused by the peer",
            "a refusal is the peer's answer, not a loss"
        );
    }
}
