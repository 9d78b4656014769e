//! The process around a command: logging, the async runtime, and Ctrl-C /
//! SIGTERM turned into the shutdown signal, with a bounded time to stop.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::time::timeout;

#[cfg(feature = "sim")]
use crate::base::clock;
use crate::base::error::Result;
use crate::base::shutdown::Shutdown;
use crate::observe::{health, log};

/// What a stop may take beyond delivering the links' messages: closing
/// handshakes with every peer, and the last log lines.
const CLOSING: Duration = Duration::from_secs(2);

/// Runs `body` as sketch `name` on a fresh async runtime until it ends, or
/// until Ctrl-C / SIGTERM: then it logs `Keyboard interruption, aborting.`,
/// fires the shutdown that `body` was given, and lets it finish (at most
/// `stop_timeout`, the time the links have to deliver, plus 2 s).
///
/// # Errors
/// Whatever `body` returns; [`Error::Setup`](crate::base::Error::Setup) for
/// an invalid `RUST_LOG`; an I/O error starting the runtime.
pub fn run_until_interrupted<F, Fut>(
    name: impl Into<std::sync::Arc<str>>,
    quiet: bool,
    stop_timeout: Duration,
    body: F,
) -> Result<()>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    // Declared before the runtime, so dropped after it: the last lines get written.
    let _log = log::init(quiet)?;
    // Under `--sim` the clock is virtual: it stands still while anything can
    // run, and jumps to the next timer when everything waits.
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all();
    // Without the `sim` feature nothing can ask for it: the commands refuse first.
    #[cfg(feature = "sim")]
    builder.start_paused(clock::simulated());
    let runtime = builder.build()?;
    runtime.block_on(log::scoped(name, async move {
        let mut interrupts = Interrupts::listen()?;
        let shutdown = Shutdown::new();
        let body = body(shutdown.clone());
        tokio::pin!(body);
        tokio::select! {
            result = &mut body => result,
            _ = interrupts.recv() => {
                tracing::info!("Keyboard interruption, aborting.");
                health::stopping();
                shutdown.trigger();
                let stopping = stop_timeout + CLOSING;
                match timeout(stopping, body).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!(
                            "did not stop within {:.1}s; leaving anyway",
                            stopping.as_secs_f64()
                        );
                        Ok(())
                    }
                }
            }
        }
    }))
}

/// Ctrl-C and SIGTERM, listened for from the moment this is created.
///
/// Created before a server says it is serving, so that a signal sent right
/// after that line is never missed (and never kills the process unannounced).
struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Starts listening for Ctrl-C and SIGTERM.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    fn listen() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Interrupts {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    /// Waits for the next Ctrl-C or SIGTERM.
    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
