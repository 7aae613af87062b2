"""`dispatch mcp` driven by the MCP SDK's own client over stdio, against fake agents on a real tmux server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from dashboard.core.model import PaneState
from tests.integration.conftest import ROOT, Bench


@asynccontextmanager
async def session(cli_env: list[str], *flags: str) -> AsyncIterator[ClientSession]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPATCH_NO_DAEMON": "1"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "dashboard", *cli_env, "mcp", *flags], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        yield s


async def call(s: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    res = await s.call_tool(tool, arguments)
    assert not res.is_error, res
    out: dict[str, Any] = res.structured_content  # type: ignore[assignment, union-attr]
    return out


async def test_an_orchestrator_sends_through_mcp_and_gets_the_verdict_with_its_evidence(
    bench: Bench, cli_env: list[str]
) -> None:
    a, b = bench.agent("a"), bench.agent("b", style="codex")
    shell = bench.shell("sh")
    for agent in (a, b):
        await bench.wait_state(agent.pane_id, PaneState.IDLE)
    async with session(cli_env) as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert names == {"panes", "log", "show", "verify", "send", "batch"}  # never exec
        panes = await call(s, "panes")
        assert panes["ok"] and {p["pane_id"] for p in panes["result"]} == {a.pane_id, b.pane_id, shell}

        sent = await call(s, "send", target="a:0.0", prompt="-rf is not an option here: summarise the diff")
        rec = sent["result"]
        assert sent["exit_code"] == 0 and rec["verdict"] == "submitted" and rec["evidence"]
        assert a.received() == ["-rf is not an option here: summarise the diff"]

        refused = await call(s, "send", target="sh:0.0", prompt="hello")
        assert refused["exit_code"] == 3 and refused["result"]["verdict"] == "refused"
        assert "shell" in refused["result"]["reason"]

        await bench.wait_state(a.pane_id, PaneState.IDLE)
        batch = await call(s, "batch", targets=["a:0.0", "b:0.0"], prompt="run the tests")
        *recs, summary = batch["result"]
        assert summary["summary"] and summary["ok"] and summary["batch"].startswith("b")
        assert {r["verdict"] for r in recs} == {"submitted"}
        assert b.received() == ["run the tests"] and a.received()[-1] == "run the tests"

        shown = await call(s, "show", send_id=rec["id"])
        assert shown["result"]["id"] == rec["id"] and shown["result"]["snapshots"]["before"]
        logged = await call(s, "log", batch=summary["batch"])
        assert len(logged["result"]) == 2


async def test_read_only_offers_nothing_that_sends(bench: Bench, cli_env: list[str]) -> None:
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    async with session(cli_env, "--read-only") as s:
        assert {t.name for t in (await s.list_tools()).tools} == {"panes", "log", "show", "verify"}
        res = await s.call_tool("send", {"target": "a:0.0", "prompt": "x"})
        assert res.is_error
    assert agent.received() == []
