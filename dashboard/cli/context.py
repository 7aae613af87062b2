"""What a command opens: this machine's tmux server, the fleet, the log (with orphans concluded)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from dashboard.adapters.config import load_registry
from dashboard.adapters.paths import Paths
from dashboard.adapters.tmux import LocalTmux
from dashboard.cli.args import db_busy_ms
from dashboard.core.registry import RegistryError

if TYPE_CHECKING:
    from dashboard.adapters.store import Store
    from dashboard.services.fleet import Fleet


def host_from(args: argparse.Namespace) -> LocalTmux:
    return LocalTmux(socket_name=getattr(args, "socket_name", None), socket_path=getattr(args, "socket_path", None))


def fleet_from(args: argparse.Namespace) -> Fleet:
    """This machine's server (-L/-S) plus the registry; a malformed registry stops here (exit 6)."""
    from dashboard.services.fleet import Fleet

    return Fleet(host_from(args), load_registry(Paths.from_env().config_file))


@asynccontextmanager
async def open_store() -> AsyncIterator[Store]:
    """The log at DISPATCH_HOME, with sends cut off by a dead process concluded first.

    DISPATCH_DB_BUSY_MS bounds the wait for another writer (3000). No record stays `pending`
    forever: every command that opens the log concludes this machine's orphans (`interrupted`).
    """
    from dashboard.adapters.store import Store  # aiosqlite only for the commands that use the log

    async with Store(Paths.from_env().db, busy_timeout_ms=db_busy_ms()) as store:
        if await store.pending():
            await _conclude_orphans(store)
        yield store


async def _conclude_orphans(store: Store) -> None:
    from dashboard.services.fleet import Fleet
    from dashboard.services.recovery import conclude_interrupted

    try:
        registry = load_registry(Paths.from_env().config_file)
    except RegistryError:
        registry = None  # a broken registry is the command's own error to report
    async with Fleet(LocalTmux(), registry) as fleet:
        await conclude_interrupted(store, fleet)


def server_argv(args: argparse.Namespace) -> list[str]:
    if getattr(args, "socket_path", None):
        return ["-S", args.socket_path]
    if getattr(args, "socket_name", None):
        return ["-L", args.socket_name]
    return []
