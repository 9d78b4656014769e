//! A histogram that takes an observation without a lock: one atomic count
//! per fixed bucket, and the sum as the bits of an `f64`
//! (prometheus-client's own `Histogram` locks on every observation).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// The buckets' upper bounds, in seconds: from 10 µs (a loop that answers
/// at once) to 10 s (a peer that takes its time to acknowledge).
pub(crate) const SECONDS: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// A histogram of fixed buckets, shared by its clones.
#[derive(Debug, Clone)]
pub(crate) struct AtomicHistogram {
    /// The buckets' upper bounds, ascending; `+Inf` follows them.
    bounds: &'static [f64],
    /// The observations in each bucket (not cumulative), `+Inf` last.
    counts: Arc<[AtomicU64]>,
    /// The sum of the observations, as `f64::to_bits`.
    sum: Arc<AtomicU64>,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram::new(SECONDS)
    }
}

impl AtomicHistogram {
    /// An empty histogram with buckets up to `bounds`, then `+Inf`.
    pub(crate) fn new(bounds: &'static [f64]) -> Self {
        AtomicHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: Arc::new(AtomicU64::new(0f64.to_bits())),
        }
    }

    /// Counts one observation `value`: two atomic operations, no lock.
    pub(crate) fn observe(&self, value: f64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket].fetch_add(1, Relaxed);
        let _ = self.sum.fetch_update(Relaxed, Relaxed, |sum| {
            Some((f64::from_bits(sum) + value).to_bits())
        });
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // A scrape may see the count and the sum a little out of step.
        let buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(self.counts.iter().map(|count| count.load(Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, count)| count).sum();
        let sum = f64::from_bits(self.sum.load(Relaxed));
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}
