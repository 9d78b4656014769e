//! The observation layer: the `[ name ] text` log lines, a timer's progress
//! bar, the signals sketches record (those of other hosts merged onto this
//! host's clock, `merge`), their VCD file and what the live analyzer page
//! shows, and the metrics and health a scraper reads. Built
//! on `base` only.

pub(crate) mod analyzer;
pub(crate) mod console;
pub(crate) mod health;
#[cfg(feature = "metrics")]
pub(crate) mod histogram;
pub mod inputs;
pub(crate) mod log;
pub(crate) mod merge;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
#[cfg(not(feature = "metrics"))]
#[path = "metrics_absent.rs"]
// Links show their counts in every build; only a metrics build reads them.
#[allow(dead_code)]
pub(crate) mod metrics;
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
