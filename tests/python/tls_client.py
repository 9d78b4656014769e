"""A plain `websockets` client over TLS (Python's `ssl`): connects to ARGV[1]
trusting the CA in ARGV[2], sends each further argument as a message and
prints each answer on a line of its own."""

import asyncio
import ssl
import sys

from websockets.asyncio.client import connect


async def main(url, ca, messages):
    context = ssl.create_default_context(cafile=ca)
    async with connect(url, ssl=context) as connection:
        for message in messages:
            await connection.send(message)
            print(await connection.recv(), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
