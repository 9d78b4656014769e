"""A Python sketch whose loop fails on some messages (tests/python_sketch.rs):
reads each message as an int, refuses 13 by raising, and answers the rest
doubled, logging `ran on N` each time its loop runs."""

from circuit_sketch import Sketch, out, reactive, run


class Fussy(Sketch):
    """Doubles numbers, but not 13."""

    @reactive(int)
    def loop(self, channel, number):
        out(f"ran on {number}")
        if number == 13:
            raise RuntimeError("13 is unlucky")
        return number * 2


if __name__ == "__main__":
    run(Fussy)
