"""What a sketch is made of: the `Sketch` class to subclass, its `Setting`s,
the `@reactive` loop and `out`."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

# The name `out` prefixes its lines with; `run` sets it (one sketch per process).
_name = "sketch"


def out(*parts: Any) -> None:
    """Prints `[ name ] text` at once (flushed), like the Rust sketches' `out!`."""
    print(f"[ {_name} ] " + " ".join(str(part) for part in parts), flush=True)


def _set_name(name: str) -> None:
    global _name
    _name = name


class Setting:
    """A setting of the sketch: `threshold = Setting(25.0, "Readings above this …")`
    becomes `--threshold VALUE`, typed by its default (a `bool` is a switch,
    `--threshold`/`--no-threshold`). `short="t"` adds `-t`."""

    def __init__(self, default: Any, help: str = "", short: Optional[str] = None, type: Optional[Callable] = None):
        self.default = default
        self.help = help
        self.short = short
        self.type = type or (str if default is None else default.__class__)


class Reactive:
    """The mark `@reactive` leaves on a sketch's loop: the method, and what the
    message text is read as (`None`: the text as it is)."""

    def __init__(self, function: Callable, read: Optional[Callable]):
        self.function = function
        self.read = read
        self.is_async = inspect.iscoroutinefunction(function)

    def __set_name__(self, owner, name):
        owner._reactive_name = name

    def __get__(self, instance, owner=None):
        # Called on an instance, it is the plain method (tests may call it directly).
        return self if instance is None else self.function.__get__(instance, owner)


def reactive(read: Any = None):
    """Marks the loop: `@reactive` (the message is text) or `@reactive(int)`
    (read as an int; text that does not read is answered `error: cannot read …`).
    A server sketch's loop is `loop(self, channel, message)`, a timer's
    `tick(self, n)`; either may be `async def` and returns the acknowledgement."""
    if inspect.isfunction(read):
        return Reactive(read, None)
    return lambda function: Reactive(function, read)


def read_as(read: Optional[Callable], text: str) -> Any:
    """Reads the message `text` as `read` wants; `ValueError` says why not."""
    if read is None:
        return text
    try:
        if read is bool:
            word = text.strip().lower()
            if word in ("true", "1"):
                return True
            if word in ("false", "0"):
                return False
            raise ValueError("not a boolean (true, false, 1 or 0)")
        return read(text)
    except (ValueError, TypeError, ArithmeticError) as err:
        raise ValueError(f'cannot read "{text}": {err}') from None


def as_text(value: Any) -> str:
    """The text a value goes out as: `None` is `n/a`, booleans are `true`/`false`."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


class Sketch:
    """A sketch: subclass it, give it a `@reactive` loop, and `run` it.

    Class attributes: `name` (default: the class name in lower case), `port`
    (the default of `--port`; 0 picks a free one), `Setting`s and `Link`s
    (each a flag). A timer sets `every = SECONDS` (the default of
    `-d/--delay`), `to_port`, `channel`, and its loop is `tick(self, n)`,
    whose result goes to the server (`None` stops)."""

    #: The sketch's name in its log lines; default: the class name in lower case.
    name: Optional[str] = None
    #: The port a server sketch serves on by default (0: any free one).
    port: int = 0
    #: A timer's seconds between ticks (`-d/--delay`); `None` for a server sketch.
    every: Optional[float] = None
    #: A timer's default server port (`-p/--port`).
    to_port: int = 8765
    #: The path a timer sends to (`ws://HOST:PORT/CHANNEL`).
    channel: str = "/datafeed"

    _reactive_name: Optional[str] = None

    def setup(self) -> None:
        """Runs once before serving; raise `ValueError` (or return a str) to refuse the settings."""

    @classmethod
    def sketch_name(cls) -> str:
        """The name used in the log lines."""
        return cls.name or cls.__name__.lower()

    @classmethod
    def main(cls, argv=None):
        """Parses the command line and runs the sketch; exits with its code."""
        from .run import run

        run(cls, argv)
