//! The bottom layer: what a sketch is, what travels on a wire, how a sketch
//! is configured, what can go wrong (and what a run lost), how everything
//! stops, and whether the clock is real or simulated. It imports nothing
//! else of the runtime.

pub(crate) mod clock;
pub(crate) mod durable;
pub(crate) mod error;
pub(crate) mod features;
pub(crate) mod losses;
pub(crate) mod message;
pub(crate) mod options;
pub(crate) mod rng;
pub(crate) mod settings;
pub(crate) mod shutdown;
pub(crate) mod sketch;
pub(crate) mod wiring;

// What other crates use: a sketch's traits and what its loop takes and
// answers, the options a server or a link is started with, the stop signal.
pub use error::{Error, Result};
pub use losses::Losses;
pub use message::{Ack, FromBytes, IntoAck, Payload};
pub use options::{Limits, LinkOptions, Options, TlsFiles, Token, WhenFull, TOKEN_VAR};
pub use rng::Rng;
pub use shutdown::Shutdown;
pub use sketch::{LinkReport, Reactive, Sketch, Timed};
// Named in the compiler's words when a circuit wired in code links a sketch
// to one whose loop takes something else.
pub use wiring::{Accepts, AnyText};

// The rest is for the runtime's own layers and the macros' glue (through
// `__private`), by their full paths.
