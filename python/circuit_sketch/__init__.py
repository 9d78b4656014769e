"""circuit_sketch: write a circuit sketch in Python.

A sketch is a class with a `@reactive` loop; `run(MySketch)` reads its
settings from the command line and serves the loop over WebSockets with
plain-text frames, one acknowledgement per message, in order, as the Rust
sketches of circuit do. Links to other sketches are `Link`s."""

from .link import Link
from .run import run
from .sketch import Setting, Sketch, out, reactive

__all__ = ["Link", "Setting", "Sketch", "out", "reactive", "run"]
