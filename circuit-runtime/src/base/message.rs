//! What travels on a wire: a [`Payload`] (text or binary) in each direction,
//! and the [`Ack`] a loop's message leads to.
//!
//! A payload keeps the bytes as the WebSocket library handed them over
//! (reference-counted, never copied), so receiving a frame, handing it to a
//! loop and sending a fixed answer such as `n/a` allocate nothing.

use std::fmt::{self, Display};

use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// The acknowledgement sent when a loop returns nothing.
pub const NO_ACK: &str = "n/a";

/// One message, as received or as sent back: a text frame or a binary frame.
#[derive(Clone, PartialEq, Eq)]
pub enum Payload {
    /// A text frame (valid UTF-8).
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
}

impl Payload {
    /// A text payload.
    pub fn text(text: impl Into<String>) -> Self {
        Payload::Text(Utf8Bytes::from(text.into()))
    }

    /// A text payload of fixed text, without allocating.
    pub const fn fixed(text: &'static str) -> Self {
        Payload::Text(Utf8Bytes::from_static(text))
    }

    /// A binary payload.
    pub fn binary(bytes: impl Into<Vec<u8>>) -> Self {
        Payload::Binary(Bytes::from(bytes.into()))
    }

    /// The text, when this is a text payload.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Payload::Text(text) => Some(text.as_str()),
            Payload::Binary(_) => None,
        }
    }

    /// The bytes, of either kind (a text payload's UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Text(text) => text.as_bytes(),
            Payload::Binary(bytes) => bytes,
        }
    }
}

impl fmt::Debug for Payload {
    /// As the frame would be written: `Text("5")` or `Binary([1, 2])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Text(text) => f.debug_tuple("Text").field(&text.as_str()).finish(),
            Payload::Binary(bytes) => f.debug_tuple("Binary").field(&&bytes[..]).finish(),
        }
    }
}

impl Display for Payload {
    /// Text as it is; binary as its length, since it may not be printable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Text(text) => f.write_str(text),
            Payload::Binary(bytes) => write!(f, "<{} bytes>", bytes.len()),
        }
    }
}

/// What one message led to: the answer to send back, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ack {
    /// Sent back to the peer as the acknowledgement.
    Reply(Payload),
    /// The loop does not take this kind of frame (binary for a text loop): the
    /// connection closes with 1003.
    Unsupported,
    /// The loop panicked on this message (with the panic's text): the
    /// connection closes with 1011 and the sketch carries on.
    Panicked(String),
}

/// A value a `#[reactive]` loop may return: it becomes the [`Ack`] sent back.
///
/// `()` and `None` become `n/a`; `Err(e)` becomes `error: e`; bytes go back binary.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an acknowledgement",
    label = "a `#[reactive]` loop returns the acknowledgement for each message",
    note = "return a `String`, a `&str`, a number, a `bool`, `()`, bytes (`Vec<u8>`, `Payload`), or an `Option` or `Result` of one"
)]
pub trait IntoAck {
    /// Turns the loop's return value into the acknowledgement.
    fn into_ack(self) -> Ack;
}

impl IntoAck for Ack {
    fn into_ack(self) -> Ack {
        self
    }
}

impl IntoAck for Payload {
    fn into_ack(self) -> Ack {
        Ack::Reply(self)
    }
}

impl IntoAck for () {
    fn into_ack(self) -> Ack {
        Ack::Reply(Payload::fixed(NO_ACK))
    }
}

impl IntoAck for String {
    fn into_ack(self) -> Ack {
        Ack::Reply(Payload::text(self))
    }
}

impl IntoAck for &str {
    fn into_ack(self) -> Ack {
        Ack::Reply(Payload::text(self))
    }
}

impl IntoAck for Vec<u8> {
    fn into_ack(self) -> Ack {
        Ack::Reply(Payload::binary(self))
    }
}

impl IntoAck for bool {
    fn into_ack(self) -> Ack {
        Ack::Reply(Payload::fixed(if self { "true" } else { "false" }))
    }
}

impl<T: IntoAck> IntoAck for Option<T> {
    fn into_ack(self) -> Ack {
        self.map_or_else(|| ().into_ack(), IntoAck::into_ack)
    }
}

impl<T: IntoAck, E: Display> IntoAck for Result<T, E> {
    fn into_ack(self) -> Ack {
        match self {
            Ok(value) => value.into_ack(),
            Err(err) => Ack::Reply(Payload::text(format!("error: {err}"))),
        }
    }
}

macro_rules! display_ack {
    ($($ty:ty),*) => {$(
        impl IntoAck for $ty {
            fn into_ack(self) -> Ack {
                Ack::Reply(Payload::text(self.to_string()))
            }
        }
    )*};
}

display_ack!(char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// A message type that takes bytes: binary frames reach it (and text frames, as their bytes).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take bytes",
    note = "a loop takes bytes as `Payload`, `Vec<u8>` or `Bytes`; any other message type is parsed from text with `FromStr`"
)]
pub trait FromBytes: Sized {
    /// The message, from a payload of either kind.
    fn from_payload(payload: &Payload) -> Self;
}

impl FromBytes for Payload {
    fn from_payload(payload: &Payload) -> Self {
        payload.clone()
    }
}

impl FromBytes for Vec<u8> {
    fn from_payload(payload: &Payload) -> Self {
        payload.as_bytes().to_vec()
    }
}

impl FromBytes for Bytes {
    fn from_payload(payload: &Payload) -> Self {
        match payload {
            Payload::Text(text) => Bytes::clone(text.as_ref()),
            Payload::Binary(bytes) => bytes.clone(),
        }
    }
}

/// What a timer loop may return: the next message, or `None` when done.
#[diagnostic::on_unimplemented(
    message = "a timer loop must return `Option<T>` with a displayable `T`, not `{Self}`",
    label = "`Some(message)` sends a tick, `None` ends the run"
)]
pub trait IntoTick {
    /// The type of the message sent.
    type Sends: 'static;

    /// The text to send, if any.
    fn into_tick(self) -> Option<String>;
}

impl<T: Display + 'static> IntoTick for Option<T> {
    type Sends = T;

    fn into_tick(self) -> Option<String> {
        self.map(|message| message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ack: Ack) -> String {
        match ack {
            Ack::Reply(Payload::Text(text)) => text.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }

    #[test]
    fn nothing_is_acknowledged_as_not_available() {
        assert_eq!(text(().into_ack()), "n/a");
        assert_eq!(text(None::<u8>.into_ack()), "n/a");
        assert_eq!(text(Some(7u8).into_ack()), "7");
    }

    #[test]
    fn errors_are_acknowledged_with_their_message() {
        let failed: Result<u8, &str> = Err("too hot");
        assert_eq!(text(failed.into_ack()), "error: too hot");
    }

    #[test]
    fn bytes_go_back_binary_and_payloads_keep_their_kind() {
        assert_eq!(
            vec![1u8, 2].into_ack(),
            Ack::Reply(Payload::binary(vec![1, 2]))
        );
        assert_eq!(
            Payload::text("hi").into_ack(),
            Ack::Reply(Payload::text("hi"))
        );
        assert_eq!(Vec::<u8>::from_payload(&Payload::text("x")), b"x");
        assert_eq!(
            Payload::from_payload(&Payload::binary([1])),
            Payload::binary([1])
        );
    }
}
