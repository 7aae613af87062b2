"""The Qwen Code and Continue CLI profiles beyond their captures: the command lines they run under."""

from __future__ import annotations

import pytest

from dashboard.core.agents import known

# `#{pane_current_command}` is `node` for both; these are the pane processes' command lines as seen
# live (scripts/agents/launch_extra.sh), with the install prefix as a person would have it
CMDLINES = {
    "qwen": [
        "node /home/operator/.npm-global/lib/node_modules/.bin/qwen",
        "/usr/bin/node --expose-gc /home/operator/.npm-global/lib/node_modules/@qwen-code/qwen-code/cli.js",
        "node /usr/local/bin/qwen --yolo",
    ],
    "continue": [
        "node /home/operator/.npm-global/bin/cn --config /home/operator/.continue/config.yaml",
        "node /usr/lib/node_modules/@continuedev/cli/dist/cn.js",
        "node /usr/local/bin/cn",
    ],
}


@pytest.mark.parametrize("agent", sorted(CMDLINES))
def test_the_launcher_command_line_names_the_agent(agent: str) -> None:
    for cmdline in CMDLINES[agent]:
        found = [p.name for p in known().profiles if p.runs_in("node", cmdline)]
        assert found == [agent], (cmdline, found)


@pytest.mark.parametrize(
    "cmdline",
    ["node /usr/local/bin/gemini", "node /usr/local/bin/codex", "node /srv/app/server.js", "node /opt/cnx/main.js"],
)
def test_other_node_programs_are_not_taken(cmdline: str) -> None:
    for name in ("qwen", "continue"):
        assert not known()[name].runs_in("node", cmdline)
