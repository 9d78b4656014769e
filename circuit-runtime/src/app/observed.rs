//! A run with the observation its command line asked for: a recording for
//! `--vcd FILE`, for `--web ADDR` a live analyzer page that stays up after
//! the run until Ctrl-C, and for `--mqtt URL` the signals published to a broker.

use std::future::Future;
use std::path::PathBuf;

use crate::app::flags::run::Published;
use crate::base::error::{Error, Result};
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::mqtt::Signals;
use crate::net::web::Analyzer;
use crate::observe::analyzer::Panel;
use crate::observe::recording::Recording;

/// A run's signals published to a broker (`--mqtt`), and whose they are.
pub(crate) struct ToBroker {
    /// `--mqtt URL`, `--home-assistant`.
    pub(crate) published: Published,
    /// The circuit's name (a lone sketch's own), the second level of the topics.
    pub(crate) circuit: String,
    /// The sketches that run here, each with a connection of its own.
    pub(crate) sketches: Vec<String>,
}

impl ToBroker {
    /// Starts publishing what `recording` records.
    ///
    /// # Errors
    /// [`Error::Setup`] when the URL's password file cannot be read.
    pub(crate) fn start(&self, recording: &Recording) -> Result<Signals> {
        Signals::start(
            &self.published.url,
            self.published.home_assistant,
            &self.circuit,
            &self.sketches,
            &recording.trace(),
        )
        .map_err(Error::Setup)
    }
}

/// Runs `run` (which ends with the run's summary line, and its verdict)
/// recorded to `vcd`, shown live on `web` with `panel` (over HTTPS with
/// `tls`'s certificate when `web` is beyond loopback) and published to
/// `broker`, then saves the recording and, with a page, keeps serving it
/// until `shutdown` fires.
///
/// # Errors
/// What `run` fails with, or its verdict once the recording is saved (a
/// run that lost messages is a whole run, worth its recording);
/// [`Error::Record`](crate::base::Error::Record) when the VCD file cannot be
/// written; a bind error for the page's address.
pub async fn observed<F, Fut>(
    vcd: Option<PathBuf>,
    web: Option<String>,
    broker: Option<ToBroker>,
    panel: Panel,
    tls: &TlsFiles,
    mut shutdown: Shutdown,
    run: F,
) -> Result<()>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(String, Result<()>)>>,
{
    let recording = Recording::start(vcd, web.is_some() || broker.is_some())?;
    let signals = match (&broker, &recording) {
        (Some(broker), Some(recording)) => Some(broker.start(recording)?),
        _ => None,
    };
    let analyzer = match (&web, &recording) {
        (Some(address), Some(recording)) => {
            Some(Analyzer::start(address, recording.trace(), panel, tls, shutdown.clone()).await?)
        }
        _ => None,
    };
    let ran = run(shutdown.clone()).await;
    if let Some(signals) = signals {
        // Even a failed run says `offline` itself rather than by its Last Will.
        signals.stop().await;
    }
    let (line, verdict) = ran?;
    if let Some(recording) = recording {
        recording.finish(Some(&line))?;
    }
    if let Some(analyzer) = analyzer {
        tracing::info!(
            "run finished; the analyzer stays up at http://{}/ until Ctrl-C",
            analyzer.local_addr()
        );
        shutdown.wait().await;
        analyzer.stopped().await;
    }
    verdict
}
