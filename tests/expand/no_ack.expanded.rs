use circuit_runtime::prelude::*;
/// Keeps the last level; acknowledges with `n/a`.
struct Sink {
    level: u8,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Sink {
        type Role = __circuit::Serving;
        const NAME: &'static str = "sink";
        const ABOUT: &'static str = "Keeps the last level; acknowledges with `n/a`.";
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                level: ::core::default::Default::default(),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for Sink {
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
impl Sink {
    fn keep(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
    const __CIRCUIT_LOOP: ::circuit_runtime::__private::Loop = ::circuit_runtime::__private::Loop {
        waits: false,
        takes: ::circuit_runtime::__private::MessageType::of::<u8>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Ack {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::text::<u8>(message) {
            __circuit::Ok(message) => __circuit::ack(Self::keep(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
