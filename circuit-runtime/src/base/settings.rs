//! A sketch's own settings: how each is described (name, help, parser) and
//! the values they were given, wherever those came from.
//!
//! Nothing here knows about the command line: the application layer turns
//! each [`Setting`] into a flag and fills [`Values`] from what was typed.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// A parsed setting value, of the setting's own type.
pub type Parsed = Arc<dyn Any + Send + Sync>;

/// One setting of a sketch, as `#[sketch]` describes it: becomes `--long VALUE`.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The field's name, used as the value's id.
    pub id: &'static str,
    /// The flag, `--long`: the field's name with `-` for `_`.
    pub long: &'static str,
    /// The optional one-letter flag, `-x`.
    pub short: Option<char>,
    /// The placeholder in `--help`, such as `CHANCE`.
    pub value_name: &'static str,
    /// The field's doc comment.
    pub help: &'static str,
    /// The default as the user wrote it, shown in `--help`.
    pub default: Option<&'static str>,
    /// A `bool` setting: a switch that takes no value (`--verbose`).
    pub switch: bool,
    /// Reads the value from its text.
    pub parse: fn(&str) -> Result<Parsed, String>,
}

/// The values given to a sketch's settings, by id; absent ones take their defaults.
#[derive(Default)]
pub struct Values {
    /// Each given value, of its setting's type.
    given: HashMap<&'static str, Parsed>,
    /// `--seed N`, for the sketch's random sources.
    seed: Option<u64>,
}

impl Values {
    /// No values given: every setting takes its default.
    pub fn new() -> Self {
        Values::default()
    }

    /// Gives setting `id` its value.
    pub fn insert(&mut self, id: &'static str, value: Parsed) {
        self.given.insert(id, value);
    }

    /// Sets the seed of the sketch's random sources.
    pub fn set_seed(&mut self, seed: Option<u64>) {
        self.seed = seed;
    }

    /// The seed of the sketch's random sources, when one was given.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Takes the value of setting `id`, if one was given and it is a `T`.
    pub fn take<T: Clone + Send + Sync + 'static>(&mut self, id: &str) -> Option<T> {
        let value = self.given.remove(id)?;
        let value: Arc<T> = value.downcast().ok()?;
        Some(Arc::try_unwrap(value).unwrap_or_else(|shared| T::clone(&shared)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_taken_once_and_only_as_its_own_type() {
        let mut values = Values::new();
        values.insert("sequence", Arc::new(3usize));
        values.insert("sound", Arc::new("beep".to_owned()));
        assert_eq!(values.take::<u64>("sequence"), None);
        values.insert("sequence", Arc::new(3usize));
        assert_eq!(values.take::<usize>("sequence"), Some(3));
        assert_eq!(values.take::<usize>("sequence"), None);
        assert_eq!(values.take::<String>("sound").as_deref(), Some("beep"));
    }
}
