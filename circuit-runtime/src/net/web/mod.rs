//! The framework's own web pages, on hyper: an HTTP server for them
//! (`server`), and the live logic-analyzer page with its event stream (`page`).

pub(crate) mod page;
pub(crate) mod server;

pub use page::Analyzer;
