"""`schedule …` and `daemon …`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from dashboard.adapters.config import load_registry
from dashboard.adapters.paths import Paths
from dashboard.cli.args import MAX_FAIL_AFTER, MAX_WAIT_S, check_targets, in_range, read_prompt
from dashboard.cli.context import fleet_from, host_from, open_store, server_argv
from dashboard.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_UNDELIVERED, UsageError
from dashboard.cli.render import print_schedule
from dashboard.core.wording import RUN_MARKS

if TYPE_CHECKING:
    from dashboard.adapters.store import Store
    from dashboard.core.model import Schedule
    from dashboard.core.ports import ScheduleBook
    from dashboard.services.daemon import Also


async def cmd_daemon(args: argparse.Namespace) -> int:
    from dashboard.services import daemon

    paths = Paths.from_env()
    if args.action == "start":
        extra = [*(["--notify", args.notify] if args.notify else []), "--feed", args.feed]
        code, message = await asyncio.to_thread(daemon.start, paths, server_argv(args), extra)
    elif args.action == "stop":
        code, message = await asyncio.to_thread(daemon.stop, paths)
    else:
        info = daemon.status(paths)
        code = EXIT_OK if info["running"] else EXIT_ERROR
        if args.json:
            print(json.dumps(info))
        else:
            print(f"daemon running (pid {info['pid']})" if info["running"] else "no daemon is running")
        return code
    if args.json:
        print(json.dumps({"ok": code == 0, "message": message, **daemon.status(paths)}))
    else:
        print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code


async def cmd_schedule(args: argparse.Namespace) -> int:
    from dashboard.adapters.schedules import Schedules

    action = args.schedule_command
    async with open_store() as store:
        schedules = Schedules(store)
        if action == "add":
            return await schedule_add(args, schedules)
        if action == "list":
            return await schedule_list(args, schedules)
        s = await schedules.get(args.name)
        if s is None:
            raise UsageError(f"no schedule named '{args.name}' (dispatch schedule list)")
        if action == "show":
            runs = await schedules.runs(s.id or 0, 20)
            if args.json:
                print(json.dumps({**s.to_json(), "runs": [r.to_json() for r in runs]}))
                return EXIT_OK
            print_schedule(s)
            for r in runs:
                when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.scheduled))
                canary = f" canary {r.canary}" if r.canary else ""
                send = f" send #{r.send}" if r.send else ""
                print(f"  {when}  {r.outcome:11} {r.verdict or '-':18}{canary}{send}  {r.detail[:70]}")
            return EXIT_OK
        if action in ("pause", "resume"):
            await schedules.set_paused(s.name, action == "pause")
            print(json.dumps({"name": s.name, "paused": action == "pause"}) if args.json else f"{s.name}: {action}d")
            return EXIT_OK
        if action == "remove":
            await schedules.remove(s.name)
            print(json.dumps({"name": s.name, "removed": True}) if args.json else f"{s.name}: removed")
            return EXIT_OK
        return await schedule_run_now(args, store, s)


async def schedule_add(args: argparse.Namespace, schedules: ScheduleBook) -> int:
    from dashboard.core.schedule import ScheduleError
    from dashboard.services.daemon import local_tz
    from dashboard.services.schedules import ScheduleRequest, add_schedule

    prompt = read_prompt(args) if args.prompt is not None or args.file else ""
    in_range("--expect-timeout", args.expect_timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    in_range("--fail-after", args.fail_after, 1, MAX_FAIL_AFTER)
    registry = load_registry(Paths.from_env().config_file)
    check_targets([args.target], registry.machines, nothing="no schedule was added")
    when = ("every", args.every) if args.every else ("cron", args.cron) if args.cron else ("at", args.at)
    request = ScheduleRequest(
        args.name, args.target, when, prompt, args.canary, args.expect, args.expect_timeout, args.missed,
        args.when_idle, args.fail_after, args.on_failure,
    )  # fmt: skip
    try:
        s = await add_schedule(schedules, request, registry, local_tz(), await host_from(args).socket())
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(s.to_json()))
    else:
        print_schedule(s)
    return EXIT_OK


async def schedule_list(args: argparse.Namespace, schedules: ScheduleBook) -> int:
    items = await schedules.all()
    if args.json:
        out = []
        for s in items:
            runs = await schedules.runs(s.id or 0, 5)
            out.append({**s.to_json(), "last_runs": [r.outcome for r in runs]})
        print(json.dumps(out))
        return EXIT_OK
    if not items:
        print("no schedules (dispatch schedule add NAME --target T --every 30m PROMPT)")
    for s in items:
        runs = await schedules.runs(s.id or 0, 8)
        marks = "".join(RUN_MARKS.get(r.outcome, "?") for r in reversed(runs))
        nxt = time.strftime("%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire else "-"
        state = "paused" if s.paused else s.state.upper() if s.state == "failing" else s.state
        print(f"{s.name:20} {state:8} {s.kind:5} {s.spec:16} next {nxt:14} {marks:8} → {s.target}")
    return EXIT_OK


async def schedule_run_now(args: argparse.Namespace, store: Store, s: Schedule) -> int:
    from dashboard.adapters.schedules import Schedules
    from dashboard.services.daemon import local_tz
    from dashboard.services.scheduler import Scheduler

    async with fleet_from(args) as fleet:
        scheduler = Scheduler(store, Schedules(store), lambda: fleet, local_tz(), log=lambda _line: None)
        run = await Schedules(store).claim_manual(s, os.getpid())
        run = await scheduler.fire(s, run)
    if args.json:
        print(json.dumps(run.to_json()))
    else:
        print(f"{s.name}: run {run.id} {run.outcome} — {run.detail}")
    return EXIT_OK if run.outcome == "ok" else EXIT_UNDELIVERED


def daemon_extras(args: argparse.Namespace) -> Also:
    """What the daemon serves besides its schedules: the CLI's warm path, feeds, and the attention watch.

    Feeds (unless --feed off) let its sends look as agents redraw; the attention watch runs with --notify.
    """
    from dashboard.cli.warm import serve

    async def also(paths: Paths, stop: asyncio.Event) -> None:
        jobs = [serve(paths, stop)]
        if args.feed != "off":
            jobs.append(_keep_feeds(args, stop))
        if args.notify:
            jobs.append(_watch_attention(args, paths, stop))
        await asyncio.gather(*jobs)

    return also


async def _keep_feeds(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from dashboard.services.watch import keep_feeds

    async with fleet_from(args) as fleet:
        await keep_feeds(fleet, stop, always=args.feed == "on")


async def _watch_attention(args: argparse.Namespace, paths: Paths, stop: asyncio.Event) -> None:
    from dashboard.adapters.notify import CommandNotifier
    from dashboard.adapters.store import Store
    from dashboard.services.attention import watch

    notifier = CommandNotifier(args.notify)
    async with Store(paths.db) as log, fleet_from(args) as fleet:
        await watch(fleet, log, notifier, stop)
    await notifier.drain()
