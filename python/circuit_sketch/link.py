"""A link to another sketch: sends one message at a time, in order, waits for
its acknowledgement, and reconnects (with backoff) to resend what was not
acknowledged."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any, Optional

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, InvalidHandshake

from .sketch import as_text, out

# The wait after a failed attempt: from 50 ms, doubling, to 1 s; an
# acknowledgement resets it, so a peer that accepts and drops at once is
# still retried at most once a second.
FIRST_WAIT = 0.05
LONGEST_WAIT = 1.0


class Refused(Exception):
    """The server refused the handshake for good (HTTP 401: no valid token)."""


class Unreachable(Exception):
    """The server could not be reached before the deadline."""


class Link:
    """A link to another sketch's URL. As a class attribute of a sketch
    (`buzzer = Link("ws://localhost:8766/pin")`) it becomes the flag
    `--buzzer URL`; `await self.buzzer.send(level)` sends and returns the
    acknowledgement.

    It names itself and numbers its messages in its handshakes
    (`Circuit-Link`, `Circuit-Next`), so that a circuit server answers a
    resent message it already processed from memory instead of running it again."""

    def __init__(self, url: Optional[str] = None, help: str = ""):
        self.url = url
        self.help = help
        self.token: Optional[str] = None
        self.ack_timeout = 10.0
        self._identity = secrets.token_hex(16)
        self._number = 0
        self._connection = None
        self._lock: Optional[asyncio.Lock] = None
        self._wait = FIRST_WAIT
        self._told_down = False
        self._told_refusal = False
        self._background: Optional[asyncio.Task] = None
        self.delivered = 0
        self.refused = 0
        self.resent = 0

    def _live(self, url: Optional[str], token: Optional[str], ack_timeout: float) -> "Link":
        """A working copy of this declaration, for one sketch instance."""
        link = Link(url, self.help)
        link.token = token
        link.ack_timeout = ack_timeout
        return link

    def start(self) -> None:
        """Connects in the background, so a peer that is down is said once and retried."""
        if self.url is not None:
            self._background = asyncio.get_running_loop().create_task(self._connect_early())

    async def _connect_early(self) -> None:
        async with self._guard():
            try:
                await self._connected(deadline=None)
            except Refused:
                pass

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def send(self, message: Any) -> str:
        """Sends `message` (as text: `None` as `n/a`, booleans as `true`/`false`)
        and returns its acknowledgement, after any messages sent before it.
        A connection lost before the acknowledgement is made again, with
        backoff, and the message resent."""
        if self.url is None:
            raise ValueError("this link has no URL: give it on the command line")
        async with self._guard():
            self._number += 1
            return await self._deliver(as_text(message), deadline=None)

    async def _deliver(self, text: str, deadline: Optional[float]) -> str:
        """Sends `text` until it is acknowledged; `Unreachable` past `deadline`
        (a time.monotonic()), `Refused` on HTTP 401."""
        attempt = 0
        while True:
            connection = await self._connected(deadline)
            if attempt:
                self.resent += 1
            attempt += 1
            try:
                await connection.send(text)
                while True:
                    answer = await asyncio.wait_for(connection.recv(), self.ack_timeout)
                    if isinstance(answer, str):
                        break
                    # A binary answer is no acknowledgement of ours.
            except (ConnectionClosed, asyncio.TimeoutError, OSError) as err:
                why = "no acknowledgement within --ack-timeout" if isinstance(err, asyncio.TimeoutError) else _why(err)
                out(f"link to {self.url}: connection lost ({why}); resending")
                await self._drop()
                await self._pause(deadline)
                continue
            self._wait = FIRST_WAIT
            self.delivered += 1
            if answer.startswith("error:"):
                self.refused += 1
                if not self._told_refusal:
                    self._told_refusal = True
                    out(f"warning: link to {self.url}: the peer refused {text!r}: {answer} (further refusals are counted)")
            return answer

    async def _connected(self, deadline: Optional[float]):
        """The open connection, made (again) if needed, with backoff between attempts."""
        while self._connection is None:
            headers = {"Circuit-Link": self._identity, "Circuit-Next": str(max(self._number, 1))}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                self._connection = await asyncio.wait_for(
                    connect(self.url, additional_headers=headers, open_timeout=None, ping_interval=20),
                    timeout=10,
                )
            except InvalidStatus as err:
                if err.response.status_code == 401:
                    out(f"error: {self.url}: the server asks for a token (HTTP 401): give it with --token")
                    raise Refused() from None
                await self._failed(err, deadline)
            except (OSError, asyncio.TimeoutError, InvalidHandshake, InvalidURI) as err:
                if isinstance(err, InvalidURI):
                    raise ValueError(f"{self.url} is not a ws:// or wss:// URL") from None
                await self._failed(err, deadline)
        if self._told_down:
            self._told_down = False
            out(f"link to {self.url}: connected")
        return self._connection

    async def _failed(self, err: BaseException, deadline: Optional[float]) -> None:
        if not self._told_down:
            self._told_down = True
            if deadline is None:
                out(f"link to {self.url}: not reachable yet ({_why(err)}); retrying in the background")
        if deadline is not None and time.monotonic() >= deadline:
            raise Unreachable(_why(err))
        await self._pause(deadline)

    async def _pause(self, deadline: Optional[float]) -> None:
        wait = self._wait
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.monotonic()))
        await asyncio.sleep(wait)
        self._wait = min(self._wait * 2, LONGEST_WAIT)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), 1)
            except Exception:
                pass

    async def close(self) -> None:
        """Closes the connection (code 1000) and stops retrying."""
        if self._background is not None:
            self._background.cancel()
            try:
                await self._background
            except (asyncio.CancelledError, Exception):
                pass
        await self._drop()

    def summary(self) -> str:
        """The link's end line."""
        text = f"link to {self.url}: {self.delivered} delivered"
        if self.refused:
            text += f" ({self.refused} refused by the peer)"
        if self.resent:
            text += f", {self.resent} resent"
        return text


def _why(err: BaseException) -> str:
    if isinstance(err, ConnectionClosed):
        frame = err.rcvd
        return f"the peer closed with {frame.code}" if frame else "the connection dropped"
    if isinstance(err, asyncio.TimeoutError):
        return "timed out"
    text = str(err) or err.__class__.__name__
    return text
