use circuit_runtime::prelude::*;
/// Waits for nothing, asynchronously.
struct Waiter {
    count: u64,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Waiter {
        type Role = __circuit::Serving;
        const NAME: &'static str = "waiter";
        const ABOUT: &'static str = "Waits for nothing, asynchronously.";
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                count: ::core::default::Default::default(),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for Waiter {
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
impl Waiter {
    async fn wait(&mut self, _channel: &str, message: u64) -> u64 {
        self.count += message;
        self.count
    }
    const __CIRCUIT_LOOP: ::circuit_runtime::__private::Loop = ::circuit_runtime::__private::Loop {
        waits: true,
        takes: ::circuit_runtime::__private::MessageType::of::<u64>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Ack {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::text::<u64>(message) {
            __circuit::Ok(message) => {
                __circuit::ack(Self::wait(self, channel, message).await)
            }
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
