//! Sending to a server: a sketch's links and the task that delivers for each,
//! the links' start and end, the driver of a timer sketch, and what keeps
//! their connections alive while idle.

pub(crate) mod delivery;
pub(crate) mod identity;
pub(crate) mod idle;
pub(crate) mod link;
pub(crate) mod outbound;
pub(crate) mod queue;
pub(crate) mod spool;
pub(crate) mod tally;
pub(crate) mod timer;
