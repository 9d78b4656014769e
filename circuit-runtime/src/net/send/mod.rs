//! Sending to a server: a sketch's links and the task that delivers for each,
//! the links' start and end, and the driver of a timer sketch.

pub(crate) mod delivery;
pub(crate) mod link;
pub(crate) mod outbound;
pub(crate) mod timer;
