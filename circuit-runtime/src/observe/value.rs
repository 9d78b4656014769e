//! [`Value`]: one value of a signal (a bit, a number, text), and the
//! conversions that let [`signal`](crate::signal) take plain Rust values.

use std::sync::Arc;

/// One value of a signal.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A one-bit wire: low or high.
    Bit(bool),
    /// A whole number ≥ 0, drawn as a bus.
    Unsigned(u64),
    /// A whole number that may be negative, drawn as a bus.
    Signed(i64),
    /// A real number, such as a temperature.
    Real(f64),
    /// Text, drawn as a bus with the text in it.
    Text(Arc<str>),
}

impl Value {
    /// Whether the wire is high (a bit), or the number is not zero.
    pub fn is_high(&self) -> bool {
        match self {
            Value::Bit(bit) => *bit,
            Value::Unsigned(number) => *number != 0,
            Value::Signed(number) => *number != 0,
            Value::Real(number) => *number != 0.0,
            Value::Text(_) => false,
        }
    }
}

impl From<bool> for Value {
    fn from(bit: bool) -> Self {
        Value::Bit(bit)
    }
}

macro_rules! numbers {
    ($variant:ident as $wide:ty: $($number:ty),*) => {$(
        impl From<$number> for Value {
            fn from(number: $number) -> Self {
                Value::$variant(<$wide>::from(number))
            }
        }
    )*};
}

numbers!(Unsigned as u64: u8, u16, u32, u64);
numbers!(Signed as i64: i8, i16, i32, i64);
numbers!(Real as f64: f32, f64);

impl From<usize> for Value {
    fn from(number: usize) -> Self {
        Value::Unsigned(number as u64)
    }
}

impl From<isize> for Value {
    fn from(number: isize) -> Self {
        Value::Signed(number as i64)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.into())
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Self {
        Value::Text(text.as_str().into())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text.into())
    }
}
