use circuit_runtime::prelude::*;
/// Ticks `--tacks` times, `--delay` seconds apart.
struct Clock {
    /// How many ticks to send.
    tacks: u64,
    /// Seconds between two ticks.
    delay: f64,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for Clock {
        const NAME: &'static str = "clock";
        const ABOUT: &'static str = "Ticks `--tacks` times, `--delay` seconds apart.";
        const ROLE: __circuit::Role = __circuit::Role::Timer;
        const PORT: u16 = __circuit::DEFAULT_PORT;
        const SEEDED: bool = false;
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "tacks",
                long: "tacks",
                short: ::core::option::Option::Some('t'),
                value_name: "TACKS",
                help: "How many ticks to send.",
                default: ::core::option::Option::Some("5"),
                parser: __circuit::value_parser::<u64>,
            },
            __circuit::Setting {
                id: "delay",
                long: "delay",
                short: ::core::option::Option::Some('d'),
                value_name: "DELAY",
                help: "Seconds between two ticks.",
                default: ::core::option::Option::Some("1.0"),
                parser: __circuit::value_parser::<f64>,
            },
        ];
        fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
            Self {
                tacks: __circuit::setting::<
                    u64,
                >(
                    matches,
                    "tacks",
                    || <u64 as __circuit::FromDefault<_>>::from_default(5),
                ),
                delay: __circuit::setting::<
                    f64,
                >(
                    matches,
                    "delay",
                    || <f64 as __circuit::FromDefault<_>>::from_default(1.0),
                ),
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
            __circuit::run_timer(self, options, shutdown)
        }
    }
    impl __circuit::Timed for Clock {
        const CHANNEL: &'static str = "/datafeed";
        fn period(&self) -> ::core::time::Duration {
            __circuit::period(&self.delay)
        }
        fn total(&self) -> ::core::option::Option<u64> {
            __circuit::total(&self.tacks)
        }
        fn tick(
            &mut self,
            tick: u64,
        ) -> impl ::core::future::Future<
            Output = ::core::option::Option<::std::string::String>,
        > + ::core::marker::Send + '_ {
            use __circuit::NoTimerLoop as _;
            Self::__circuit_loop(self, tick)
        }
    }
};
impl Clock {
    fn tick(&mut self, tick: u64) -> Option<u64> {
        (tick < self.tacks).then_some(tick)
    }
    #[doc(hidden)]
    async fn __circuit_loop(
        &mut self,
        tick: u64,
    ) -> ::core::option::Option<::std::string::String> {
        use ::circuit_runtime::__private as __circuit;
        __circuit::assert_sketch::<Self>();
        __circuit::tick(Self::tick(self, tick))
    }
}
fn main() {}
