"""`fleet add | list | check | remove`: the machine registry."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from dashboard.adapters.config import load_registry
from dashboard.adapters.paths import Paths
from dashboard.cli.context import fleet_from
from dashboard.cli.exits import EXIT_HOST, EXIT_OK, UsageError


async def cmd_fleet(args: argparse.Namespace) -> int:
    return await {"add": fleet_add, "list": fleet_list, "check": fleet_check, "remove": fleet_remove}[
        args.fleet_command
    ](args)


async def fleet_add(args: argparse.Namespace) -> int:
    """Trust on first use, like ssh: an unknown host key is shown and must be accepted explicitly."""
    from dashboard.adapters.config import add_machine
    from dashboard.core.registry import Machine, check_name
    from dashboard.services.machines import enroll

    check_name(args.name, "machine name", malformed=False)
    paths = Paths.from_env()
    registry = load_registry(paths.config_file)
    if args.name in registry.machines and not args.replace:
        raise UsageError(f"machine '{args.name}' is already registered (use --replace to re-record it)")
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 1-65535")
    if not (0 < args.connect_timeout <= 600 and 0 < args.timeout <= 600):
        raise UsageError("--connect-timeout and --timeout take seconds in (0, 600]")
    draft = Machine(
        args.name, args.address, user=args.user, port=args.port, socket=args.socket,
        connect_timeout=args.connect_timeout, timeout=args.timeout,
    )  # fmt: skip
    machine, identity, connect_ms = await enroll(
        draft, registry.ssh_config, accept_key=args.accept_key, confirm=lambda key: _confirm(args, key)
    )
    add_machine(paths.config_file, machine, replace=args.replace)
    if args.json:
        print(json.dumps({**machine.to_json(), "recorded": True, "connect_ms": connect_ms}))
    else:
        print(f"{machine.name}: recorded in {paths.config_file}")
        print(f"  address    {machine.address}")
        print(f"  hostname   {identity.hostname}")
        print(f"  machine-id {identity.machine_id}")
        print(f"  host key   {identity.host_key}")
        print(f"  tmux       {'server up' if identity.tmux_host else 'no server on that socket yet'}")
    return EXIT_OK


def _confirm(args: argparse.Namespace, presented: str) -> bool:
    """Ask the person at the terminal (never a script: no tty, no trust) whether to trust an unknown key."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    print(f"{args.name} ({args.address}) presents host key {presented}", file=sys.stderr)
    print("It is not in known_hosts. Check it out of band (ssh-keygen -lf on that machine).", file=sys.stderr)
    return input("Trust this key and record the machine? [y/N] ").strip().lower() in ("y", "yes")


async def fleet_list(args: argparse.Namespace) -> int:
    registry = load_registry(Paths.from_env().config_file)
    if args.json:
        print(json.dumps([m.to_json() for m in registry.machines.values()]))
        return EXIT_OK
    if not registry.machines:
        print(f"no machines registered (dispatch fleet add NAME ADDRESS; config: {registry.source})")
        return EXIT_OK
    print(f"{'MACHINE':12} {'ADDRESS':24} {'HOSTNAME':16} {'MACHINE-ID':12} HOST KEY")
    for m in registry.machines.values():
        mid = (m.machine_id or "-")[:10] + ("…" if m.machine_id else "")
        print(f"{m.name:12} {m.address[:24]:24} {(m.hostname or '-')[:16]:16} {mid:12} {m.host_key or '-'}")
    return EXIT_OK


async def fleet_check(args: argparse.Namespace) -> int:
    from dashboard.services.fleet import check

    fleet = fleet_from(args)
    names = args.names or list(fleet.registry.machines)
    for name in names:
        fleet.host(name)  # unknown names fail before anything connects
    async with fleet:
        results = await asyncio.gather(*(check(fleet, n) for n in names))
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    elif not results:
        print("no machines registered (dispatch fleet add NAME ADDRESS)")
    for r in results if not args.json else ():
        if r.ok:
            tmux = f"tmux up, {r.panes} panes, {r.agents} agents" if r.tmux_up else "no tmux server"
            print(f"{r.name:12} ok       identity verified · {tmux} · {r.elapsed_ms} ms")
        elif r.mismatches:
            print(f"{r.name:12} WRONG    identity mismatch")
            for line in r.mismatches:
                print(f"{'':21}{line}")
        else:
            print(f"{r.name:12} {'FAILED' if r.reachable else 'DOWN':8} {r.error}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_HOST


async def fleet_remove(args: argparse.Namespace) -> int:
    from dashboard.adapters.config import remove_machine

    path = Paths.from_env().config_file
    remove_machine(path, args.name)
    print(json.dumps({"machine": args.name, "removed": True}) if args.json else f"{args.name}: removed from {path}")
    return EXIT_OK
