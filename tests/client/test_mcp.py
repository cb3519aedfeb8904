"""`timeledger mcp`, driven by the official mcp SDK's own client over stdio, against the live
server: every tool, with what the server then holds."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from typing import Any

from clientkit import BIN, Account
from mcp import Client, StdioServerParameters

TOOLS = {
    "start_timer",
    "stop_timer",
    "current_timer",
    "log_time",
    "log_outcome",
    "list_entries",
    "summary",
}


def test_every_tool_over_stdio(account: Account, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELEDGER_")}
    env.update(
        TIMELEDGER_API_KEY=account.token,
        TIMELEDGER_BASE_URL=account.url,
        XDG_CONFIG_HOME=str(tmp_path),  # no stored login: the variables configure it
    )
    server = StdioServerParameters(command=str(BIN / "timeledger"), args=["mcp"], env=env)

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with Client(server, read_timeout_seconds=30) as client:

            async def call(name: str, **arguments: Any) -> Any:
                result = await client.call_tool(name, arguments)
                if result.is_error:
                    return result.content[0].text
                return result.structured_content

            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            seen["tools"] = tools
            seen["idle"] = await call("current_timer")
            seen["started"] = await call(
                "start_timer", project="WEB", task="Development", notes="Triage inbox"
            )
            seen["running"] = await call("current_timer")
            seen["twice"] = await call("start_timer", project="WEB", task="Development")
            seen["stopped"] = await call("stop_timer", metadata={"tokens_in": 900})
            seen["stop_again"] = await call("stop_timer")
            seen["logged"] = await call(
                "log_time", project="Website", task="development", hours=1.5, notes="Refactor"
            )
            seen["bad_project"] = await call("log_time", project="Nope", task="x", hours=1)
            seen["bad_hours"] = await call("log_time", project="WEB", task="x", hours=-1)
            seen["outcome"] = await call(
                "log_outcome",
                project="WEB",
                task="Development",
                type="ticket_resolved",
                unit_price=0.99,
                quantity=2,
                evidence={"ticket_id": "TKT-1"},
            )
            seen["entries"] = await call("list_entries")
            seen["summary"] = await call("summary")
        return seen

    seen = asyncio.run(session())

    assert set(seen["tools"]) == TOOLS
    schema = seen["tools"]["log_time"].input_schema
    assert schema["required"] == ["project", "task", "hours"]
    assert "1.5" in schema["properties"]["hours"]["description"]

    assert seen["idle"] == {"running": False, "entry": None}
    started = seen["started"]
    assert started["is_running"] and started["source"] == "agent"
    assert started["project"]["name"] == "Website" and started["notes"] == "Triage inbox"
    assert seen["running"]["entry"]["id"] == started["id"]
    assert seen["twice"].startswith("Error executing tool start_timer: timer_running: ")
    assert (
        "call stop_timer first, or call start_timer again with replace_running=true"
        in (seen["twice"])
    )
    assert seen["stopped"]["id"] == started["id"] and not seen["stopped"]["is_running"]
    assert seen["stopped"]["metadata"] == {"tokens_in": 900}
    assert "no timer is running -> start one with start_timer" in seen["stop_again"]
    assert seen["logged"]["hours"] == 1.5 and seen["logged"]["source"] == "agent"
    assert "no project named 'Nope'" in seen["bad_project"]
    assert "hours" in seen["bad_hours"]
    assert seen["outcome"]["revenue"] == 1.98 and seen["outcome"]["type"] == "ticket_resolved"
    assert {e["id"] for e in seen["entries"]["entries"]} >= {started["id"], seen["logged"]["id"]}
    summary = seen["summary"]
    assert summary["outcomes"] == {"total": 1, "successful": 1, "revenue": 1.98}
    assert summary["by_project"][0]["project"] == "Website"

    with account.client() as client:
        entry = client.time_entries.get(seen["logged"]["id"])
        assert (entry.hours, entry.source, entry.notes) == (Decimal("1.5"), "agent", "Refactor")
        [outcome] = client.outcomes.list()
        assert outcome.evidence == {"ticket_id": "TKT-1"} and outcome.source == "agent"
        assert client.timers.current() is None
