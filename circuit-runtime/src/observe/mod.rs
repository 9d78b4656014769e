//! The observation layer: the `[ name ] text` log lines, a timer's progress
//! bar, the signals sketches record, their VCD file and what the live
//! analyzer page shows. Built on `base` only.

pub(crate) mod analyzer;
pub(crate) mod console;
pub mod inputs;
pub(crate) mod log;
pub(crate) mod merge;
pub(crate) mod outputs;
pub(crate) mod progress;
pub(crate) mod recording;
pub(crate) mod signal;
pub(crate) mod trace;
pub(crate) mod value;
pub(crate) mod vcd;
pub(crate) mod writer;

pub use log::MESSAGES;
pub use signal::signal;
pub use value::Value;
