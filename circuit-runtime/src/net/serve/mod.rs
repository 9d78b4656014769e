//! Serving a sketch: the server, how each peer arrives and is admitted
//! (whatever carries it), its conversation and how it ends, and how its
//! messages reach the loop.

pub(crate) mod accept;
pub(crate) mod arrival;
pub(crate) mod dispatch;
pub(crate) mod door;
pub(crate) mod end;
pub(crate) mod journal;
pub(crate) mod keepalive;
pub(crate) mod peer;
pub(crate) mod processed;
pub(crate) mod server;
pub(crate) mod signals;
pub(crate) mod signals_only;
