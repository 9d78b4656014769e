"""A clock: ticks --tacks times, --delay seconds apart, and sends each tick to
the I/O pin's /datafeed."""

from circuit_sketch import Setting, Sketch, reactive, run


class Clock(Sketch):
    """Ticks a number of times and sends each tick to an I/O pin."""

    every = 1.0  # seconds between two ticks: -d/--delay
    to_port = 8765
    channel = "/datafeed"
    tacks = Setting(5, "How many ticks to send", short="t")

    @reactive
    def tick(self, n):
        if n < self.tacks:
            return n


if __name__ == "__main__":
    run(Clock)
