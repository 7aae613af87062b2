"""`dispatch mcp`: the CLI's commands as MCP tools over stdio, for agents that direct other agents.

Each tool runs the very CLI command (cli/capture.py), so it answers with the CLI's JSON — the verdict,
its evidence and the reason — and its exit code: an orchestrator learns that a prompt was *submitted*
only when Dispatch saw it submitted, and otherwise exactly what was seen. `--read-only` offers only
the tools that send nothing (panes, log, show, verify). Shell commands (`exec`) are never offered.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dashboard.cli.context import server_argv
from dashboard.cli.exits import EXIT_ERROR

INSTRUCTIONS = (
    "Dispatch sends prompts to AI coding agents running in tmux panes and proves each one was submitted. "
    "Call `panes` to see every pane with its agent and state, `send` (one pane) or `batch` (many) to deliver a "
    "prompt. A result's `verdict` is `submitted` (or `queued`) only on evidence read from the pane after the "
    "submit key; anything else is named (stuck-in-composer, not-received, refused: …) with the reason — never "
    "retry blindly: `show` a send's record, `log` the recent ones, `verify` a batch read-only. Targets are "
    "`%12`, `session:window.pane`, or `machine:session:window.pane` on a registered machine."
)


def _result(code: int, out: str, err: str) -> dict[str, Any]:
    """The CLI's answer as a tool's: its JSON (one value, or a list of its JSON lines), exit code, error line."""
    lines = [line for line in out.splitlines() if line.strip()]
    try:
        parsed = [json.loads(line) for line in lines]
        result: Any = parsed[0] if len(parsed) == 1 else parsed
    except ValueError:
        result = out
    return {"exit_code": code, "ok": code == 0, "result": result, "error": err.strip() or None}


async def cmd_mcp(args: argparse.Namespace) -> int:
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        from dashboard.cli.exits import UsageError

        raise UsageError("dispatch mcp needs the MCP SDK: pip install 'dispatch-console[mcp]'") from None
    from dashboard.cli.capture import run_argv

    server = server_argv(args)
    mcp: MCPServer[Any] = MCPServer("dispatch", instructions=INSTRUCTIONS)

    async def call(*argv: str) -> dict[str, Any]:
        return _result(*await run_argv([*server, *argv]))

    @mcp.tool()
    async def panes(machine: str | None = None) -> dict[str, Any]:
        """Every pane (of one machine, or of all) with its agent and state.

        States: idle, working, stuck-in-composer, dialog, needs-input, rate-limited, shell, dead, unknown;
        also what its composer holds and its last line.
        """
        return await call("panes", "--json", *(["--", machine] if machine else []))  # never read as an option

    @mcp.tool()
    async def log(limit: int = 20, batch: str | None = None) -> dict[str, Any]:
        """The most recent sends with their verdicts (a batch's with batch="b7")."""
        return await call("log", "--json", "-n", str(limit), *(["--batch", batch] if batch else []))

    @mcp.tool()
    async def show(send_id: int) -> dict[str, Any]:
        """One send's whole record: verdict, evidence, reason, timings, and the pane's screens before and after."""
        return await call("show", str(send_id), "--json")

    @mcp.tool()
    async def verify(batch: str) -> dict[str, Any]:
        """Re-check a batch (batch="b7") or one send ("42") read-only: confirmed, refuted or unknown for each."""
        return await call("verify", "--json", "--", batch)

    if not args.read_only:

        @mcp.tool()
        async def send(target: str, prompt: str, wait: bool = False, timeout: float = 120.0) -> dict[str, Any]:
            """Send a prompt to one agent pane and verify it was submitted.

            wait=True also waits for the agent's turn to end and returns its reply.
            """
            extra = ["--wait", "--timeout", str(timeout)] if wait else []
            return await call("send", "--json", *extra, "--", target, prompt)

        @mcp.tool()
        async def batch(targets: list[str], prompt: str) -> dict[str, Any]:
            """Send one prompt to many panes at once, each verified; the last item of the result is the summary."""
            return await call("batch", "--json", f"--prompt={prompt}", "--", *targets)

    try:
        await mcp.run_stdio_async()
    except Exception as exc:  # the client went away mid-message, or the transport broke: say so on stderr
        print(f"dispatch: mcp: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return 0
