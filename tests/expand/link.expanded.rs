use circuit_runtime::prelude::*;
/// Forwards every message to a buzzer.
struct Relay {
    /// Where the messages go.
    buzzer: Link,
}
const _: () = {
    use ::circuit_runtime::__private as __circuit;
    impl __circuit::Sketch for Relay {
        const NAME: &'static str = "relay";
        const ABOUT: &'static str = "Forwards every message to a buzzer.";
        const ROLE: __circuit::Role = __circuit::Role::Server;
        const PORT: u16 = __circuit::DEFAULT_PORT;
        const SEEDED: bool = false;
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "buzzer",
                long: "buzzer",
                short: ::core::option::Option::None,
                value_name: "URL",
                help: "Where the messages go.",
                default: ::core::option::Option::Some("ws://localhost:8766/pin"),
                parser: __circuit::value_parser::<Link>,
            },
        ];
        fn from_settings(matches: &mut __circuit::ArgMatches) -> Self {
            Self {
                buzzer: __circuit::setting::<
                    Link,
                >(
                    matches,
                    "buzzer",
                    || <Link as __circuit::FromDefault<
                        _,
                    >>::from_default("ws://localhost:8766/pin"),
                ),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            use __circuit::NoSetup as _;
            __circuit::setup_outcome(Self::setup(self))
        }
        fn links(&self) -> ::std::vec::Vec<&__circuit::Link> {
            ::std::vec::Vec::from([&self.buzzer])
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
    impl __circuit::Reactive for Relay {
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
impl Relay {
    async fn relay(&mut self, _channel: &str, message: String) {
        self.buzzer.send(message).await;
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
        match (&__circuit::Probe::<String>::new()).parse(frame) {
            ::core::result::Result::Ok(message) => {
                __circuit::ack(Self::relay(self, channel, message).await)
            }
            ::core::result::Result::Err(refusal) => refusal,
        }
    }
}
fn main() {}
