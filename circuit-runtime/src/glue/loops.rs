//! The loop in generated code: reading the message from a payload, turning
//! the loop's result into the acknowledgement, `setup`'s outcome, and what a
//! sketch gets for the methods it leaves out.

use std::fmt::Display;
use std::future::Future;
use std::str::FromStr;

use crate::base::error::{Error, Result};
use crate::base::message::{Ack, FromBytes, IntoAck, Payload};
use crate::base::sketch::{Loop, Sketch};
use crate::base::wiring::MessageType;

/// Compiles only for sketches: `#[reactive]` checks that its method is in a sketch's `impl`.
pub const fn assert_sketch<S: Sketch>() {}

/// A message type read from text: any `FromStr` with a displayable error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a loop's message",
    label = "a message is parsed from text with `FromStr`",
    note = "take a type that implements `FromStr` (a number, `String`, a type of your own), or bytes as `Payload`, `Vec<u8>` or `Bytes`"
)]
pub trait FromText: Sized {
    /// The message, or why the text is not one.
    fn from_text(text: &str) -> Result<Self, String>;
}

impl<M: FromStr> FromText for M
where
    M::Err: Display,
{
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse().or_else(|err: M::Err| {
            // A peer's "30\n" or " 30 " means 30, as Python's float() reads it.
            // Tried only after the text as it came was refused, so a type that
            // takes any text (a `String`) keeps its spaces, and a message
            // without them costs nothing more.
            let trimmed = text.trim();
            if trimmed.len() < text.len() {
                trimmed.parse().map_err(|_| err.to_string())
            } else {
                Err(err.to_string())
            }
        })
    }
}

/// The message of a loop that takes text; a binary frame is refused, and
/// text that does not parse is answered with `error: cannot read …`.
///
/// # Errors
/// The acknowledgement that answers in the loop's place.
pub fn text<M: FromText>(payload: &Payload) -> Result<M, Ack> {
    let Payload::Text(text) = payload else {
        return Err(Ack::Unsupported);
    };
    M::from_text(text).map_err(|err| {
        Ack::Reply(Payload::text(format!(
            "error: cannot read {:?}: {err}",
            text.as_str()
        )))
    })
}

/// The message of a loop that takes bytes: any frame reaches it.
///
/// # Errors
/// Never; the `Result` only gives both kinds of loop the same glue.
pub fn bytes<M: FromBytes>(payload: &Payload) -> Result<M, Ack> {
    Ok(M::from_payload(payload))
}

/// The acknowledgement for what a loop returned.
pub fn ack(value: impl IntoAck) -> Ack {
    value.into_ack()
}

/// The acknowledgement that answers in the loop's place (a message it cannot
/// read); only a sketch's loop has one, so `S` must be a sketch.
pub fn refused<S: Sketch>(ack: Ack) -> Ack {
    ack
}

/// What `setup` may return: nothing, or a `Result` whose error rejects the settings.
#[diagnostic::on_unimplemented(
    message = "`setup` must return `()` or `Result<(), E>` with a displayable `E`, not `{Self}`",
    label = "this is what `setup` returns",
    note = "`setup` runs once, before serving, and cannot wait: write `fn setup(&mut self)`, not `async fn setup`"
)]
pub trait SetupOutcome {
    /// The outcome as the runtime's result.
    fn into_result(self) -> Result<()>;
}

impl SetupOutcome for () {
    fn into_result(self) -> Result<()> {
        Ok(())
    }
}

impl<E: Display> SetupOutcome for Result<(), E> {
    fn into_result(self) -> Result<()> {
        self.map_err(|err| Error::Setup(err.to_string()))
    }
}

/// The outcome of `setup` as the runtime's result (a rejection exits with 2).
pub fn setup_outcome(outcome: impl SetupOutcome) -> Result<()> {
    outcome.into_result()
}

/// Implemented by nothing: naming it in an error says that a sketch has no loop.
#[diagnostic::on_unimplemented(
    message = "sketch `{Self}` has no loop",
    label = "this sketch serves: it needs a method marked `#[reactive]` that takes `(channel, message)`",
    note = "write `#[reactive] fn NAME(&mut self, channel: &str, message: M) -> A` in `impl {Self}`; a loop that takes only `tick: u64` belongs to a timer sketch (`#[sketch(every = field)]`)"
)]
pub trait HasLoop {}

/// Implemented by nothing: naming it in an error says that a timer sketch has no tick loop.
#[diagnostic::on_unimplemented(
    message = "timer sketch `{Self}` has no tick loop",
    label = "this sketch ticks (`every = …`): it needs a method marked `#[reactive]` that takes `tick: u64`",
    note = "write `#[reactive] fn NAME(&mut self, tick: u64) -> Option<T>` in `impl {Self}`; a loop that takes `(channel, message)` belongs to a sketch that serves (remove `every`)"
)]
pub trait HasTickLoop {}

/// What a sketch gets for what it leaves out. The generated code names
/// `Self::setup`, `Self::__CIRCUIT_LOOP`, `Self::__circuit_loop`, …: an item
/// of the sketch's own wins over these (inherent items come first), so a
/// sketch without `setup` gets one that does nothing, a loop's facts default
/// to any text, and a sketch without a loop gets a single compile error that
/// says so.
pub trait Omitted {
    /// A sketch without `setup` has nothing to set up.
    fn setup(&mut self) {}

    /// What a server loop is: `#[reactive]` on the loop says; a loop with a
    /// compile error (or none) leaves one that takes any text and never waits.
    const __CIRCUIT_LOOP: Loop = Loop {
        waits: false,
        takes: MessageType::ANY_TEXT,
    };

    /// What a timer sends: `#[reactive]` on its loop says what; a loop with a
    /// compile error (or none) leaves any text.
    const __CIRCUIT_SENDS: MessageType = MessageType::ANY_TEXT;

    /// A sketch without a loop: does not compile, with an error that says so.
    fn __circuit_loop(
        &mut self,
        _channel: &str,
        _message: &Payload,
    ) -> impl Future<Output = Ack> + Send
    where
        Self: HasLoop,
    {
        std::future::pending()
    }

    /// A timer sketch without a tick loop: does not compile, with an error that says so.
    fn __circuit_tick(&mut self, _tick: u64) -> impl Future<Output = Option<String>> + Send
    where
        Self: HasTickLoop,
    {
        std::future::pending()
    }
}

impl<T: ?Sized> Omitted for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_refuse_binary_frames_and_bytes_take_both() {
        assert_eq!(text::<u8>(&Payload::text("7")), Ok(7));
        // Surrounding whitespace is read past where the type would refuse it.
        assert_eq!(text::<u8>(&Payload::text(" 7 ")), Ok(7));
        assert_eq!(text::<f64>(&Payload::text("30.5\n")), Ok(30.5));
        assert_eq!(
            text::<String>(&Payload::text(" kept \n")),
            Ok(" kept \n".to_owned())
        );
        assert!(text::<u8>(&Payload::text(" 7 x ")).is_err());
        assert_eq!(text::<u8>(&Payload::binary([7])), Err(Ack::Unsupported));
        let bad = text::<u8>(&Payload::text("seven"));
        assert!(
            matches!(bad, Err(Ack::Reply(Payload::Text(ref e))) if e.starts_with("error: cannot read")),
            "{bad:?}"
        );
        assert_eq!(bytes::<Vec<u8>>(&Payload::binary([1, 2])), Ok(vec![1, 2]));
        assert_eq!(
            bytes::<Payload>(&Payload::text("x")),
            Ok(Payload::text("x"))
        );
    }
}
