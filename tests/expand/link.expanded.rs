use circuit_runtime::prelude::*;
/// Forwards every message to a buzzer.
struct Relay {
    /// Where the messages go.
    buzzer: Link,
}
const _: () = {
    use ::circuit_runtime::__private::{self as __circuit, Omitted as _};
    impl __circuit::Sketch for Relay {
        type Role = __circuit::Serving;
        const NAME: &'static str = "relay";
        const ABOUT: &'static str = "Forwards every message to a buzzer.";
        const SETTINGS: &'static [__circuit::Setting] = &[
            __circuit::Setting {
                id: "buzzer",
                long: "buzzer",
                short: ::core::option::Option::None,
                value_name: "URL",
                help: "Where the messages go.",
                default: ::core::option::Option::Some("ws://localhost:8766/pin"),
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
                buzzer: __circuit::setting(
                    values,
                    "buzzer",
                    || <Link as __circuit::FromDefault<
                        _,
                    >>::from_default("ws://localhost:8766/pin"),
                ),
            }
        }
        fn begin(&mut self) -> __circuit::Result<()> {
            __circuit::setup_outcome(Self::setup(self))
        }
        const LINKED: bool = true;
        fn links(&self) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
            __circuit::gather(&[("buzzer", &self.buzzer)])
        }
        fn links_of(&self, field: &str) -> ::std::vec::Vec<&dyn __circuit::Outbound> {
            match field {
                "buzzer" => __circuit::gather(&[("buzzer", &self.buzzer)]),
                _ => ::std::vec::Vec::new(),
            }
        }
    }
    impl __circuit::Reactive for Relay {
        const LOOP: __circuit::Loop = Self::__CIRCUIT_LOOP;
        async fn react(
            &mut self,
            channel: &str,
            message: &__circuit::Payload,
        ) -> __circuit::Ack {
            Self::__circuit_loop(self, channel, message).await
        }
    }
    impl Relay {
        ///The link setting `buzzer`, for wiring a circuit in code.
        const BUZZER: __circuit::LinkSetting<
            Self,
            <Link as __circuit::LinkValue>::Sends,
        > = __circuit::LinkSetting::new("buzzer");
    }
};
impl Relay {
    async fn relay(&mut self, _channel: &str, message: String) {
        self.buzzer.send(message).await;
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
                __circuit::ack(Self::relay(self, channel, message).await)
            }
            __circuit::Err(refusal) => __circuit::refused::<Self>(refusal),
        }
    }
}
fn main() {}
