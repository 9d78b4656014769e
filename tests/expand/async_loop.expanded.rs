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
        fn react<'a>(
            &'a mut self,
            channel: &'a str,
            frame: &'a str,
        ) -> impl ::core::future::Future<
            Output = ::std::string::String,
        > + ::core::marker::Send + 'a {
            use __circuit::NoServerLoop as _;
            Self::__circuit_loop(self, channel, frame)
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
        frame: &str,
    ) -> ::std::string::String {
        use ::circuit_runtime::__private as __circuit;
        __circuit::assert_sketch::<Self>();
        match __circuit::parse_message::<u64>(frame) {
            ::core::result::Result::Ok(message) => {
                __circuit::ack(Self::wait(self, channel, message).await)
            }
            ::core::result::Result::Err(error) => error,
        }
    }
}
fn main() {}
