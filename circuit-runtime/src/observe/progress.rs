//! A timer sketch's progress bar: ticks done out of the total, acknowledgements,
//! time elapsed — drawn on a terminal only; elsewhere the log lines say it all.
//!
//! The bar lives on stderr and log lines on stdout; while a bar is shown, the
//! console lifts it around each log line, so the two never garble each other.
//! Drawn with indicatif, in the `progress` feature; without it, a timer has
//! its log lines alone, as in a pipe.

#[cfg(feature = "progress")]
use std::io::{self, IsTerminal};
#[cfg(feature = "progress")]
use std::time::Duration;

#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[cfg(feature = "progress")]
use crate::base::clock;
#[cfg(feature = "progress")]
use crate::observe::console;
#[cfg(feature = "progress")]
use crate::observe::log;

/// How often the bar is redrawn at most.
#[cfg(feature = "progress")]
const REDRAWS_PER_SECOND: u8 = 10;

/// The progress of one timer sketch.
pub struct Progress {
    /// `None` when the output is not a terminal.
    #[cfg(feature = "progress")]
    bar: Option<ProgressBar>,
}

#[cfg(not(feature = "progress"))]
impl Progress {
    /// No bar without the `progress` feature.
    pub fn start(_total: Option<u64>) -> Progress {
        Progress {}
    }

    /// One tick was sent.
    pub fn sent(&self) {}

    /// `acked` acknowledgements so far.
    pub fn acked(&self, _acked: u64) {}
}

#[cfg(not(feature = "progress"))]
impl Drop for Progress {
    /// Nothing to take away; kept so that a timer ends its progress the same
    /// way whichever build it is.
    fn drop(&mut self) {}
}

#[cfg(feature = "progress")]
impl Progress {
    /// Shows a bar of `total` ticks (a spinner when unknown) if both stdout
    /// and stderr are terminals.
    pub fn start(total: Option<u64>) -> Progress {
        if !(io::stdout().is_terminal() && io::stderr().is_terminal()) {
            return Progress { bar: None };
        }
        // Hidden until its prefix and message are set, so its first frame is whole.
        let target = ProgressDrawTarget::hidden();
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), target).with_style(style(
                "{prefix} [{bar:30}] {pos}/{len} ticks · {msg} · {elapsed_precise}",
            )),
            None => ProgressBar::with_draw_target(None, target).with_style(style(
                "{prefix} {spinner} {pos} ticks · {msg} · {elapsed_precise}",
            )),
        };
        bar.set_prefix(format!("[ {} ]", log::current()));
        bar.set_message("0 acks");
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(REDRAWS_PER_SECOND));
        bar.enable_steady_tick(Duration::from_millis(200));
        console::show(Some(bar.clone()));
        Progress { bar: Some(bar) }
    }

    /// One tick was sent.
    pub fn sent(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// `acked` acknowledgements so far; under `--sim`, with the simulated
    /// time (the bar's own clock is the wall's: how long one has waited).
    pub fn acked(&self, acked: u64) {
        if let Some(bar) = &self.bar {
            match clock::simulated_time() {
                Some(at) => {
                    bar.set_message(format!("{acked} acks · simulated {:.3}s", at.as_secs_f64()))
                }
                None => bar.set_message(format!("{acked} acks")),
            }
        }
    }
}

#[cfg(feature = "progress")]
impl Drop for Progress {
    /// Takes the bar away; the summary line that follows says how it ended.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            console::show(None);
            bar.finish_and_clear();
        }
    }
}

/// A bar style from a template that is known to parse.
#[cfg(feature = "progress")]
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
