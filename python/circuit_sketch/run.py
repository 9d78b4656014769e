"""Running a sketch: its command line, then serving its loop (or ticking,
for a timer) until it is done or stopped."""

from __future__ import annotations

import argparse
import asyncio
import errno
import hmac
import os
import signal
import socket
import sys
import time
from collections import OrderedDict, deque
from http import HTTPStatus
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from . import sketch as sketch_module
from .link import Link, Refused, Unreachable
from .sketch import Reactive, Setting, Sketch, as_text, out, read_as

# What a server remembers of the links that number their messages (as the
# Rust servers do): this many links, the least recently seen forgotten first,
# and the answers to this many of each link's last messages.
REMEMBERED_LINKS = 1024
REMEMBERED_ANSWERS = 32768


def run(cls: type, argv: Optional[List[str]] = None) -> None:
    """Parses the command line, runs the sketch `cls`, and exits: 0 when done
    or stopped (Ctrl-C, SIGTERM), 1 on a failure (a busy port, a server not
    reached), 2 on a usage mistake (argparse's, or settings `setup` refuses)."""
    sys.exit(run_code(cls, argv))


def run_code(cls: type, argv: Optional[List[str]] = None) -> int:
    """Like `run`, but returns the exit code."""
    if not (isinstance(cls, type) and issubclass(cls, Sketch)):
        raise TypeError("run() takes a subclass of circuit_sketch.Sketch")
    if cls._reactive_name is None:
        raise TypeError(f"{cls.__name__} has no @reactive method")
    sketch_module._set_name(cls.sketch_name())
    options = _parse(cls, argv)
    instance = _instance(cls, options)
    try:
        refusal = instance.setup()
    except ValueError as err:
        refusal = str(err)
    if isinstance(refusal, str):
        out(f"error: {refusal}")
        return 2
    runner = _Timer(instance, options) if cls.every is not None else _Server(instance, options)
    return asyncio.run(runner.main())


def _settings(cls: type) -> Dict[str, Setting]:
    found: Dict[str, Setting] = {}
    for klass in reversed(cls.__mro__):
        for key, value in vars(klass).items():
            if isinstance(value, Setting):
                found[key] = value
    return found


def _links(cls: type) -> Dict[str, Link]:
    found: Dict[str, Link] = {}
    for klass in reversed(cls.__mro__):
        for key, value in vars(klass).items():
            if isinstance(value, Link):
                found[key] = value
    return found


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _parse(cls: type, argv: Optional[List[str]]) -> argparse.Namespace:
    timer = cls.every is not None
    parser = argparse.ArgumentParser(
        prog=os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else cls.sketch_name(),
        description=(cls.__doc__ or "").strip() or None,
    )
    for key, setting in _settings(cls).items():
        names = [f"-{setting.short}"] if setting.short else []
        names.append(_flag(key))
        if setting.type is bool:
            parser.add_argument(*names, dest=key, action=argparse.BooleanOptionalAction, default=setting.default, help=setting.help)
        else:
            parser.add_argument(
                *names, dest=key, type=setting.type, default=setting.default, metavar=key.upper(),
                help=f"{setting.help} [default: {setting.default}]",
            )
    links = _links(cls)
    if links:
        group = parser.add_argument_group("links")
        for key, link in links.items():
            group.add_argument(_flag(key), dest=f"link_{key}", metavar="URL", default=None,
                               help=f"{link.help or 'Where this link sends'} [default: {link.url}]")
        group.add_argument("--link", dest="link_pairs", metavar="NAME=URL", action="append", default=[],
                           help="Set the link NAME to URL (the same as --NAME URL); repeatable")
        if len(links) == 1 and not timer:
            group.add_argument("--to", dest="link_to", metavar="URL", default=None,
                               help=f"Where the link {next(iter(links))} sends (the same as {_flag(next(iter(links)))})")
        group.add_argument("--ack-timeout", type=float, default=10.0, metavar="SECONDS",
                           help="Drop a peer that leaves a message unacknowledged this long, and resend [default: 10]")
    if timer:
        group = parser.add_argument_group("target")
        group.add_argument("-d", "--delay", type=float, default=float(cls.every), metavar="SECONDS",
                           help=f"Seconds between two ticks; fractions allowed [default: {cls.every}]")
        group.add_argument("-s", "--socket", default="localhost", metavar="HOST",
                           help="Host or address of the server the ticks go to [default: localhost]")
        group.add_argument("-p", "--port", type=int, default=cls.to_port,
                           help=f"Port of the server the ticks go to [default: {cls.to_port}]")
        group.add_argument("--to", metavar="URL", default=None, help="Where to send: a ws:// or wss:// URL (instead of -s/-p)")
        group.add_argument("--retry-for", type=float, default=10.0, metavar="SECONDS",
                           help="How long to keep trying to reach the server [default: 10]")
        if not links:
            group.add_argument("--ack-timeout", type=float, default=10.0, metavar="SECONDS",
                               help="Reconnect and resend when a tick is unacknowledged this long [default: 10]")
    else:
        group = parser.add_argument_group("server")
        group.add_argument("-s", "--socket", "--host", dest="host", default="localhost", metavar="HOST",
                           help="Host or address to serve on [default: localhost]")
        group.add_argument("-p", "--port", type=int, default=cls.port,
                           help=f"Port to serve on; 0 picks a free one [default: {cls.port}]")
        group.add_argument("--stop-timeout", type=float, default=10.0, metavar="SECONDS",
                           help="How long a stop may wait for loops still sending over their links [default: 10]")
    parser.add_argument("--token", default=os.environ.get("CIRCUIT_TOKEN"), metavar="SECRET",
                        help="Shared secret: a server refuses peers without it (HTTP 401), links send it [env: CIRCUIT_TOKEN]")
    options = parser.parse_args(argv)
    if options.token == "":
        options.token = None
    if links:
        for pair in options.link_pairs:
            key, sep, url = pair.partition("=")
            key = key.replace("-", "_")
            if not sep or key not in links:
                parser.error(f"--link {pair}: expected NAME=URL with NAME one of {', '.join(links)}")
            setattr(options, f"link_{key}", url)
        if getattr(options, "link_to", None):
            setattr(options, f"link_{next(iter(links))}", options.link_to)
        for key in links:
            url = getattr(options, f"link_{key}")
            if url is not None and urlsplit(url).scheme not in ("ws", "wss"):
                parser.error(f"{_flag(key)} {url}: not a ws:// or wss:// URL")
    if timer and options.delay < 0:
        parser.error(f"--delay must be a number of seconds >= 0, not {options.delay}")
    return options


def _instance(cls: type, options: argparse.Namespace) -> Sketch:
    instance = cls.__new__(cls)
    for key in _settings(cls):
        setattr(instance, key, getattr(options, key))
    for key, link in _links(cls).items():
        url = getattr(options, f"link_{key}") or link.url
        setattr(instance, key, link._live(url, options.token, options.ack_timeout))
    if cls.every is not None:
        instance.every = options.delay
    init = getattr(cls, "__init__")
    if init is not object.__init__ and init is not Sketch.__init__:
        init(instance)
    return instance


async def _call(instance: Sketch, *args: Any) -> Any:
    """Runs the loop on one message (awaiting it when it is `async def`)."""
    marked: Reactive = vars(type(instance)).get(type(instance)._reactive_name) or getattr(type(instance), type(instance)._reactive_name)
    result = marked.function(instance, *args)
    if marked.is_async:
        result = await result
    return result


def _read(instance: Sketch, text: str) -> Any:
    marked: Reactive = getattr(type(instance), type(instance)._reactive_name)
    return read_as(marked.read, text)


def _stopping() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    return stop


def _error_text(err: BaseException) -> str:
    text = str(err)
    return f"error: {text}" if text else f"error: {err.__class__.__name__}"


class _Memory:
    """What the loop answered to the numbered messages of each link, so that a
    resent message is answered from memory, not run again."""

    def __init__(self):
        self.links: "OrderedDict[str, list]" = OrderedDict()

    def get(self, link: str):
        state = self.links.get(link)
        if state is None:
            state = [0, deque(maxlen=REMEMBERED_ANSWERS)]  # last number run, (number, answer)s
            self.links[link] = state
            while len(self.links) > REMEMBERED_LINKS:
                self.links.popitem(last=False)
        self.links.move_to_end(link)
        return state


def _resume(request) -> Optional[tuple]:
    """The (link, first number, retained) a handshake gives, or None for a plain
    peer; `ValueError` when the headers are there but wrong."""
    link = request.headers.get("Circuit-Link")
    number = request.headers.get("Circuit-Next")
    if link is None and number is None:
        return None
    if link is None or number is None:
        raise ValueError("Circuit-Link and Circuit-Next come together, not one alone")
    if len(link) != 32 or any(c not in "0123456789abcdefABCDEF" for c in link):
        raise ValueError("Circuit-Link is 32 hex characters")
    if not number.isdigit() or int(number) < 1:
        raise ValueError(f"Circuit-Next is a message number from 1, not {number!r}")
    return link.lower(), int(number), request.headers.get("Circuit-Retained") == "1"


class _Server:
    """Serves a sketch's loop: one acknowledgement per message, in order."""

    def __init__(self, instance: Sketch, options: argparse.Namespace):
        self.sketch = instance
        self.options = options
        self.turn = asyncio.Lock()  # the loop runs one message at a time, like `&mut self`
        self.memory = _Memory()
        self.messages = 0
        self.peers = 0
        self.refused = 0

    def _admit(self, connection, request):
        token = self.options.token
        if not token:
            return None
        offered = [value[len("Bearer "):] for value in request.headers.get_all("Authorization") if value.startswith("Bearer ")]
        offered += [value for key, value in parse_qsl(urlsplit(request.path).query) if key == "token"]
        if any(hmac.compare_digest(value.encode(), token.encode()) for value in offered):
            return None
        out("warning: refused a peer with 401: no valid token")
        return connection.respond(HTTPStatus.UNAUTHORIZED, "no valid token\n")

    async def _peer(self, connection) -> None:
        self.peers += 1
        path = urlsplit(connection.request.path).path
        out(f"** new client connected, path={path}")
        try:
            resume = _resume(connection.request)
        except ValueError as err:
            out(f"warning: the peer on {path} sent bad resume headers ({err}); served as a plain peer")
            resume = None
        number = retained = None
        if resume is not None:
            link, number, retained = resume
        acknowledged = refused = from_memory = 0
        told = told_old = False
        try:
            async for message in connection:
                if isinstance(message, bytes):
                    message = message.decode("utf-8", "replace")
                answer = None
                if resume is not None and not retained:
                    state = self.memory.get(link)
                    if number <= state[0]:
                        answer = next((text for n, text in state[1] if n == number), None)
                        if answer is None:
                            answer = "n/a"
                            if not told_old:
                                told_old = True
                                out(f"warning: message {number} of the link on {path} is older than what is remembered; answered n/a, not run again")
                        from_memory += 1
                if answer is None:
                    answer = await self._answer(path, message)
                    if resume is not None and not retained:
                        state = self.memory.get(link)
                        state[0] = number
                        state[1].append((number, answer))
                    if answer.startswith("error:"):
                        refused += 1
                        if not told:
                            told = True
                            out(f"warning: refused a message from the peer on {path}: {answer} (its further refusals are counted, not logged)")
                if resume is not None:
                    if retained:
                        retained = False
                    else:
                        number += 1
                self.messages += 1
                acknowledged += 1
                await connection.send(answer)
        except ConnectionClosed:
            pass
        self.refused += refused
        counts = f"{acknowledged} acknowledged"
        extra = []
        if refused:
            extra.append(f"{refused} refused")
        if from_memory:
            extra.append(f"{from_memory} answered from memory, already processed")
        if extra:
            counts += f" ({', '.join(extra)})"
        frame = connection.protocol.close_rcvd
        how = f"peer closed with {frame.code}" if frame is not None else "connection closed"
        out(f"done processing messages: path={path}, {counts}, {how}")

    async def _answer(self, channel: str, text: str) -> str:
        try:
            message = _read(self.sketch, text)
        except ValueError as err:
            return f"error: {err}"
        async with self.turn:
            try:
                return as_text(await _call(self.sketch, channel, message))
            except Exception as err:  # the loop's failure is this message's answer
                return _error_text(err)

    def _bind(self) -> socket.socket:
        host, port = self.options.host, self.options.port
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        # One socket, IPv4 first: `--port 0` then gets one port for every peer.
        addresses.sort(key=lambda info: info[0] != socket.AF_INET)
        family, kind, proto, _, address = addresses[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(address)
        except OSError:
            listener.close()
            raise
        listener.listen(128)
        listener.setblocking(False)
        return listener

    async def main(self) -> int:
        host = self.options.host
        try:
            listener = self._bind()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                out(f"error: Cannot bind to this port! Is the server already running? ({host}:{self.options.port}: {err.strerror})")
            elif err.errno == errno.EADDRNOTAVAIL:
                out(f"error: {host} is not an address of this machine")
            else:
                out(f"error: cannot serve on {host}:{self.options.port}: {err}")
            return 1
        except socket.gaierror as err:
            out(f"error: cannot serve on {host}: {err}")
            return 1
        stop = _stopping()
        links = [value for value in vars(self.sketch).values() if isinstance(value, Link)]
        server = await serve(self._peer, sock=listener, process_request=self._admit, server_header=None)
        port = listener.getsockname()[1]
        self.sketch.port = port
        out(f"serving on {host}:{port}")
        for link in links:
            link.start()
        await stop.wait()
        out("Keyboard interruption, aborting.")
        server.close()  # close frames (1001) to every peer
        try:
            # A loop still waiting on a link whose peer is down gets --stop-timeout.
            await asyncio.wait_for(server.wait_closed(), self.options.stop_timeout)
            code = 0
        except asyncio.TimeoutError:
            out(f"error: a loop was still waiting on a link after --stop-timeout ({self.options.stop_timeout:g} s); its message is lost")
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            code = 1
        for link in links:
            await link.close()
            out(link.summary())
        refused = f", {self.refused} refused" if self.refused else ""
        out(f"served {self.messages} messages from {self.peers} peer{'' if self.peers == 1 else 's'}{refused}")
        return code


class _Timer:
    """Runs a timer sketch: `tick(n)` every `--delay` seconds, each result sent
    to the server and its acknowledgement awaited, until `tick` returns None."""

    def __init__(self, instance: Sketch, options: argparse.Namespace):
        self.sketch = instance
        self.options = options
        url = options.to or f"ws://{options.socket}:{options.port}/{type(instance).channel.lstrip('/')}"
        self.target = Link(url)._live(url, options.token, options.ack_timeout)

    async def main(self) -> int:
        stop = _stopping()
        work = asyncio.get_running_loop().create_task(self._ticks())
        stopped = asyncio.get_running_loop().create_task(stop.wait())
        await asyncio.wait([work, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            out("Keyboard interruption, aborting.")
            work.cancel()
            try:
                await work
            except asyncio.CancelledError:
                pass
            code = 0
        else:
            code = work.result()
        stopped.cancel()
        await self.target.close()
        return code

    async def _ticks(self) -> int:
        link = self.target
        sent = acknowledged = 0
        n = 0
        try:
            while True:
                tick = await _call(self.sketch, n)
                if tick is None:
                    break
                if n:
                    await asyncio.sleep(self.sketch.every)
                text = as_text(tick)
                out(f"> {text}")
                sent += 1
                link._number += 1
                try:
                    answer = await link._deliver(text, deadline=time.monotonic() + self.options.retry_for)
                except Unreachable as why:
                    out(f"error: {link.url}: no server answered within {self.options.retry_for:g} s ({why})")
                    return 1
                except Refused:
                    return 1
                acknowledged += 1
                out(f"< {answer}")
                n += 1
        finally:
            out(f"{sent} ticks sent, {acknowledged} acknowledged, {link.resent} resent")
        return 0
