//! One model of a circuit, whoever wrote it (a circuit file, code): the
//! [`Draft`] as written, settings by name, and the [`Plan`] that the check
//! makes of it, settings resolved, ready to run.

use std::sync::Arc;

use crate::app::circuit::command_sketch::CommandSketch;
use crate::app::flags::run::Published;
use crate::base::settings::Setting;
use crate::observe::analyzer::Tally;

/// A circuit as written, before the check: settings by their long names,
/// sketches of a kind the writer could not find kept for their names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Draft {
    /// Its name, in log lines and the summary.
    pub(crate) name: String,
    /// One line saying what it does, for `--help`.
    pub(crate) about: Option<String>,
    /// Its sketches, in the order written.
    pub(crate) sketches: Vec<DraftSketch>,
    /// What its summary line counts, in the order written.
    pub(crate) counts: Vec<Tally>,
    /// Where its signals are published (`mqtt`, `home-assistant`), unless
    /// the command line says (`--mqtt`, `--home-assistant`).
    pub(crate) published: Option<Published>,
}

/// One sketch of a [`Draft`].
#[derive(Clone, Debug)]
pub(crate) struct DraftSketch {
    /// Its name in the circuit.
    pub(crate) name: String,
    /// Its kind, as an index into the kinds checked against; `None` when the
    /// writer found no such kind (and said so).
    pub(crate) kind: Option<usize>,
    /// For a timer: where it sends.
    pub(crate) to: Option<Given>,
    /// Its settings, by name, in the order written.
    pub(crate) settings: Vec<Written>,
    /// Where it is placed, for circuits across hosts.
    pub(crate) host: Option<String>,
    /// For a command sketch (`command = [...]`): its program, and how it runs.
    pub(crate) command: Option<Arc<CommandSketch>>,
}

/// A setting as written (or one of the framework's options, such as
/// `ping-interval`): its flag's long name and the values given to it.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// The setting's long name, `--long`.
    pub(crate) long: String,
    /// Its values, as text or as sketches to link to.
    pub(crate) values: Vec<Given>,
}

/// A circuit, checked: every sketch of a known kind, every setting known and
/// every value parsed once; ready to run.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Its name, in log lines and the summary.
    pub(crate) name: String,
    /// One line saying what it does, for `--help`.
    pub(crate) about: Option<String>,
    /// Its sketches, in the order written.
    pub(crate) sketches: Vec<PlannedSketch>,
    /// What its summary line counts, in the order written.
    pub(crate) counts: Vec<Tally>,
    /// Where its signals are published (`mqtt`, `home-assistant`), unless
    /// the command line says (`--mqtt`, `--home-assistant`).
    pub(crate) published: Option<Published>,
    /// `up --host H`: only the sketches placed on H run here.
    pub(crate) here: Option<String>,
}

/// One sketch of a [`Plan`], ready to be started once its peers' ports are known.
#[derive(Clone, Debug)]
pub(crate) struct PlannedSketch {
    /// Its name in the circuit.
    pub(crate) name: String,
    /// Its kind, as an index into the kinds it was checked against.
    pub(crate) kind: usize,
    /// For a timer: where it sends (a sketch, or a URL as text).
    pub(crate) to: Option<Given>,
    /// The values its settings were given, as text or as sketches to link to.
    pub(crate) given: Vec<(&'static Setting, Vec<Given>)>,
    /// The framework's options it was given (`ping-interval = 1`), checked,
    /// as its command line takes them: `--ping-interval=1`.
    pub(crate) options: Vec<String>,
    /// Where it is placed, for circuits across hosts.
    pub(crate) host: Option<String>,
    /// For a command sketch: its program, and how it runs.
    pub(crate) command: Option<Arc<CommandSketch>>,
}

impl PlannedSketch {
    /// The sketches of the circuit that this one links or sends to (for a
    /// command sketch: those its placeholders name).
    pub(crate) fn targets(&self) -> Vec<&str> {
        let linked = self.given.iter().flat_map(|(_, given)| given);
        let mut targets: Vec<&str> = linked
            .chain(&self.to)
            .filter_map(|given| match given {
                Given::Sketch(target) => Some(target.sketch.as_str()),
                Given::Text(_) => None,
            })
            .collect();
        if let Some(command) = &self.command {
            targets.extend(
                command
                    .named()
                    .into_iter()
                    .filter(|named| *named != self.name),
            );
        }
        targets
    }
}

/// Where a sketch sends outside its circuit: a link or a timer's target
/// given as a URL or a name found by DNS-SD, or a link left out of the
/// circuit, which goes to its default URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Leaving {
    /// The link's setting, by its long name; `None` for a timer's target (`to`).
    pub(crate) link: Option<&'static str>,
    /// Where it goes, as written (or as its default reads).
    pub(crate) url: String,
}

impl PlannedSketch {
    /// Where this sketch (whose kind has `settings`) sends outside the
    /// circuit, in the order of its settings, its target last.
    pub(crate) fn leaving(&self, settings: &'static [Setting]) -> Vec<Leaving> {
        let mut leaving = Vec::new();
        for setting in settings.iter().filter(|setting| setting.link.is_some()) {
            let given = self
                .given
                .iter()
                .find(|(had, _)| had.id == setting.id)
                .map(|(_, values)| values);
            let texts: Vec<String> = match given {
                Some(values) => values
                    .iter()
                    .filter_map(|value| match value {
                        Given::Text(text) => Some(text.clone()),
                        Given::Sketch(_) => None,
                    })
                    .collect(),
                None => setting.default.map(str::to_owned).into_iter().collect(),
            };
            leaving.extend(texts.into_iter().map(|url| Leaving {
                link: Some(setting.long),
                url,
            }));
        }
        if let Some(Given::Text(url)) = &self.to {
            leaving.push(Leaving {
                link: None,
                url: url.clone(),
            });
        }
        leaving
    }
}

/// One value given to a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Given {
    /// Text for the setting's parser (a URL, for a link).
    Text(String),
    /// A link to a sketch of the circuit.
    Sketch(Target),
}

/// A sketch of the circuit, on a path of its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The sketch's name in the circuit.
    pub(crate) sketch: String,
    /// The path, when written as `name/path`.
    pub(crate) path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::wiring::MessageType;

    /// A link setting called `long`, with `default`.
    const fn link(long: &'static str, default: Option<&'static str>) -> Setting {
        Setting {
            id: long,
            long,
            short: None,
            value_name: "URL",
            help: "",
            default,
            switch: false,
            repeats: true,
            link: Some(MessageType::ANY_TEXT),
            parse: |_| Err("not parsed here".to_owned()),
        }
    }

    static SETTINGS: [Setting; 3] = [
        link("buzzer", Some("ws://localhost:8766/pin")),
        link("fan", Some("ws://localhost:8771/fan")),
        link("tap", None),
    ];

    #[test]
    fn a_sketch_leaves_the_circuit_by_a_url_a_default_or_its_target() {
        let sketch = |given: Vec<Given>, to: Option<Given>| PlannedSketch {
            name: "pin".to_owned(),
            kind: 0,
            to,
            given: vec![(&SETTINGS[0], given)],
            host: None,
            options: Vec::new(),
            command: None,
        };
        let inside = Given::Sketch(Target {
            sketch: "buzzer".to_owned(),
            path: None,
        });
        // The buzzer is a sketch of the circuit; the fan, left out, goes to its default.
        let leaving = sketch(vec![inside.clone()], Some(inside.clone())).leaving(&SETTINGS);
        assert_eq!(
            leaving,
            [Leaving {
                link: Some("fan"),
                url: "ws://localhost:8771/fan".to_owned()
            }]
        );
        let url = Given::Text("ws://127.0.0.1:9/pin".to_owned());
        let away = Given::Text("dns-sd:clock".to_owned());
        let leaving = sketch(vec![inside, url], Some(away)).leaving(&SETTINGS);
        let found: Vec<(Option<&str>, &str)> = leaving
            .iter()
            .map(|leaving| (leaving.link, leaving.url.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (Some("buzzer"), "ws://127.0.0.1:9/pin"),
                (Some("fan"), "ws://localhost:8771/fan"),
                (None, "dns-sd:clock"),
            ]
        );
    }
}
