//! Settings in generated code: reading a setting's text, its default, its
//! value when the sketch is built, and the sketch's random sources.

use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;

use crate::base::rng::Rng;
use crate::base::settings::{Parsed, Values};
use crate::net::send::link::Link;

/// A type a setting may have: read from its text.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a setting: it cannot be read from the command line",
    label = "this type has no `FromStr` with a displayable error, or is not `Clone + Send + Sync`",
    note = "use a number, `bool`, `String`, `Link`, or a type of your own that implements `FromStr` and `Clone`; a `Vec` or an `Option` of one of these"
)]
pub trait SettingValue: Clone + Send + Sync + 'static {
    /// Reads the value from its text.
    fn parse_setting(text: &str) -> Result<Self, String>;
}

impl<T> SettingValue for T
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: Display,
{
    fn parse_setting(text: &str) -> Result<Self, String> {
        text.parse().map_err(|err: T::Err| err.to_string())
    }
}

/// Reads a setting of type `T` from its text: a `Setting`'s parser.
///
/// # Errors
/// Why the text is not a `T`.
pub fn parse<T: SettingValue>(text: &str) -> Result<Parsed, String> {
    T::parse_setting(text).map(|value| Arc::new(value) as Parsed)
}

/// A value written as a setting's default: the setting's own type, or text it parses from.
#[diagnostic::on_unimplemented(
    message = "a default of type `{A}` does not fit a setting of type `{Self}`",
    label = "write a `{Self}` here",
    note = "a `Link` or `String` setting also takes a string literal"
)]
pub trait FromDefault<A> {
    /// Turns the default into the setting's value.
    fn from_default(value: A) -> Self;
}

impl<T> FromDefault<T> for T {
    fn from_default(value: T) -> T {
        value
    }
}

impl FromDefault<&'static str> for String {
    fn from_default(value: &'static str) -> String {
        value.to_owned()
    }
}

impl<M> FromDefault<&'static str> for Link<M> {
    fn from_default(value: &'static str) -> Link<M> {
        value
            .parse()
            .unwrap_or_else(|err| panic!("the default link is not valid: {err}"))
    }
}

impl<A, T: FromDefault<A>, const N: usize> FromDefault<[A; N]> for Vec<T> {
    fn from_default(values: [A; N]) -> Vec<T> {
        values.into_iter().map(T::from_default).collect()
    }
}

/// The value of setting `id`, or its default when none was given.
pub fn setting<T: Clone + Send + Sync + 'static>(
    values: &mut Values,
    id: &str,
    default: impl FnOnce() -> T,
) -> T {
    values.take(id).unwrap_or_else(default)
}

/// The values of a `Vec` setting `id` (every time its flag was given), or its default.
pub fn setting_list<T: Clone + Send + Sync + 'static>(
    values: &mut Values,
    id: &str,
    default: impl FnOnce() -> Vec<T>,
) -> Vec<T> {
    values.take_all(id).unwrap_or_else(default)
}

/// The value of an `Option` setting `id`: `Some` when its flag was given, else its default.
pub fn setting_option<T: Clone + Send + Sync + 'static>(
    values: &mut Values,
    id: &str,
    default: impl FnOnce() -> Option<T>,
) -> Option<T> {
    values.take(id).or_else(default)
}

/// The random source number `index` of a sketch: seeded from `--seed` when given.
pub fn rng(values: &Values, index: u64) -> Rng {
    match values.seed() {
        Some(seed) => Rng::seeded(seed.wrapping_add(index)),
        None => Rng::from_entropy(),
    }
}
