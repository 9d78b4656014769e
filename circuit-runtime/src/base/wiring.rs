//! What travels on a wire, by type: the message type a sketch's loop takes,
//! the type its links (or its timer) send, and which sent types a loop takes.
//!
//! The same rule is checked twice: by the compiler for a circuit built in
//! code ([`Accepts`]), and when a circuit file is read ([`MessageType::takes`]).
//! A loop takes its own type; a loop that takes `String` takes any text, so
//! also numbers, `bool` and `char`; a loop that takes [`Payload`] takes
//! anything; an untyped [`Link`](crate::Link) (one that sends [`AnyText`])
//! may feed any loop, which then reads what it can.

use std::any::TypeId;
use std::fmt::{self, Display};
use std::future::Future;
use std::marker::PhantomData;

use crate::base::message::Payload;

/// The message type of an untyped link, `Link` = `Link<AnyText>`: any text,
/// checked by nobody before the peer reads it.
pub enum AnyText {}

/// A message type known at run time: for circuit files, which are checked
/// against what each sketch kind takes and sends.
#[derive(Clone, Copy)]
pub struct MessageType {
    /// The type's name, as Rust spells it in full.
    name: fn() -> &'static str,
    /// The type itself.
    id: fn() -> TypeId,
}

impl MessageType {
    /// The message type `M`.
    pub const fn of<M: 'static>() -> MessageType {
        MessageType {
            name: std::any::type_name::<M>,
            id: TypeId::of::<M>,
        }
    }

    /// Any text: what an untyped link sends.
    pub const ANY_TEXT: MessageType = MessageType::of::<AnyText>();

    /// Its name without module paths: `Reading`, `u8`, `Vec<u8>`.
    pub fn name(&self) -> String {
        if self.is_any_text() {
            return "any text".to_owned();
        }
        short_name((self.name)())
    }

    /// Whether it is [`AnyText`].
    pub fn is_any_text(&self) -> bool {
        (self.id)() == TypeId::of::<AnyText>()
    }

    /// Whether a loop that takes this type takes messages of type `sent`.
    pub fn takes(&self, sent: MessageType) -> bool {
        let sent_id = (sent.id)();
        let taken = (self.id)();
        taken == sent_id
            || sent.is_any_text()
            || taken == TypeId::of::<Payload>()
            || (taken == TypeId::of::<String>() && TEXT_OF.iter().any(|of| of() == sent_id))
    }
}

impl PartialEq for MessageType {
    fn eq(&self, other: &Self) -> bool {
        (self.id)() == (other.id)()
    }
}

impl Eq for MessageType {}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `alloc::vec::Vec<u8>` → `Vec<u8>`: every path cut to its last segment.
fn short_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            short.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            short.push(c);
        }
    }
    short.push_str(word.rsplit("::").next().unwrap_or(&word));
    short
}

/// The types whose text a `String` loop takes as it is, besides `String`.
const TEXT_OF: &[fn() -> TypeId] = &[
    TypeId::of::<&'static str>,
    TypeId::of::<char>,
    TypeId::of::<bool>,
    TypeId::of::<u8>,
    TypeId::of::<u16>,
    TypeId::of::<u32>,
    TypeId::of::<u64>,
    TypeId::of::<u128>,
    TypeId::of::<usize>,
    TypeId::of::<i8>,
    TypeId::of::<i16>,
    TypeId::of::<i32>,
    TypeId::of::<i64>,
    TypeId::of::<i128>,
    TypeId::of::<isize>,
    TypeId::of::<f32>,
    TypeId::of::<f64>,
];

/// Whether a loop taking `Self` takes messages of type `Sent`: what the
/// compiler checks when a circuit built in code links a sketch to another.
///
/// A type of your own may say that a `String` loop takes its text:
/// `impl Accepts<Reading> for String {}` (code only: a circuit file sees the
/// rule of [`MessageType::takes`]).
#[diagnostic::on_unimplemented(
    message = "a link or timer that sends `{Sent}` cannot feed a loop that takes `{Self}`",
    label = "this sketch's loop takes `{Self}`",
    note = "wire it to a sketch whose loop takes `{Sent}`, or send `{Self}` (a link: `Link<{Self}>`)"
)]
pub trait Accepts<Sent> {}

impl<M: Message> Accepts<M> for M {}

impl<M: Message> Accepts<AnyText> for M {}

impl<M: Message> Accepts<M> for Payload {}

impl Accepts<AnyText> for Payload {}

/// A type a loop may take. Implemented for every `FromStr` type and for bytes;
/// [`AnyText`] is not one, which keeps the two rules of [`Accepts`] apart.
pub trait Message: 'static {}

impl<M: std::str::FromStr + 'static> Message for M {}

/// `String` loops take the text of the standard library's plain values.
macro_rules! text_of {
    ($($sent:ty),*) => {
        $(impl Accepts<$sent> for String {})*
    };
}

text_of!(
    &'static str,
    char,
    bool,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64
);

/// What a link of type `Link<M>` sends: exactly `M`, or anything displayable
/// for an untyped link (`Link<AnyText>`).
#[diagnostic::on_unimplemented(
    message = "this link sends `{M}`, not `{Self}`",
    label = "a `Link<{M}>` sends `{M}`",
    note = "send a `{M}`, or declare the link as the type it sends (`Link<{Self}>`; `Link` alone sends any text)"
)]
pub trait Sendable<M>: Display {}

impl<T: Display> Sendable<AnyText> for T {}

impl<M: Message + Display> Sendable<M> for M {}

/// A link setting of sketch `S` that sends `M`, for wiring in code:
/// `#[sketch]` makes one per link field, named after it in capitals
/// (`fan: Link<u8>` is `Thermostat::FAN`).
pub struct LinkSetting<S, M> {
    /// The setting's id: the field's name.
    pub id: &'static str,
    /// What it links and sends.
    of: PhantomData<fn() -> (S, M)>,
}

impl<S, M> LinkSetting<S, M> {
    /// The link setting called `id`.
    pub const fn new(id: &'static str) -> Self {
        LinkSetting {
            id,
            of: PhantomData,
        }
    }
}

impl<S, M> Clone for LinkSetting<S, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, M> Copy for LinkSetting<S, M> {}

/// A server loop of sketch `S` taking `M`: a method `fn(&mut self, &str, M)`
/// (or `async fn`) returning `R`, an acknowledgement (or its future). All
/// three are inferred from the method named.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a server loop of `{S}`",
    label = "name the sketch's `#[reactive]` method here, such as `Buzzer::listen`",
    note = "a server loop is `fn NAME(&mut self, channel: &str, message: M) -> A`; a timer's loop goes to `Circuit::timer`"
)]
pub trait ServerLoop<S, M, R> {}

impl<'a, 'b, S: 'a, M, R, F> ServerLoop<S, M, R> for F where F: Fn(&'a mut S, &'b str, M) -> R {}

/// A timer loop that never waits (see [`TimerLoop`]).
pub struct Plain;

/// A timer loop that may wait, returning the future `F` (see [`TimerLoop`]).
pub struct Waiting<F>(PhantomData<F>);

/// A timer loop of sketch `S` sending `M`: a method `fn(&mut self, tick:
/// u64) -> Option<M>` (or `async fn`). `How` tells a plain loop from one
/// that waits; it is inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a timer loop of `{S}`",
    label = "name the timer's `#[reactive]` method here, such as `Clock::tick`",
    note = "a timer loop is `fn NAME(&mut self, tick: u64) -> Option<M>`; a server's loop goes to `Circuit::serve`"
)]
pub trait TimerLoop<S, M, How> {}

impl<'a, S: 'a, M, F> TimerLoop<S, M, Plain> for F where F: Fn(&'a mut S, u64) -> Option<M> {}

impl<'a, S: 'a, M, Fut, F> TimerLoop<S, M, Waiting<Fut>> for F
where
    F: Fn(&'a mut S, u64) -> Fut,
    Fut: Future<Output = Option<M>>,
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_takes_its_own_type_and_a_string_loop_takes_plain_values() {
        let string = MessageType::of::<String>();
        let byte = MessageType::of::<u8>();
        assert!(byte.takes(byte));
        assert!(string.takes(byte) && string.takes(MessageType::of::<f64>()));
        assert!(!byte.takes(string), "text is not a byte");
        assert!(!byte.takes(MessageType::of::<u16>()));
        assert!(
            byte.takes(MessageType::ANY_TEXT),
            "untyped links are unchecked"
        );
        assert!(!string.takes(MessageType::of::<Vec<u8>>()));
        assert!(
            MessageType::of::<Payload>().takes(byte),
            "a payload is anything"
        );
    }

    #[test]
    fn names_are_short() {
        assert_eq!(MessageType::of::<String>().name(), "String");
        assert_eq!(MessageType::of::<Vec<u8>>().name(), "Vec<u8>");
        assert_eq!(
            MessageType::of::<Option<std::path::PathBuf>>().name(),
            "Option<PathBuf>"
        );
        assert_eq!(MessageType::ANY_TEXT.name(), "any text");
    }
}
