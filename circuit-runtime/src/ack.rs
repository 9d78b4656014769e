//! What a loop may take as its message and return as its acknowledgement.
//!
//! A message is parsed from one frame: any `FromStr` type from a text frame,
//! or bytes ([`Vec<u8>`], [`Payload`]) from either kind. The acknowledgement is
//! text, except bytes, which go back as a binary frame.

use std::borrow::Cow;
use std::fmt::Display;
use std::marker::PhantomData;
use std::str::FromStr;

/// The acknowledgement sent when a loop returns nothing.
pub const NO_ACK: &str = "n/a";

/// One received frame, as the loop's glue sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text frame (valid UTF-8).
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
}

/// The acknowledgement to send back: a text or a binary frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Sent as a text frame; fixed answers such as `n/a` are borrowed, not allocated.
    Text(Cow<'static, str>),
    /// Sent as a binary frame.
    Binary(Vec<u8>),
}

/// The loop does not take this kind of frame (binary for a text sketch): the
/// connection closes with 1003.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported;

/// What one frame led to: a reply, or a refusal of its kind.
pub type Outcome = Result<Reply, Unsupported>;

/// A message of either kind, kept as it came: what an echo takes and gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// From (or for) a text frame.
    Text(String),
    /// From (or for) a binary frame.
    Binary(Vec<u8>),
}

/// A value a `#[reactive]` loop may return: it becomes the frame sent back.
///
/// `()` and `None` become `n/a`; `Err(e)` becomes `error: e`; bytes go back binary.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an acknowledgement",
    label = "a `#[reactive]` loop returns the acknowledgement for each message",
    note = "return a `String`, a `&str`, a number, a `bool`, `()`, bytes (`Vec<u8>`, `Payload`), or an `Option` or `Result` of one"
)]
pub trait IntoAck {
    /// Turns the loop's return value into the frame sent back to the peer.
    fn into_ack(self) -> Reply;
}

impl IntoAck for () {
    fn into_ack(self) -> Reply {
        Reply::Text(Cow::Borrowed(NO_ACK))
    }
}

impl IntoAck for String {
    fn into_ack(self) -> Reply {
        Reply::Text(Cow::Owned(self))
    }
}

impl IntoAck for &str {
    fn into_ack(self) -> Reply {
        Reply::Text(Cow::Owned(self.to_owned()))
    }
}

impl IntoAck for Vec<u8> {
    fn into_ack(self) -> Reply {
        Reply::Binary(self)
    }
}

impl IntoAck for Payload {
    fn into_ack(self) -> Reply {
        match self {
            Payload::Text(text) => Reply::Text(Cow::Owned(text)),
            Payload::Binary(bytes) => Reply::Binary(bytes),
        }
    }
}

impl<T: IntoAck> IntoAck for Option<T> {
    fn into_ack(self) -> Reply {
        self.map_or_else(|| ().into_ack(), IntoAck::into_ack)
    }
}

impl<T: IntoAck, E: Display> IntoAck for Result<T, E> {
    fn into_ack(self) -> Reply {
        match self {
            Ok(value) => value.into_ack(),
            Err(err) => Reply::Text(Cow::Owned(format!("error: {err}"))),
        }
    }
}

macro_rules! display_ack {
    ($($ty:ty),*) => {$(
        impl IntoAck for $ty {
            fn into_ack(self) -> Reply {
                Reply::Text(Cow::Owned(self.to_string()))
            }
        }
    )*};
}

impl IntoAck for bool {
    fn into_ack(self) -> Reply {
        Reply::Text(Cow::Borrowed(if self { "true" } else { "false" }))
    }
}

display_ack!(char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// A message type that takes bytes: binary frames reach it (and text frames, as their bytes).
pub trait FromBytes: Sized {
    /// The message from one frame.
    fn from_frame(frame: Frame<'_>) -> Self;
}

impl FromBytes for Vec<u8> {
    fn from_frame(frame: Frame<'_>) -> Self {
        match frame {
            Frame::Text(text) => text.as_bytes().to_vec(),
            Frame::Binary(bytes) => bytes.to_vec(),
        }
    }
}

impl FromBytes for Payload {
    fn from_frame(frame: Frame<'_>) -> Self {
        match frame {
            Frame::Text(text) => Payload::Text(text.to_owned()),
            Frame::Binary(bytes) => Payload::Binary(bytes.to_vec()),
        }
    }
}

/// Picks how a loop's message type `M` is read from a frame: as bytes when it
/// takes bytes, else parsed from text. (`&Probe` tries [`ParseBytes`] first;
/// method lookup falls back to [`ParseText`] on `Probe` when `M` takes no bytes.)
pub struct Probe<M>(PhantomData<M>);

impl<M> Probe<M> {
    /// A probe for message type `M`.
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<M> Default for Probe<M> {
    fn default() -> Self {
        Probe::new()
    }
}

/// Reads a message that takes bytes.
pub trait ParseBytes<M> {
    /// The message, from a frame of either kind.
    fn parse(&self, frame: Frame<'_>) -> Result<M, Outcome>;
}

impl<M: FromBytes> ParseBytes<M> for &Probe<M> {
    fn parse(&self, frame: Frame<'_>) -> Result<M, Outcome> {
        Ok(M::from_frame(frame))
    }
}

/// Reads a message parsed from text.
pub trait ParseText<M> {
    /// The message, from a text frame; a binary frame is refused, and text
    /// that does not parse is answered with `error: …`.
    fn parse(&self, frame: Frame<'_>) -> Result<M, Outcome>;
}

impl<M> ParseText<M> for Probe<M>
where
    M: FromStr,
    M::Err: Display,
{
    fn parse(&self, frame: Frame<'_>) -> Result<M, Outcome> {
        match frame {
            Frame::Text(text) => {
                parse_message(text).map_err(|err| Ok(Reply::Text(Cow::Owned(err))))
            }
            Frame::Binary(_) => Err(Err(Unsupported)),
        }
    }
}

/// Parses one text frame into a message, or says why not as an `error: …` text.
pub fn parse_message<M>(frame: &str) -> Result<M, String>
where
    M: FromStr,
    M::Err: Display,
{
    frame
        .parse()
        .map_err(|err| format!("error: cannot read {frame:?}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(reply: Reply) -> String {
        match reply {
            Reply::Text(text) => text.into_owned(),
            Reply::Binary(bytes) => panic!("expected text, got {bytes:?}"),
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
        assert_eq!(vec![1u8, 2].into_ack(), Reply::Binary(vec![1, 2]));
        assert_eq!(
            Payload::Text("hi".into()).into_ack(),
            Reply::Text("hi".into())
        );
    }

    #[test]
    // The borrow is the point: it is how the glue tries bytes before text.
    #[allow(clippy::needless_borrow)]
    fn text_types_refuse_binary_frames_and_bytes_take_both() {
        use super::{ParseBytes as _, ParseText as _};
        let number: Result<u8, Outcome> = (&Probe::<u8>::new()).parse(Frame::Text("7"));
        assert_eq!(number, Ok(7));
        let binary: Result<u8, Outcome> = (&Probe::<u8>::new()).parse(Frame::Binary(&[7]));
        assert_eq!(binary, Err(Err(Unsupported)));
        let bad: Result<u8, Outcome> = (&Probe::<u8>::new()).parse(Frame::Text("seven"));
        assert!(matches!(bad, Err(Ok(Reply::Text(ref e))) if e.starts_with("error: cannot read")));
        let bytes: Result<Vec<u8>, Outcome> =
            (&Probe::<Vec<u8>>::new()).parse(Frame::Binary(&[1, 2]));
        assert_eq!(bytes, Ok(vec![1, 2]));
        let payload: Result<Payload, Outcome> = (&Probe::<Payload>::new()).parse(Frame::Text("x"));
        assert_eq!(payload, Ok(Payload::Text("x".into())));
    }
}
