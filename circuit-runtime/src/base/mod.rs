//! The bottom layer: what a sketch is, what travels on a wire, how a sketch
//! is configured, what can go wrong, how everything stops, and whether the
//! clock is real or simulated. It imports nothing else of the runtime.

pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod features;
pub(crate) mod message;
pub(crate) mod options;
pub(crate) mod rng;
pub(crate) mod settings;
pub(crate) mod shutdown;
pub(crate) mod sketch;
pub(crate) mod wiring;

pub use error::{Error, Result};
pub use features::Feature;
pub use message::{Ack, FromBytes, IntoAck, IntoTick, Payload, NO_ACK};
pub use options::{Limits, LinkOptions, Options, TlsFiles, Token, TOKEN_VAR};
pub use rng::Rng;
pub use settings::{Parsed, Setting, Values};
pub use shutdown::Shutdown;
pub use sketch::{
    LinkReport, Loop, Outbound, Reactive, RunReport, Running, Runs, Sketch, Starting, Timed,
    DEFAULT_PORT,
};
pub use wiring::{
    Accepts, AnyText, LinkSetting, Message, MessageType, Plain, Sendable, ServerLoop, TimerLoop,
    Waiting,
};
