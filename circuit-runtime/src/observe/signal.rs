//! [`signal`]: what a sketch records about itself, such as a pin's level or a
//! temperature, for the VCD file and the live analyzer.
//!
//! Recording is off until a command asks for it (`--vcd`, `--web`); until
//! then [`signal`] is one atomic load and returns, so a sketch may record on
//! every message without paying for it.

use crate::observe::log;
use crate::observe::metrics;
use crate::observe::trace::Trace;
use crate::observe::value::Value;

/// Records a change of signal `name` of the sketch that runs this code.
///
/// `value` is a bit (`bool`), a whole number (unsigned or signed), a real
/// number (`f64`, `f32`) or text (`&str`, `String`). Nothing is converted,
/// allocated or formatted unless a recording was asked for (`--vcd FILE`, or
/// `--web ADDR` on `circuit`); with `--metrics`, each value is counted
/// (`circuit_signal_changes_total`), without a lock.
pub fn signal<V: Into<Value>>(name: &'static str, value: V) {
    metrics::signal(name);
    if let Some(trace) = Trace::installed() {
        trace.record(log::current(), name, value.into());
    }
}
