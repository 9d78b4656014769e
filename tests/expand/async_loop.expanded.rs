use circuit_runtime::prelude::*;
/// Waits for nothing, asynchronously.
struct Waiter {
    count: u64,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for Waiter {
        const NAME: &'static str = "waiter";
        const ABOUT: &'static str = "Waits for nothing, asynchronously.";
        const ROLE: __circuit::Role = __circuit::Role::Server;
        const PORT: u16 = __circuit::DEFAULT_PORT;
        const SEEDED: bool = false;
        const SETTINGS: &'static [__circuit::Setting] = &[];
        fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
            Self {
                count: ::core::default::Default::default(),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            use __circuit::NoSetup as _;
            __circuit::setup_outcome(Self::setup(self))
        }
        fn links(&self) -> ::std::vec::Vec<&__circuit::Link> {
            ::std::vec::Vec::from([])
        }
        fn run(
            self,
            options: &__circuit::Options,
            shutdown: __circuit::Shutdown,
        ) -> impl ::core::future::Future<
            Output = __circuit::Result<()>,
        > + ::core::marker::Send + '_ {
            __circuit::serve(self, options, shutdown)
        }
    }
    impl __circuit::Reactive for Waiter {
        const WAITS: bool = {
            use __circuit::NoLoopWaits as _;
            __circuit::waits::<Self, _>(&Self::__circuit_loop)
        };
        fn react<'a>(
            &'a mut self,
            channel: &'a str,
            frame: __circuit::Frame<'a>,
        ) -> impl ::core::future::Future<
            Output = __circuit::Outcome,
        > + ::core::marker::Send + 'a {
            use __circuit::NoServerLoop as _;
            __circuit::react(Self::__circuit_loop(self, channel, frame))
        }
    }
};
impl Waiter {
    async fn wait(&mut self, _channel: &str, message: u64) -> u64 {
        self.count += message;
        self.count
    }
    #[doc(hidden)]
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        frame: ::circuit_runtime::__private::Frame<'_>,
    ) -> ::circuit_runtime::__private::Outcome {
        use ::circuit_runtime::__private::{
            self as __circuit, ParseBytes as _, ParseText as _,
        };
        __circuit::assert_sketch::<Self>();
        match (&__circuit::Probe::<u64>::new()).parse(frame) {
            ::core::result::Result::Ok(message) => {
                __circuit::ack(Self::wait(self, channel, message).await)
            }
            ::core::result::Result::Err(refusal) => refusal,
        }
    }
}
fn main() {}
