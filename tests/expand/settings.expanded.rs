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
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Pin {
        type Role = __circuit::Serving;
        const NAME: &'static str = "pin";
        const ABOUT: &'static str = "A pin with settings of several types.";
        const SEEDED: bool = true;
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "chance",
                long: "chance",
                short: ::core::option::Option::Some('c'),
                value_name: "CHANCE",
                help: "Probability that a drawn bit is 0.",
                default: ::core::option::Option::Some("0.5"),
                switch: false,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<f64>,
            },
            __circuit::Setting {
                id: "sequence",
                long: "sequence",
                short: ::core::option::Option::None,
                value_name: "SEQUENCE",
                help: "Bits drawn per tick.",
                default: ::core::option::Option::Some("3"),
                switch: false,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<usize>,
            },
            __circuit::Setting {
                id: "label",
                long: "label",
                short: ::core::option::Option::None,
                value_name: "LABEL",
                help: "What the pin is called.",
                default: ::core::option::Option::Some("pin"),
                switch: false,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<String>,
            },
            __circuit::Setting {
                id: "invert_bits",
                long: "invert-bits",
                short: ::core::option::Option::None,
                value_name: "INVERT-BITS",
                help: "Whether to invert every bit.",
                default: ::core::option::Option::None,
                switch: true,
                repeats: false,
                link: ::core::option::Option::None,
                parse: __circuit::parse::<bool>,
            },
        ];
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                chance: __circuit::setting(
                    values,
                    "chance",
                    || <f64 as __circuit::FromDefault<_>>::from_default(0.5),
                ),
                sequence: __circuit::setting(
                    values,
                    "sequence",
                    || <usize as __circuit::FromDefault<_>>::from_default(3),
                ),
                label: __circuit::setting(
                    values,
                    "label",
                    || <String as __circuit::FromDefault<_>>::from_default("pin"),
                ),
                invert_bits: __circuit::setting(
                    values,
                    "invert_bits",
                    || ::core::default::Default::default(),
                ),
                rng: __circuit::rng(values, 0u64),
                level: ::core::default::Default::default(),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
    }
    impl __circuit::Reactive for Pin {
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
impl Pin {
    fn tick(&mut self, _channel: &str, _message: String) -> u8 {
        self.level = u8::from(self.rng.chance(self.chance) ^ self.invert_bits);
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
            __circuit::Ok(message) => __circuit::ack(Self::tick(self, channel, message)),
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
