use circuit_runtime::prelude::*;
/// Says hello.
struct Hello {}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
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
        const LOOP: __circuit::Loop = __circuit::loop_of(&Self::__circuit_loop);
        async fn react(
            &mut self,
            channel: &str,
            message: &__circuit::Payload,
        ) -> __circuit::Ack {
            Self::__circuit_loop(self, channel, message).await.ack
        }
    }
};
impl Hello {
    fn greet(&mut self, _channel: &str, name: String) -> String {
        name
    }
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Taking<Self, String, false> {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::text::<String>(message) {
            __circuit::Ok(message) => __circuit::ack(Self::greet(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused(refusal),
        }
    }
}
fn main() {}
