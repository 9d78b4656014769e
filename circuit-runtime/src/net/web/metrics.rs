//! The metrics endpoint (`--metrics ADDR`): `GET /metrics` in Prometheus'
//! text format (OpenMetrics when the scraper's Accept asks for it) and
//! `GET /healthz` (200 `ok` while serving; 503 while starting, stopping,
//! or once the run is over), on the framework's page server. The analyzer
//! page serves the same two paths.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::ACCEPT;
use hyper::{Request, StatusCode};

use crate::base::error::Result;
use crate::base::options::TlsFiles;
use crate::base::shutdown::Shutdown;
use crate::net::web::server::{self, text, whole, Answer, Served, Site};
use crate::observe::health::{self, Health};
use crate::observe::{log, metrics};

/// A running metrics endpoint.
pub(crate) struct Endpoint {
    /// The server.
    served: Served,
}

impl Endpoint {
    /// Binds `address` (`HOST:PORT`; port 0 picks a free one), logs where
    /// the metrics are, and serves them until `shutdown` fires.
    ///
    /// # Errors
    /// As the page server's: an unknown host, a port taken, an address of
    /// another machine, a certificate that cannot be used.
    pub(crate) async fn start(
        address: &str,
        tls: &TlsFiles,
        shutdown: Shutdown,
    ) -> Result<Endpoint> {
        let served = server::serve(address, Arc::new(Metrics), tls, "metrics", shutdown).await?;
        let address = served.address;
        let scheme = if served.secure { "https" } else { "http" };
        log::scoped("metrics", async {
            if served.secure || address.ip().is_loopback() {
                tracing::info!("metrics on {scheme}://{address}/metrics");
            } else {
                tracing::warn!(
                    "metrics on http://{address}/metrics: plain HTTP, seen by anyone on the network (give --tls-cert and --tls-key for HTTPS)"
                );
            }
        })
        .await;
        Ok(Endpoint { served })
    }

    /// The address the metrics are served on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.served.address
    }

    /// Whether it speaks HTTPS.
    pub(crate) fn secure(&self) -> bool {
        self.served.secure
    }

    /// Waits for the server to end (after its shutdown fired).
    pub(crate) async fn stopped(self) {
        self.served.stopped().await;
    }
}

/// The endpoint's site: the two paths, nothing else.
struct Metrics;

impl Site for Metrics {
    fn answer(&self, request: Request<Incoming>) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        let answer = answer(&request).unwrap_or_else(|| text(StatusCode::NOT_FOUND, "not found\n"));
        Box::pin(std::future::ready(answer))
    }
}

/// The answer to `/metrics` or `/healthz`; `None` for any other path.
pub(crate) fn answer(request: &Request<Incoming>) -> Option<Answer> {
    match request.uri().path() {
        "/metrics" => {
            let openmetrics = request
                .headers()
                .get_all(ACCEPT)
                .iter()
                .filter_map(|accept| accept.to_str().ok())
                .any(|accept| accept.contains("application/openmetrics-text"));
            Some(match metrics::encode(openmetrics) {
                Some((body, kind)) => whole(StatusCode::OK, kind, body),
                None => text(
                    StatusCode::NOT_FOUND,
                    "no metrics: this run was started without --metrics\n",
                ),
            })
        }
        "/healthz" => Some(match health::now() {
            Health::Serving => text(StatusCode::OK, "ok\n"),
            Health::Starting => text(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
            Health::Stopping => text(StatusCode::SERVICE_UNAVAILABLE, "stopping\n"),
            Health::Finished => text(StatusCode::SERVICE_UNAVAILABLE, "finished\n"),
        }),
        _ => None,
    }
}
