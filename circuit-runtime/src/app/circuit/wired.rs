//! [`Circuit`]: a circuit wired in code, with the power of a circuit file and
//! one thing more: a link to a loop of another type does not compile.
//!
//! ```no_run
//! # use circuit_runtime::prelude::*;
//! # #[sketch(port = 8766)]
//! # struct Buzzer { level: u8 }
//! # impl Buzzer {
//! #     #[reactive]
//! #     fn listen(&mut self, _channel: &str, level: u8) -> bool { level == 1 }
//! # }
//! # #[sketch]
//! # struct IoPin {
//! #     #[setting(default = 3)]
//! #     sequence: usize,
//! #     #[setting(default = ["ws://localhost:8766/pin"])]
//! #     buzzer: Vec<Link<u8>>,
//! # }
//! # impl IoPin {
//! #     #[reactive]
//! #     async fn tick(&mut self, _channel: &str, tick: String) -> String { tick }
//! # }
//! # #[sketch(every = delay, count = tacks, channel = "/datafeed")]
//! # struct Clock {
//! #     #[setting(default = 5)]
//! #     tacks: u64,
//! #     #[setting(default = 1.0)]
//! #     delay: f64,
//! # }
//! # impl Clock {
//! #     #[reactive]
//! #     fn tick(&mut self, tick: u64) -> Option<u64> { (tick < self.tacks).then_some(tick) }
//! # }
//! use circuit_runtime::Circuit;
//!
//! let mut circuit = Circuit::new("demo");
//! let left = circuit.serve("left", Buzzer::listen);
//! let right = circuit.serve("right", Buzzer::listen);
//! let pin = circuit.serve("pin", IoPin::tick);
//! circuit.set(&pin, "sequence", 4);
//! circuit.link(&pin, IoPin::BUZZER, &left); // IoPin::BUZZER sends u8, Buzzer takes u8
//! circuit.link(&pin, IoPin::BUZZER, &right); // a fan-out link: both buzzers
//! let clock = circuit.timer("clock", Clock::tick);
//! circuit.set(&clock, "tacks", 20);
//! circuit.send(&clock, &pin);
//! App::new("demo").wired("circuit", circuit).run();
//! ```
//!
//! A sketch is added with its loop (`Buzzer::listen`): the loop's type says
//! what the sketch takes, and so what may be linked to it. Settings go by
//! their long flag names and are checked, with the names, before anything
//! starts, as a circuit file's are.

use std::any::TypeId;
use std::marker::PhantomData;

use crate::app::circuit::check::{check, Source};
use crate::app::circuit::plan::{Draft, DraftSketch, Given, Plan, Target, Written};
use crate::app::kind::Kind;
use crate::base::sketch::{Reactive, Sketch, Timed};
use crate::base::wiring::{Accepts, LinkSetting, MessageType, ServerLoop, TimerLoop};
use crate::net::send::timer::Ticking;
use crate::net::serve::server::Serving;
use crate::observe::analyzer::{Counting, Tally};

/// A circuit wired in code: sketches, their settings, links and timers.
/// Run it with [`App::wired`](crate::App::wired).
#[derive(Clone)]
pub struct Circuit {
    /// Its name, in log lines and the summary.
    name: String,
    /// The kinds of its sketches.
    kinds: Vec<Kind>,
    /// Its sketches, in the order they were added, their settings by name.
    sketches: Vec<DraftSketch>,
    /// What its summary line counts.
    counts: Vec<Tally>,
    /// Mistakes only code can make (a loop that is not the kind's, a link set
    /// as text, a link or a target given twice), reported with the check's
    /// before anything starts.
    mistakes: Vec<String>,
}

/// A sketch of a [`Circuit`], of kind `S`, whose loop takes `M` (for a
/// server) or which sends `M` (for a timer).
pub struct Handle<S, M> {
    /// Its place in the circuit.
    at: usize,
    /// Its kind and message type.
    of: PhantomData<fn() -> (S, M)>,
}

impl<S, M> Clone for Handle<S, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, M> Copy for Handle<S, M> {}

impl Circuit {
    /// An empty circuit called `name`.
    pub fn new(name: &str) -> Circuit {
        Circuit {
            name: name.to_owned(),
            kinds: Vec::new(),
            sketches: Vec::new(),
            counts: Vec::new(),
            mistakes: Vec::new(),
        }
    }

    /// Counts every change of `signal` (`sketch.name`) for the summary line
    /// and the analyzer page, as `label`: `count("bits drawn", "pin.level")`.
    pub fn count(&mut self, label: &str, signal: &str) {
        self.counting(label, signal, Counting::Samples);
    }

    /// Counts the rises of `signal` (`sketch.name`, a bit) for the summary
    /// line and the analyzer page, as `label`: `count_rises("buzzes", "left.buzz")`.
    pub fn count_rises(&mut self, label: &str, signal: &str) {
        self.counting(label, signal, Counting::Rises);
    }

    /// Adds a count to the summary.
    fn counting(&mut self, label: &str, signal: &str, counting: Counting) {
        self.counts.push(Tally {
            label: label.to_owned(),
            signal: signal.to_owned(),
            count: counting,
        });
    }

    /// Adds server sketch `name`, of the kind whose loop is `looped` (such
    /// as `Buzzer::listen`): its type says what the sketch takes.
    pub fn serve<S, M, R>(&mut self, name: &str, _loop: impl ServerLoop<S, M, R>) -> Handle<S, M>
    where
        S: Reactive<Role = Serving>,
        M: 'static,
    {
        if S::LOOP.takes != MessageType::of::<M>() {
            self.mistakes.push(format!(
                "`{name}`: the loop given takes {}, but {}'s loop takes {}; give its `#[reactive]` method",
                MessageType::of::<M>(),
                S::NAME,
                S::LOOP.takes
            ));
        }
        self.add::<S, M>(name)
    }

    /// Adds timer sketch `name`, of the kind whose loop is `looped` (such as
    /// `Clock::tick`): its type says what the timer sends.
    pub fn timer<S, M, How>(&mut self, name: &str, _loop: impl TimerLoop<S, M, How>) -> Handle<S, M>
    where
        S: Timed<Role = Ticking>,
        M: 'static,
    {
        if S::SENDS != MessageType::of::<M>() {
            self.mistakes.push(format!(
                "`{name}`: the loop given sends {}, but {}'s loop sends {}; give its `#[reactive]` method",
                MessageType::of::<M>(),
                S::NAME,
                S::SENDS
            ));
        }
        self.add::<S, M>(name)
    }

    /// Gives `sketch`'s setting `--long` the value `value`, as a circuit file
    /// would (a setting that repeats takes one more value each time).
    pub fn set<S, M>(&mut self, sketch: &Handle<S, M>, long: &str, value: impl std::fmt::Display) {
        let part = &mut self.sketches[sketch.at];
        let kind = part.kind.map(|kind| &self.kinds[kind]);
        if kind
            .and_then(|kind| kind.setting(long))
            .is_some_and(|setting| setting.link.is_some())
        {
            self.mistakes.push(format!(
                "`{}`'s `{long}` is a link: wire it with `Circuit::link` and `{}`",
                part.name,
                long.replace('-', "_").to_uppercase()
            ));
            return;
        }
        part.settings.push(Written {
            long: long.to_owned(),
            values: vec![Given::Text(value.to_string())],
        });
    }

    /// Links `from`'s link setting `setting` (such as `IoPin::BUZZER`) to the
    /// server `to`. Compiles only when `to`'s loop takes what the link sends;
    /// linking a setting twice fans out when it is a `Vec` of links.
    pub fn link<A, B, Sent, Taken, Any>(
        &mut self,
        from: &Handle<A, Any>,
        setting: LinkSetting<A, Sent>,
        to: &Handle<B, Taken>,
    ) where
        B: Reactive<Role = Serving>,
        Taken: Accepts<Sent>,
    {
        let target = Given::Sketch(Target {
            sketch: self.sketches[to.at].name.clone(),
            path: None,
        });
        let part = &mut self.sketches[from.at];
        let kind = part.kind.map(|kind| &self.kinds[kind]);
        let Some(found) =
            kind.and_then(|kind| kind.settings.iter().find(|known| known.id == setting.id))
        else {
            return; // made by `#[sketch]` from the kind's own settings
        };
        let linked = part
            .settings
            .iter()
            .any(|written| written.long == found.long);
        if linked && !found.repeats {
            self.mistakes.push(format!(
                "`{}` links `{}` twice, and it holds one link; make it a `Vec<Link<…>>` to fan out",
                part.name, found.long
            ));
            return;
        }
        part.settings.push(Written {
            long: found.long.to_owned(),
            values: vec![target],
        });
    }

    /// Points the timer `timer` at the server `to`. Compiles only when `to`'s
    /// loop takes what the timer sends.
    pub fn send<A, B, Sent, Taken>(&mut self, timer: &Handle<A, Sent>, to: &Handle<B, Taken>)
    where
        A: Timed<Role = Ticking>,
        B: Reactive<Role = Serving>,
        Taken: Accepts<Sent>,
    {
        let target = self.sketches[to.at].name.clone();
        let part = &mut self.sketches[timer.at];
        if part.to.is_some() {
            self.mistakes.push(format!(
                "`{}` sends to one sketch, and was given two",
                part.name
            ));
        }
        part.to = Some(Given::Sketch(Target {
            sketch: target,
            path: None,
        }));
    }

    /// Adds sketch `name` of kind `S`.
    fn add<S: Sketch, M>(&mut self, name: &str) -> Handle<S, M> {
        let kind = match self
            .kinds
            .iter()
            .position(|kind| kind.id == TypeId::of::<S>())
        {
            Some(kind) => kind,
            None => {
                self.kinds.push(Kind::of::<S>());
                self.kinds.len() - 1
            }
        };
        self.sketches.push(DraftSketch {
            name: name.to_owned(),
            kind: Some(kind),
            to: None,
            settings: Vec::new(),
            host: None,
            command: None,
        });
        Handle {
            at: self.sketches.len() - 1,
            of: PhantomData,
        }
    }

    /// Every mistake of the wiring that the compiler cannot see (an unknown
    /// setting, a value its parser refuses, a name taken twice, a timer
    /// sending nowhere), as [`App::wired`](crate::App::wired) reports them.
    ///
    /// # Errors
    /// The mistakes, one line each.
    pub fn check(&self) -> Result<(), Vec<String>> {
        self.clone().plan().map(drop)
    }

    /// The circuit ready to run, with its kinds, or every mistake found: the
    /// ones only code makes, then the check's.
    pub(crate) fn plan(self) -> Result<(Plan, Vec<Kind>), Vec<String>> {
        let Circuit {
            name,
            kinds,
            sketches,
            counts,
            mut mistakes,
        } = self;
        let draft = Draft {
            name,
            about: None,
            sketches,
            counts,
            published: None,
        };
        match check(draft, &kinds, Source::Code) {
            Ok(plan) if mistakes.is_empty() => Ok((plan, kinds)),
            Ok(_) => Err(mistakes),
            Err(found) => {
                mistakes.extend(found.into_iter().map(|mistake| mistake.message));
                Err(mistakes)
            }
        }
    }
}
