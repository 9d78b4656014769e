//! A timer sketch in generated code: its period, its number of ticks, and
//! the message each tick sends.

use std::future::Future;
use std::time::Duration;

use crate::base::message::IntoTick;
use crate::base::wiring::MessageType;

/// What the timer loop `tick` (a plain `fn`) sends, read from its type.
pub const fn sent_by<'a, S: 'a, R: IntoTick, F>(_tick: &F) -> MessageType
where
    F: Fn(&'a mut S, u64) -> R,
{
    MessageType::of::<R::Sends>()
}

/// What the timer loop `tick` (an `async fn`) sends, read from its type.
pub const fn sent_by_async<'a, S: 'a, R: IntoTick, F, Fut>(_tick: &F) -> MessageType
where
    F: Fn(&'a mut S, u64) -> Fut,
    Fut: Future<Output = R>,
{
    MessageType::of::<R::Sends>()
}

/// The message a timer loop returned, as text.
pub fn tick(value: impl IntoTick) -> Option<String> {
    value.into_tick()
}

/// A period given as seconds (`f64`, fractions allowed) or as a `Duration`.
#[diagnostic::on_unimplemented(
    message = "`every` must name a field holding seconds (`f64`, `u64`) or a `Duration`, not `{Self}`"
)]
pub trait Period {
    /// The period as a duration; negative or not-a-number seconds count as zero.
    fn period(&self) -> Duration;
}

impl Period for f64 {
    fn period(&self) -> Duration {
        Duration::try_from_secs_f64(*self).unwrap_or(Duration::ZERO)
    }
}

impl Period for u64 {
    fn period(&self) -> Duration {
        Duration::from_secs(*self)
    }
}

impl Period for Duration {
    fn period(&self) -> Duration {
        *self
    }
}

/// The period of a timer sketch.
pub fn period(value: &impl Period) -> Duration {
    value.period()
}

/// A field that holds a number of ticks (`#[sketch(count = field)]`).
#[diagnostic::on_unimplemented(
    message = "`count` takes a field holding a whole number, not `{Self}`",
    label = "a count of ticks"
)]
pub trait Count {
    /// The number, as a count of ticks.
    fn count(&self) -> u64;
}

macro_rules! counts {
    ($($number:ty),*) => {$(
        impl Count for $number {
            fn count(&self) -> u64 {
                u64::from(*self)
            }
        }
    )*};
}
counts!(u8, u16, u32, u64);

impl Count for usize {
    fn count(&self) -> u64 {
        *self as u64
    }
}

/// The number of ticks held by the field named in `count = field`.
pub fn total(count: &impl Count) -> Option<u64> {
    Some(count.count())
}
