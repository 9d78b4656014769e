use circuit_runtime::prelude::*;
/// A sketch whose subcommand and log name are chosen, not derived.
struct InputOutputPin {
    level: u8,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for InputOutputPin {
        const NAME: &'static str = "io-pin";
        const ABOUT: &'static str = "A sketch whose subcommand and log name are chosen, not derived.";
        const ROLE: __circuit::Role = __circuit::Role::Server;
        const PORT: u16 = 9000;
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
    impl __circuit::Reactive for InputOutputPin {
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
impl InputOutputPin {
    fn setup(&mut self) {
        self.level = 1;
    }
    fn read(&mut self, _channel: &str, _message: String) -> u8 {
        self.level
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
            match (&__circuit::Probe::<String>::new()).parse(frame) {
                ::core::result::Result::Ok(message) => {
                    __circuit::ack(Self::read(self, channel, message))
                }
                ::core::result::Result::Err(refusal) => refusal,
            },
        )
    }
}
fn main() {}
