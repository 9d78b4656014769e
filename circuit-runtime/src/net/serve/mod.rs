//! Serving a sketch: the server, how each peer arrives and is served, and how
//! a peer's message reaches the loop.

pub(crate) mod dispatch;
pub(crate) mod peer;
pub(crate) mod server;
