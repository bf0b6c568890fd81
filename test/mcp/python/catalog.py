# The Python `mcp` SDK's client against upstream resources and prompts through Custos's /mcp
# (test/mcp/upstream-catalog.test.ts): lists resources, templates and prompts, reads a record and a template
# expansion, gets a prompt, and tries a credentials file, a blob and a subscription; prints what it got as
# one JSON document.
import asyncio
import json
import os
import sys
import warnings

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def failure(e):
    return {"error": str(e), "code": getattr(getattr(e, "error", None), "code", None)}


async def attempt(fn):
    try:
        return {"ok": await fn()}
    except Exception as e:  # the SDK raises McpError for a JSON-RPC error
        return failure(e)


def texts(result):
    return [getattr(c, "text", None) for c in result.contents]


# The SDK warns that subscriptions leave a later revision: the call is made on purpose, to be refused.
warnings.filterwarnings("ignore", message=".*subscribe.*")


async def main() -> None:
    url, token = sys.argv[1], os.environ["CUSTOS_TOKEN"]
    out = {}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as mcp:
                await mcp.initialize()
                out["resources"] = sorted(str(r.uri) for r in (await mcp.list_resources()).resources)
                out["templates"] = sorted(t.uri_template for t in (await mcp.list_resource_templates()).resource_templates)
                out["prompts"] = sorted(p.name for p in (await mcp.list_prompts()).prompts)
                out["record"] = texts(await mcp.read_resource("custos://files/test://customers/7"))
                out["expanded"] = texts(await mcp.read_resource("custos://local/test://customers/12"))
                prompt = await mcp.get_prompt("files__summarise_customer", {"id": "7"})
                out["prompt"] = [m.content.model_dump(mode="json") for m in prompt.messages]
                out["secrets"] = await attempt(lambda: mcp.read_resource("custos://files/test://config/secrets.env"))
                out["blob"] = await attempt(lambda: mcp.read_resource("custos://files/test://logo.png"))
                out["subscribe"] = await attempt(lambda: mcp.subscribe_resource("custos://files/test://customers/7"))
    print(json.dumps(out, default=str))


asyncio.run(main())
