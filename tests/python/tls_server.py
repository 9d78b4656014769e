"""A plain `websockets` server over TLS (Python's `ssl`), no circuit code:
answers each text message with `got MESSAGE`. ARGV: certificate, key.
Prints its port; stops after 60 seconds at most."""

import asyncio
import ssl
import sys

from websockets.asyncio.server import serve


async def answer(connection):
    async for message in connection:
        await connection.send(f"got {message}")


async def main(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with serve(answer, "127.0.0.1", 0, ssl=context) as server:
        print("serving", server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(60)


asyncio.run(main(sys.argv[1], sys.argv[2]))
