//! One model of a circuit, whoever wrote it (a circuit file, code): the
//! [`Draft`] as written, settings by name, and the [`Plan`] that the check
//! makes of it, settings resolved, ready to run.

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
}

impl PlannedSketch {
    /// The sketches of the circuit that this one links or sends to.
    pub(crate) fn targets(&self) -> Vec<&str> {
        let linked = self.given.iter().flat_map(|(_, given)| given);
        linked
            .chain(&self.to)
            .filter_map(|given| match given {
                Given::Sketch(target) => Some(target.sketch.as_str()),
                Given::Text(_) => None,
            })
            .collect()
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
