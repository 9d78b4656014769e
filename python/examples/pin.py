"""An I/O pin: on every clock tick, draws a few random bits, sends each level
to the buzzer, and acknowledges with the bits."""

import random

from circuit_sketch import Link, Setting, Sketch, out, reactive, run


class IoPin(Sketch):
    """Sets an I/O pin to 0 or 1 at random on every clock tick."""

    port = 8765
    chance = Setting(0.5, "Probability that a drawn bit is 0")
    sequence = Setting(3, "Bits drawn per tick")
    buzzer = Link("ws://localhost:8766/pin", "Where the pin's levels go")

    @reactive
    async def loop(self, channel, message):
        out(f"new tick triggered on {channel}: {message}")
        bits = [int(random.random() >= self.chance) for _ in range(self.sequence)]
        out(f"toggling pin state: {bits}")
        for level in bits:
            await self.buzzer.send(level)
        return bits


if __name__ == "__main__":
    run(IoPin)
