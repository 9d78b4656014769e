use circuit_runtime::prelude::*;
/// Keeps the last level; acknowledges with `n/a`.
struct Sink {
    level: u8,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for Sink {
        const NAME: &'static str = "sink";
        const ABOUT: &'static str = "Keeps the last level; acknowledges with `n/a`.";
        const ROLE: __circuit::Role = __circuit::Role::Server;
        const PORT: u16 = __circuit::DEFAULT_PORT;
        const SEEDED: bool = false;
        const SETTINGS: &'static [__circuit::Setting] = &[];
        fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
            Self {
                level: ::core::default::Default::default(),
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
    impl __circuit::Reactive for Sink {
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
impl Sink {
    fn keep(&mut self, _channel: &str, level: u8) {
        self.level = level;
    }
    #[doc(hidden)]
    fn __circuit_loop(
        &mut self,
        channel: &str,
        frame: ::circuit_runtime::__private::Frame<'_>,
    ) -> ::circuit_runtime::__private::Now {
        use ::circuit_runtime::__private::{
            self as __circuit, ParseBytes as _, ParseText as _,
        };
        __circuit::assert_sketch::<Self>();
        __circuit::Now(
            match (&__circuit::Probe::<u8>::new()).parse(frame) {
                ::core::result::Result::Ok(message) => {
                    __circuit::ack(Self::keep(self, channel, message))
                }
                ::core::result::Result::Err(refusal) => refusal,
            },
        )
    }
}
fn main() {}
