"""Serve the fake gateway on 127.0.0.1 and a free port; print GATEWAY_READY {"port": N}."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tests.gateway.app import create_gateway


async def main() -> None:
    runner = web.AppRunner(create_gateway(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print("GATEWAY_READY " + json.dumps({"port": port}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
