use circuit_runtime::prelude::*;
/// Answers every message with itself: text as text, binary as binary.
struct Echo {}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Echo {
        type Role = __circuit::Serving;
        const NAME: &'static str = "echo";
        const ABOUT: &'static str = "Answers every message with itself: text as text, binary as binary.";
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {}
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for Echo {
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
impl Echo {
    fn echo(&mut self, _channel: &str, message: Payload) -> Payload {
        message
    }
    const __CIRCUIT_LOOP: ::circuit_runtime::__private::Loop = ::circuit_runtime::__private::Loop {
        waits: false,
        takes: ::circuit_runtime::__private::MessageType::of::<Payload>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Ack {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::bytes::<Payload>(message) {
            __circuit::Ok(message) => __circuit::ack(Self::echo(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
