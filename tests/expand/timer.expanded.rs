use circuit_runtime::prelude::*;
/// Ticks `--tacks` times, `--delay` seconds apart, to the server on port 9000.
struct Clock {
    /// How many ticks to send.
    tacks: u64,
    /// Seconds between two ticks.
    delay: f64,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Clock {
        type Role = __circuit::Ticking;
        const NAME: &'static str = "clock";
        const ABOUT: &'static str = "Ticks `--tacks` times, `--delay` seconds apart, to the server on port 9000.";
        const PORT: u16 = 9000;
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "tacks",
                long: "tacks",
                short: ::core::option::Option::Some('t'),
                value_name: "TACKS",
                help: "How many ticks to send.",
                default: ::core::option::Option::Some("5"),
                switch: false,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<u64>,
            },
            __circuit::Setting {
                id: "delay",
                long: "delay",
                short: ::core::option::Option::Some('d'),
                value_name: "DELAY",
                help: "Seconds between two ticks.",
                default: ::core::option::Option::Some("1.0"),
                switch: false,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<f64>,
            },
        ];
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                tacks: __circuit::setting(
                    values,
                    "tacks",
                    || <u64 as __circuit::FromDefault<_>>::from_default(5),
                ),
                delay: __circuit::setting(
                    values,
                    "delay",
                    || <f64 as __circuit::FromDefault<_>>::from_default(1.0),
                ),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Timed for Clock {
        const CHANNEL: &'static str = "/datafeed";
        const SENDS: __circuit::MessageType = Self::__CIRCUIT_SENDS;
        fn period(&self) -> ::core::time::Duration {
            __circuit::period(&self.delay)
        }
        fn total(&self) -> ::core::option::Option<u64> {
            __circuit::total(&self.tacks)
        }
        async fn tick(
            &mut self,
            tick: u64,
        ) -> ::core::option::Option<::std::string::String> {
            Self::__circuit_tick(self, tick).await
        }
    }
};
impl Clock {
    fn tick(&mut self, tick: u64) -> Option<u64> {
        (tick < self.tacks).then_some(tick)
    }
    const __CIRCUIT_SENDS: ::circuit_runtime::__private::MessageType = ::circuit_runtime::__private::sent_by(
        &Self::tick,
    );
    async fn __circuit_tick(
        &mut self,
        tick: u64,
    ) -> ::core::option::Option<::std::string::String> {
        use ::circuit_runtime::__private as __circuit;
        __circuit::assert_sketch::<Self>();
        __circuit::tick(Self::tick(self, tick))
    }
}
fn main() {}
