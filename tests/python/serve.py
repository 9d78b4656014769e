"""A plain `websockets` server, no circuit code: answers each text message
with `got MESSAGE`, and registers itself with python-zeroconf as the sketch
ARGV[1] of `_circuit._tcp.local.` on ARGV[2] (this host's address). Stops
after 60 seconds at most."""

import asyncio
import socket
import sys

from websockets.asyncio.server import serve
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf


async def answer(connection):
    async for message in connection:
        await connection.send(f"got {message}")


async def main(name, address):
    async with serve(answer, "0.0.0.0", 0) as server:
        port = server.sockets[0].getsockname()[1]
        info = ServiceInfo(
            "_circuit._tcp.local.",
            f"{name}._circuit._tcp.local.",
            addresses=[socket.inet_aton(address)],
            port=port,
            properties={"sketch": name, "kind": "python", "takes": "String", "v": "1", "tls": "0", "auth": "0"},
            server=f"{name}-python.local.",
        )
        zeroconf = AsyncZeroconf()
        await zeroconf.async_register_service(info)
        print("serving", port, flush=True)
        try:
            await asyncio.sleep(60)
        finally:
            await zeroconf.async_unregister_service(info)
            await zeroconf.async_close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
