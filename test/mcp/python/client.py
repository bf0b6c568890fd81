# The Python `mcp` SDK's client against Custos's /mcp (test/mcp/python.test.ts): lists the tools, runs a
# read, a write the policy denies and an unknown tool, and prints what it got as one JSON document.
import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def dump(result):
    return {
        "is_error": bool(result.is_error),
        "text": "\n".join(c.text for c in result.content if getattr(c, "text", None) is not None),
        "structured": result.structured_content,
    }


async def main() -> None:
    url, token = sys.argv[1], os.environ["CUSTOS_TOKEN"]
    out = {}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as mcp:
                init = await mcp.initialize()
                out["protocol"] = init.protocol_version
                out["tools"] = sorted(t.name for t in (await mcp.list_tools()).tools)
                out["read"] = dump(await mcp.call_tool("ledger__query", {"sql": sys.argv[2], "params": [1]}))
                out["denied"] = dump(await mcp.call_tool("ledger__query", {"sql": "DELETE FROM customers"}))
                try:
                    unknown = await mcp.call_tool("vault__query", {"sql": "SELECT 1"})
                    out["unknown"] = dump(unknown)
                except Exception as e:  # the SDK raises McpError for a JSON-RPC error
                    out["unknown"] = {"error": str(e), "code": getattr(getattr(e, "error", None), "code", None)}
    print(json.dumps(out))


asyncio.run(main())
