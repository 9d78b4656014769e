//! The runtime by another path: every generated path starts with `crate = …`.
/// What a program that re-exports the runtime has.
mod circuit {
    pub use circuit_runtime::*;
}
use circuit::prelude::*;
/// Says hello.
struct Hello {}
const _: () = {
    use crate::circuit::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Hello {
        type Role = __circuit::Serving;
        const NAME: &'static str = "hello";
        const ABOUT: &'static str = "Says hello.";
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {}
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for Hello {
        const LOOP: __circuit::Loop = Self::__CIRCUIT_LOOP;
        async fn react(
            &mut self,
            channel: &str,
            message: &__circuit::Payload,
        ) -> __circuit::Ack {
            Self::__circuit_loop(self, channel, message).await
        }
    }
};
impl Hello {
    fn greet(&mut self, _channel: &str, name: String) -> String {
        name
    }
    const __CIRCUIT_LOOP: crate::circuit::__private::Loop = crate::circuit::__private::Loop {
        waits: false,
        takes: crate::circuit::__private::MessageType::of::<String>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &crate::circuit::__private::Payload,
    ) -> crate::circuit::__private::Ack {
        use crate::circuit::__private as __circuit;
        match __circuit::text::<String>(message) {
            __circuit::Ok(message) => __circuit::ack(Self::greet(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
