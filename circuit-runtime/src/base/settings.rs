//! A sketch's own settings: how each is described (name, help, parser) and
//! the values they were given, wherever those came from.
//!
//! Nothing here knows about the command line: the application layer turns
//! each [`Setting`] into a flag and fills [`Values`] from what was typed.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use crate::base::wiring::MessageType;

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
    /// A `Vec<T>` setting: the flag may be given several times, or a comma list.
    pub repeats: bool,
    /// Its values are links, sending this type: a circuit file may name a
    /// sketch instead of a URL, one whose loop takes what the link sends.
    pub link: Option<MessageType>,
    /// Reads the value from its text.
    pub parse: fn(&str) -> Result<Parsed, String>,
}

/// The values given to a sketch's settings, by id; absent ones take their defaults.
#[derive(Default)]
pub struct Values {
    /// The values given to each setting, in order, of its value type.
    given: HashMap<&'static str, Vec<Parsed>>,
    /// `--seed N`, for the sketch's random sources.
    seed: Option<u64>,
}

impl Values {
    /// No values given: every setting takes its default.
    pub fn new() -> Self {
        Values::default()
    }

    /// Gives setting `id` a value (one more, for a setting that repeats).
    pub fn insert(&mut self, id: &'static str, value: Parsed) {
        self.given.entry(id).or_default().push(value);
    }

    /// Sets the seed of the sketch's random sources.
    pub fn set_seed(&mut self, seed: Option<u64>) {
        self.seed = seed;
    }

    /// The seed of the sketch's random sources, when one was given.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Takes the value of setting `id`, if one was given and it is a `T`
    /// (the last one, when it was given several times).
    pub fn take<T: Clone + Send + Sync + 'static>(&mut self, id: &str) -> Option<T> {
        self.take_all(id)?.pop()
    }

    /// Takes every value given to setting `id`, in order, if they are `T`s.
    pub fn take_all<T: Clone + Send + Sync + 'static>(&mut self, id: &str) -> Option<Vec<T>> {
        self.given
            .remove(id)?
            .into_iter()
            .map(|value| {
                let value: Arc<T> = value.downcast().ok()?;
                Some(Arc::try_unwrap(value).unwrap_or_else(|shared| T::clone(&shared)))
            })
            .collect()
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

    #[test]
    fn a_repeated_setting_keeps_every_value_in_order() {
        let mut values = Values::new();
        for url in ["a", "b", "c"] {
            values.insert("buzzers", Arc::new(url.to_owned()));
        }
        assert_eq!(
            values.take_all::<String>("buzzers"),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        values.insert("level", Arc::new(1u8));
        values.insert("level", Arc::new(2u8));
        assert_eq!(
            values.take::<u8>("level"),
            Some(2),
            "the last one given wins"
        );
    }
}
