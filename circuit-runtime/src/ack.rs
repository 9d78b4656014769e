//! What a loop may take as its message and return as its acknowledgement.

use std::str::FromStr;

/// The acknowledgement sent when a loop returns nothing.
pub const NO_ACK: &str = "n/a";

/// A value a `#[reactive]` loop may return: it becomes the text frame sent back.
///
/// `()` and `None` become `n/a`; `Err(e)` becomes `error: e`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an acknowledgement",
    label = "a `#[reactive]` loop returns the acknowledgement for each message",
    note = "return a `String`, a `&str`, a number, a `bool`, `()`, or an `Option` or `Result` of one"
)]
pub trait IntoAck {
    /// Turns the loop's return value into the text sent back to the peer.
    fn into_ack(self) -> String;
}

impl IntoAck for () {
    fn into_ack(self) -> String {
        NO_ACK.to_owned()
    }
}

impl IntoAck for String {
    fn into_ack(self) -> String {
        self
    }
}

impl IntoAck for &str {
    fn into_ack(self) -> String {
        self.to_owned()
    }
}

impl<T: IntoAck> IntoAck for Option<T> {
    fn into_ack(self) -> String {
        self.map_or_else(|| NO_ACK.to_owned(), IntoAck::into_ack)
    }
}

impl<T: IntoAck, E: std::fmt::Display> IntoAck for Result<T, E> {
    fn into_ack(self) -> String {
        match self {
            Ok(value) => value.into_ack(),
            Err(err) => format!("error: {err}"),
        }
    }
}

macro_rules! display_ack {
    ($($ty:ty),*) => {$(
        impl IntoAck for $ty {
            fn into_ack(self) -> String {
                self.to_string()
            }
        }
    )*};
}

display_ack!(bool, char, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// Parses one text frame into the loop's message type.
///
/// A frame that does not parse is answered with an `error: …` acknowledgement
/// instead of reaching the loop.
pub fn parse_message<M>(frame: &str) -> Result<M, String>
where
    M: FromStr,
    M::Err: std::fmt::Display,
{
    frame
        .parse()
        .map_err(|err| format!("error: cannot read {frame:?}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_acknowledged_as_not_available() {
        assert_eq!(().into_ack(), "n/a");
        assert_eq!(None::<u8>.into_ack(), "n/a");
        assert_eq!(Some(7u8).into_ack(), "7");
    }

    #[test]
    fn errors_are_acknowledged_with_their_message() {
        let failed: Result<u8, &str> = Err("too hot");
        assert_eq!(failed.into_ack(), "error: too hot");
    }

    #[test]
    fn messages_parse_or_explain_why_not() {
        assert_eq!(parse_message::<u8>("1"), Ok(1));
        let err = parse_message::<u8>("one").unwrap_err();
        assert!(err.starts_with("error: cannot read \"one\""), "{err}");
    }
}
