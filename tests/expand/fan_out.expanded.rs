use circuit_runtime::prelude::*;
/// Copies every message to each of its outputs, and to a tap when given.
struct Splitter {
    /// Where every message goes.
    outs: Vec<Link>,
    /// Where every message also goes, if given.
    tap: Option<Link>,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Splitter {
        type Role = __circuit::Serving;
        const NAME: &'static str = "splitter";
        const ABOUT: &'static str = "Copies every message to each of its outputs, and to a tap when given.";
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "outs",
                long: "outs",
                short: ::core::option::Option::None,
                value_name: "URL",
                help: "Where every message goes.",
                default: ::core::option::Option::None,
                switch: false,
                repeats: true,
                link: ::core::option::Option::Some(
                    <Link as __circuit::LinkValue>::SENDS,
                ),
                parse: __circuit::parse::<Link>,
            },
            __circuit::Setting {
                id: "tap",
                long: "tap",
                short: ::core::option::Option::None,
                value_name: "URL",
                help: "Where every message also goes, if given.",
                default: ::core::option::Option::None,
                switch: false,
                repeats: false,
                link: ::core::option::Option::Some(
                    <Link as __circuit::LinkValue>::SENDS,
                ),
                parse: __circuit::parse::<Link>,
            },
        ];
        fn from_settings(values: &mut __circuit::Values) -> Self {
            Self {
                outs: __circuit::setting_list(
                    values,
                    "outs",
                    || ::core::default::Default::default(),
                ),
                tap: __circuit::setting_option(
                    values,
                    "tap",
                    || ::core::default::Default::default(),
                ),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
        const LINKED: bool = true;
        fn links(&self) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
            __circuit::gather(&[("outs", &self.outs), ("tap", &self.tap)])
        }
        fn links_of(&self, field: &str) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
            match field {
                "outs" => __circuit::gather(&[("outs", &self.outs)]),
                "tap" => __circuit::gather(&[("tap", &self.tap)]),
                _ => ::std::vec::Vec::new(),
            }
        }
    }
    impl __circuit::Reactive for Splitter {
        const LOOP: __circuit::Loop = Self::__CIRCUIT_LOOP;
        async fn react(
            &mut self,
            channel: &str,
            message: &__circuit::Payload,
        ) -> __circuit::Ack {
            Self::__circuit_loop(self, channel, message).await
        }
    }
    impl Splitter {
        ///The link setting `outs`, for wiring a circuit in code.
        const OUTS: __circuit::LinkSetting<
            Self,
            <Link as __circuit::LinkValue>::Sends,
        > = __circuit::LinkSetting::new("outs");
        ///The link setting `tap`, for wiring a circuit in code.
        const TAP: __circuit::LinkSetting<Self, <Link as __circuit::LinkValue>::Sends> = __circuit::LinkSetting::new(
            "tap",
        );
    }
};
impl Splitter {
    async fn split(&mut self, _channel: &str, message: String) {
        for out in &self.outs {
            out.send(&message).await;
        }
    }
    const __CIRCUIT_LOOP: ::circuit_runtime::__private::Loop = ::circuit_runtime::__private::Loop {
        waits: true,
        takes: ::circuit_runtime::__private::MessageType::of::<String>(),
    };
    async fn __circuit_loop(
        &mut self,
        channel: &str,
        message: &::circuit_runtime::__private::Payload,
    ) -> ::circuit_runtime::__private::Ack {
        use ::circuit_runtime::__private as __circuit;
        match __circuit::text::<String>(message) {
            __circuit::Ok(message) => {
                __circuit::ack(Self::split(self, channel, message).await)
            }
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
