use circuit_runtime::prelude::*;

#[sketch(every = delay)]
struct Clock {
    #[setting(default = 1.0)]
    delay: f64,
}

impl Clock {
    #[reactive]
    fn tick(&mut self, _channel: &str, message: String) -> String {
        message
    }
}

fn main() {}
