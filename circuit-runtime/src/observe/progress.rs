//! A timer sketch's progress bar: ticks done out of the total, acknowledgements,
//! time elapsed — drawn on a terminal only; elsewhere the log lines say it all.
//!
//! The bar lives on stderr and log lines on stdout; while a bar is shown, the
//! console lifts it around each log line, so the two never garble each other.

use std::io::{self, IsTerminal};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::base::clock;
use crate::observe::console;
use crate::observe::log;

/// How often the bar is redrawn at most.
const REDRAWS_PER_SECOND: u8 = 10;

/// The progress of one timer sketch.
pub struct Progress {
    /// `None` when the output is not a terminal.
    bar: Option<ProgressBar>,
}

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
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
