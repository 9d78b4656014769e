//! A run with the observation its command line asked for: a recording for
//! `--vcd FILE`, and for `--web ADDR` a live analyzer page that stays up after
//! the run until Ctrl-C.

use std::future::Future;
use std::path::PathBuf;

use crate::base::error::Result;
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::web::Analyzer;
use crate::observe::analyzer::Panel;
use crate::observe::recording::Recording;

/// Runs `run` (which ends with the run's summary line, and its verdict)
/// recorded to `vcd` and shown live on `web` with `panel` (over HTTPS with
/// `tls`'s certificate when `web` is beyond loopback), then saves the
/// recording and, with a page, keeps serving it until `shutdown` fires.
///
/// # Errors
/// What `run` fails with, or its verdict once the recording is saved (a
/// run that lost messages is a whole run, worth its recording);
/// [`Error::Record`](crate::base::Error::Record) when the VCD file cannot be
/// written; a bind error for the page's address.
pub async fn observed<F, Fut>(
    vcd: Option<PathBuf>,
    web: Option<String>,
    panel: Panel,
    tls: &TlsFiles,
    mut shutdown: Shutdown,
    run: F,
) -> Result<()>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(String, Result<()>)>>,
{
    let recording = Recording::start(vcd, web.is_some())?;
    let analyzer = match (&web, &recording) {
        (Some(address), Some(recording)) => {
            Some(Analyzer::start(address, recording.trace(), panel, tls, shutdown.clone()).await?)
        }
        _ => None,
    };
    let (line, verdict) = run(shutdown.clone()).await?;
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
