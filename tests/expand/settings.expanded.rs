use circuit_runtime::prelude::*;
/// A pin with settings of several types.
struct Pin {
    /// Probability that a drawn bit is 0.
    chance: f64,
    /// Bits drawn per tick.
    sequence: usize,
    /// What the pin is called.
    label: String,
    /// Whether to invert every bit.
    invert_bits: bool,
    rng: Rng,
    level: u8,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for Pin {
        const NAME: &'static str = "pin";
        const ABOUT: &'static str = "A pin with settings of several types.";
        const ROLE: __circuit::Role = __circuit::Role::Server;
        const PORT: u16 = __circuit::DEFAULT_PORT;
        const SEEDED: bool = true;
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "chance",
                long: "chance",
                short: ::core::option::Option::Some('c'),
                value_name: "CHANCE",
                help: "Probability that a drawn bit is 0.",
                default: ::core::option::Option::Some("0.5"),
                parser: __circuit::value_parser::<f64>,
            },
            __circuit::Setting {
                id: "sequence",
                long: "sequence",
                short: ::core::option::Option::None,
                value_name: "SEQUENCE",
                help: "Bits drawn per tick.",
                default: ::core::option::Option::Some("3"),
                parser: __circuit::value_parser::<usize>,
            },
            __circuit::Setting {
                id: "label",
                long: "label",
                short: ::core::option::Option::None,
                value_name: "LABEL",
                help: "What the pin is called.",
                default: ::core::option::Option::Some("pin"),
                parser: __circuit::value_parser::<String>,
            },
            __circuit::Setting {
                id: "invert_bits",
                long: "invert-bits",
                short: ::core::option::Option::None,
                value_name: "INVERT-BITS",
                help: "Whether to invert every bit.",
                default: ::core::option::Option::None,
                parser: __circuit::value_parser::<bool>,
            },
        ];
        fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
            Self {
                chance: __circuit::setting::<
                    f64,
                >(
                    matches,
                    "chance",
                    || <f64 as __circuit::FromDefault<_>>::from_default(0.5),
                ),
                sequence: __circuit::setting::<
                    usize,
                >(
                    matches,
                    "sequence",
                    || <usize as __circuit::FromDefault<_>>::from_default(3),
                ),
                label: __circuit::setting::<
                    String,
                >(
                    matches,
                    "label",
                    || <String as __circuit::FromDefault<_>>::from_default("pin"),
                ),
                invert_bits: __circuit::setting::<
                    bool,
                >(matches, "invert_bits", || ::core::default::Default::default()),
                rng: __circuit::rng(matches, 0u64),
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
    impl __circuit::Reactive for Pin {
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
impl Pin {
    fn tick(&mut self, _channel: &str, _message: String) -> u8 {
        self.level = u8::from(self.rng.chance(self.chance) ^ self.invert_bits);
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
                    __circuit::ack(Self::tick(self, channel, message))
                }
                ::core::result::Result::Err(refusal) => refusal,
            },
        )
    }
}
fn main() {}
