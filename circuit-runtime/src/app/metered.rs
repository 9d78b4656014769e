//! A run with its metrics served (`--metrics ADDR`): the endpoint is up
//! before the sketches start (its health says `starting`) and, after a run
//! that ended by itself, stays up with the final counts until Ctrl-C, so
//! that a scraper reads what the end-of-run lines say.

use std::future::Future;

use crate::base::error::{Error, Result};
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::web::metrics::Endpoint;
use crate::observe::{health, metrics};

/// Runs `run`, with metrics on and served on `address` when one is given
/// (over HTTPS with `tls`'s certificate beyond loopback).
///
/// # Errors
/// A bind error for the address; what `run` fails with.
pub(crate) async fn metered<Fut>(
    address: Option<&str>,
    tls: &TlsFiles,
    mut shutdown: Shutdown,
    run: Fut,
) -> Result<()>
where
    Fut: Future<Output = Result<()>>,
{
    let Some(address) = address else {
        return run.await;
    };
    metrics::enable();
    let endpoint = Endpoint::start(address, tls, shutdown.clone()).await?;
    let ran = run.await;
    health::finished();
    // A run that could not start or failed has nothing worth waiting for;
    // one that lost messages is a whole run, worth its counts.
    let whole = matches!(ran, Ok(()) | Err(Error::Losses(_)));
    if whole && !shutdown.is_triggered() {
        let scheme = if endpoint.secure() { "https" } else { "http" };
        tracing::info!(
            "run finished; its metrics stay up at {scheme}://{}/metrics until Ctrl-C",
            endpoint.local_addr()
        );
        shutdown.wait().await;
    }
    endpoint.stopped().await;
    ran
}
