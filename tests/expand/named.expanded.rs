use circuit_runtime::prelude::*;
/// A sketch whose subcommand and log name are chosen, not derived.
struct InputOutputPin {
    level: u8,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for InputOutputPin {
        type Role = __circuit::Serving;
        const NAME: &'static str = "io-pin";
        const ABOUT: &'static str = "A sketch whose subcommand and log name are chosen, not derived.";
        const PORT: u16 = 9000;
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                level: ::core::default::Default::default(),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for InputOutputPin {
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
impl InputOutputPin {
    fn setup(&mut self) {
        self.level = 1;
    }
    fn read(&mut self, _channel: &str, _message: String) -> u8 {
        self.level
    }
    const __CIRCUIT_LOOP: ::circuit_runtime::__private::Loop = ::circuit_runtime::__private::Loop {
        waits: false,
        takes: ::circuit_runtime::__private::MessageType::of::<String>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Ack {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::text::<String>(message) {
            __circuit::Ok(message) => __circuit::ack(Self::read(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
