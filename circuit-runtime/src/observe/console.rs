//! Standard output for log lines, written around a progress bar when one is
//! shown, so that the bar and the lines never garble each other.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use indicatif::ProgressBar;

/// The bar being shown, if any, for the log writer to lift around its lines.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Shows `bar` under the log lines from now on, or none.
pub(crate) fn show(bar: Option<ProgressBar>) {
    *lock() = bar;
}

/// The shown bar; usable even if a panic happened while it was held.
fn lock() -> MutexGuard<'static, Option<ProgressBar>> {
    SHOWN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Standard output, writing around the progress bar when one is shown.
pub(crate) struct Console;

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let shown = lock().clone();
        match shown {
            Some(bar) => bar
                .suspend(|| io::stdout().write_all(buf))
                .map(|()| buf.len()),
            None => io::stdout().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}
