//! The `#[sketch]` and `#[reactive]` attribute macros of circuit.
//!
//! Use them through `circuit-runtime`, which re-exports both; the code they
//! generate names only `::circuit_runtime::__private` (or `PATH::__private`
//! under `crate = "PATH"`), so nothing else needs importing. Each attribute parses into a typed model (`model`), checks it
//! and collects every error (`check`), then generates glue (`codegen`); on an
//! error, the user's item is emitted unchanged beside the errors (`fallback`).

#![deny(missing_docs)]

use proc_macro::TokenStream;

mod check;
mod codegen;
mod errors;
mod fallback;
mod model;
mod reactive;
mod sketch;

/// Turns a struct into a sketch: its fields become command-line settings.
///
/// # Grammar
/// ```text
/// #[sketch(name = "iopin", port = 8765)]            // a server sketch
/// #[sketch(every = delay, count = tacks, channel = "/datafeed", to_port = 8765)]   // a timer sketch (the clock)
/// #[sketch(crate = "::my_circuit")]                 // the runtime by another path
/// ```
/// All keys are optional:
/// - `name = "…"`: the name in log lines and the subcommand; by default the
///   struct's name in lower case (`IoPin` → `iopin`).
/// - `port = N`: where a sketch that serves listens, the default of its
///   `-p/--port` (8765 when absent). Not on a timer, which serves nothing.
/// - `every = field`: makes a timer sketch, whose loop runs every `field`
///   seconds (`f64` or `u64`) or every `field` (`Duration`) instead of once per message.
/// - `count = field`: how many ticks a timer sketch sends (a whole number); it
///   gives the progress bar shown when the output is a terminal its length.
/// - `channel = "/path"`: the path a timer sketch sends to (`/` by default).
/// - `to_port = N`: the port of the server a timer sketch sends to, the
///   default of its `-p/--port` (8765 when absent): its *target's* port, as
///   `--to` is its target. Only on a timer; a server's own port is `port`.
/// - `crate = "path"`: where the runtime is, for a program that has
///   `circuit-runtime` under another name (renamed in `Cargo.toml`, or
///   re-exported by a crate of its own); `::circuit_runtime` by default.
///   The generated code names `path::__private`, so `path` must resolve where
///   the sketch is: a crate (`"::my_circuit"`) or a module (`"crate::circuit"`).
///   Give the loop's `#[reactive]` the same key.
///
/// Fields:
/// - `#[setting]` or `#[setting(default = EXPR, short = 'x')]` makes a field a
///   flag, `--field-name VALUE`, with its doc comment as help. Its type must
///   implement `FromStr`; a `Link` setting is an outbound link given as a URL.
/// - A field of type `Rng` is seeded by `--seed N`.
/// - Any other field is plain state, starting from `Default::default()`.
///
/// The sketch's `setup(&mut self)` method, if it has one, runs once before
/// serving; it may return `Result<(), E>` to reject its settings (exit code 2).
///
/// # Example
/// ```
/// use circuit_runtime::prelude::*;
///
/// /// Buzzes when the pin it listens to rises.
/// #[sketch(port = 8766)]
/// struct Buzzer {
///     /// What a buzz says.
///     #[setting(short = 'o', default = "bzzz")]
///     sound: String,
///     level: u8,
/// }
///
/// impl Buzzer {
///     /// Runs once, before serving; an `Err` rejects the settings (exit code 2).
///     fn setup(&mut self) -> Result<(), String> {
///         if self.sound.is_empty() { Err("--sound cannot be empty".into()) } else { Ok(()) }
///     }
///
///     #[reactive]
///     fn listen(&mut self, _channel: &str, level: u8) -> Option<String> {
///         let rising = self.level == 0 && level == 1;
///         self.level = level;
///         rising.then(|| self.sound.clone())
///     }
/// }
///
/// let (buzzer, options) = circuit_runtime::app::parse::<Buzzer, _, _>(["--sound", "beep"]).unwrap();
/// assert_eq!((buzzer.sound.as_str(), options.port), ("beep", 8766));
/// ```
///
/// A timer sketch, like the demo's clock:
/// ```
/// use circuit_runtime::prelude::*;
///
/// /// Counts up to `--upto`, one number every `--pause` seconds.
/// #[sketch(every = pause, channel = "/numbers")]
/// struct Counter {
///     /// Where to stop.
///     #[setting(default = 10)]
///     upto: u64,
///     /// Seconds between two numbers.
///     #[setting(default = 0.5)]
///     pause: f64,
/// }
///
/// impl Counter {
///     #[reactive]
///     fn count(&mut self, tick: u64) -> Option<u64> {
///         (tick < self.upto).then_some(tick + 1)
///     }
/// }
/// # fn main() {}
/// ```
///
/// # What it expands to
/// The struct without the `#[setting]` attributes, and in a `const _` block an
/// `impl Sketch` (name, settings table, construction from parsed flags,
/// `setup`, links) plus `impl Reactive` or `impl Timed` that forwards to the
/// method marked `#[reactive]`.
#[proc_macro_attribute]
pub fn sketch(args: TokenStream, item: TokenStream) -> TokenStream {
    sketch::expand(args.into(), item.into()).into()
}

/// Marks the loop of a sketch: a method in the sketch's `impl` block, of any name.
///
/// # Grammar
/// ```text
/// #[reactive]
/// [async] fn NAME(&mut self, channel: &str, message: M) -> A   // a server sketch
/// [async] fn NAME(&mut self, tick: u64) -> Option<T>           // a timer sketch
///
/// #[reactive(crate = "path")]                                   // the runtime by another path
/// ```
/// - `crate = "path"`: the only key; where the runtime is, as in the
///   sketch's `#[sketch(crate = "path")]`.
/// - `M` is any `FromStr` type: a frame that does not parse is answered with
///   `error: …` and never reaches the loop.
/// - `A` is the acknowledgement: a string, a number, `bool`, `()` or `None`
///   (sent as `n/a`), or an `Option` or `Result` of one.
/// - A timer loop returns `Some(message)` to send a tick and `None` to stop.
///
/// # Example
/// ```
/// use circuit_runtime::prelude::*;
///
/// /// Remembers the last reading of each room.
/// #[sketch]
/// struct Rooms {
///     last: std::collections::HashMap<String, f64>,
/// }
///
/// impl Rooms {
///     #[reactive]
///     async fn record(&mut self, room: &str, celsius: f64) -> Result<String, String> {
///         if celsius.is_nan() {
///             return Err(format!("no temperature for {room}"));
///         }
///         let before = self.last.insert(room.to_owned(), celsius);
///         Ok(before.map_or_else(|| "first".to_owned(), |b| format!("{:+.1}", celsius - b)))
///     }
/// }
/// # fn main() {}
/// ```
///
/// # What it expands to
/// The method as written, plus the loop's facts in a hidden `const` and a
/// hidden method that the sketch's impl calls. For a server loop,
/// `__CIRCUIT_LOOP` says whether it waits (it is `async`) and the message type
/// it takes (`M` as written), and `__circuit_loop` parses the frame, calls the
/// loop, and turns its return value into the acknowledgement. For a timer
/// loop, `__CIRCUIT_SENDS` is the message type it sends (read from its
/// return type), and `__circuit_tick` calls it.
#[proc_macro_attribute]
pub fn reactive(args: TokenStream, item: TokenStream) -> TokenStream {
    reactive::expand(args.into(), item.into()).into()
}
