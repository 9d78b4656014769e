//! The framework's own web pages, on hyper: an HTTP server for them
//! (`server`), the live logic-analyzer page with its event stream (`page`),
//! and the metrics endpoint with its health (`metrics`).

pub(crate) mod metrics;
pub(crate) mod page;
pub(crate) mod server;

pub use page::Analyzer;
