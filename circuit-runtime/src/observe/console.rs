//! Standard output for log lines, written around a progress bar when one is
//! shown (with the `progress` feature), so that the bar and the lines never
//! garble each other.

use std::io::{self, Write};
#[cfg(feature = "progress")]
use std::sync::{Mutex, MutexGuard, PoisonError};

#[cfg(feature = "progress")]
use indicatif::ProgressBar;

/// The bar being shown, if any, for the log writer to lift around its lines.
#[cfg(feature = "progress")]
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Shows `bar` under the log lines from now on, or none.
#[cfg(feature = "progress")]
pub(crate) fn show(bar: Option<ProgressBar>) {
    *lock() = bar;
}

/// The shown bar; usable even if a panic happened while it was held.
#[cfg(feature = "progress")]
fn lock() -> MutexGuard<'static, Option<ProgressBar>> {
    SHOWN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Standard output, writing around the progress bar when one is shown.
pub(crate) struct Console;

impl Write for Console {
    #[cfg(not(feature = "progress"))]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().write(buf)
    }

    #[cfg(feature = "progress")]
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
