"""`agents list | show NAME | explain TARGET`: what Dispatch knows about agents, and why a pane reads as it does."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dashboard.cli.args import check_targets
from dashboard.cli.context import fleet_from
from dashboard.cli.exits import EXIT_ERROR, EXIT_OK, UsageError
from dashboard.core.agents import describe, known


async def cmd_agents(args: argparse.Namespace) -> int:
    if args.agents_command == "list":
        book = known()
        rows = [{"name": p.name, "label": p.label, "checked_against": p.version, "source": book.sources[p.name]}
                for p in book.profiles]  # fmt: skip
        if args.json:
            print(json.dumps(rows))
        else:
            for r in rows:
                print(f"{r['name']:10} {r['label']:14} checked against {r['checked_against'] or '-':10} {r['source']}")
        return EXIT_OK
    if args.agents_command == "show":
        book = known()
        profile = book.get(args.name)
        if profile is None:
            raise UsageError(
                f"no agent profile named {args.name!r} (known: {', '.join(p.name for p in book.profiles)})"
            )
        data = describe(profile, book.sources[profile.name])
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            for key, value in data.items():
                print(f"{key:16} {json.dumps(value, ensure_ascii=False)}")
        return EXIT_OK
    if args.agents_command == "test":
        return _test(args)
    if args.agents_command == "learn":
        return await _learn(args)
    return await _explain(args)


def _test(args: argparse.Namespace) -> int:
    from dashboard.services.agents import test_screens

    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a directory of saved screens")
    try:
        checks, unexpected = test_screens(folder)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    failed = [c for c in checks if not c.ok]
    if args.json:
        for c in checks:
            print(json.dumps(c.to_json(), ensure_ascii=False))
        print(
            json.dumps({"summary": True, "screens": len(checks), "failed": len(failed), "no_expectation": unexpected})
        )
    else:
        for c in checks:
            print(f"{'✓' if c.ok else '✗'} {c.screen}: {c.got['agent']} {c.got['state']}"
                  + "".join(f"\n    {p}" for p in c.problems))  # fmt: skip
        if unexpected:
            print(f"{len(unexpected)} screen(s) without NAME.expect.toml: {', '.join(unexpected[:5])}")
        print(f"{len(checks) - len(failed)}/{len(checks)} screens as expected")
    if not checks:
        raise UsageError(f"{folder}: no screen has an expectation (NAME.txt + NAME.expect.toml)")
    return EXIT_OK if not failed else EXIT_ERROR


async def _explain(args: argparse.Namespace) -> int:
    from dashboard.services.agents import explain_pane

    async with fleet_from(args) as fleet:
        check_targets([args.target], fleet.names)
        host, local = fleet.route(args.target)
        found = await explain_pane(host, local)
    if found is None:
        raise UsageError(f"no pane {args.target!r} on {host.describe()}")
    pane, why = found
    if args.json:
        print(json.dumps({"pane_id": pane.pane_id, "target": pane.address, "server": pane.server.key
                          if pane.server else None, **why.to_json()}, ensure_ascii=False))  # fmt: skip
        return EXIT_OK
    print(f"{pane.pane_id} ({pane.address}) runs {why.cmdline or why.command!r}")
    if why.chosen is None:
        print("  agent     none: no profile's process, and no screen scores 3 or more")
    else:
        runs = "yes" if why.runs_agent else "NO — a look-alike: sends are refused"
        print(f"  agent     {why.chosen} (chosen by its {why.chosen_by}); the process is the agent: {runs}")
    if why.scores:
        print("  screen    " + ", ".join(f"{n} {s}" for n, s in sorted(why.scores.items(), key=lambda kv: -kv[1])))
    print(f"  state     {why.cls.state}" + (f" (resets {why.cls.reset})" if why.cls.reset else ""))
    for marker in why.cls.markers:
        print(f"    because {marker}")
    if why.cls.composer_span is not None:
        start, end = why.cls.composer_span
        print(f"  composer  screen lines {start}–{end - 1}: {why.cls.composer!r}")
    else:
        print("  composer  not found on screen")
    return EXIT_OK


async def _learn(args: argparse.Namespace) -> int:
    from dashboard.adapters.paths import Paths
    from dashboard.core.agents import AgentProfileError, parse_profile
    from dashboard.services.learn import learn

    try:
        parse_profile({"name": args.name, "composer": {"bottom": "x", "top": "x"}}, "--name")
    except AgentProfileError as exc:
        raise UsageError(str(exc).replace("--name: profile", "--name")) from None
    out = Path(args.out) if args.out else Paths.from_env().config / "agents"
    async with fleet_from(args) as fleet:
        check_targets([args.target], fleet.names)
        host, local = fleet.route(args.target)
        pane = await host.pane(local) if local.startswith("%") else None
        if pane is None:
            from dashboard.core.registry import resolve_target

            pane = resolve_target(await host.list_panes(), local)
        if pane is None or pane.is_shell or pane.dead:
            raise UsageError(f"{args.target}: not a live agent pane (it is a shell, dead, or not there)")
        result = await learn(host, pane, args.name, out)
    for note in result.learned.notes:
        print(f"note: {note}")
    if not result.learned.ok:
        print(f"no profile written for {args.name}")
        return EXIT_ERROR
    print(f"proposed profile: {result.profile_file}   screens: {result.screens}")
    for stem, want, got in result.checks:
        print(f"{'✓' if want == got else '✗'} {stem}: expected {want}, the proposal reads {got}")
    print("then: dispatch agents test", result.screens, "· dispatch agents explain", args.target)
    return EXIT_OK if result.ok else EXIT_ERROR
