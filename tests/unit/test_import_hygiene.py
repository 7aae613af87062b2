"""The CLI's one-shot commands and the core never import Textual (start-up cost, layering)."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.conftest import ROOT


def _holds(code: str) -> None:
    """Run `code` in a fresh interpreter (nothing imported yet): it exits 0 when its check holds, else prints why."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_and_core_do_not_import_textual() -> None:
    code = (
        "import sys, dashboard.cli, dashboard.core.classify, dashboard.services.send, dashboard.services.batch;"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    _holds(code)


def test_core_imports_only_stdlib() -> None:
    code = (
        "import sys; before = set(sys.modules);"
        "import dashboard.core.classify, dashboard.core.verdict, dashboard.core.guard, dashboard.core.timing,"
        " dashboard.core.diff;"
        "new = {m.split('.')[0] for m in set(sys.modules) - before};"
        "third = sorted(m for m in new if m != 'dashboard' and m not in sys.stdlib_module_names);"
        "print(third); sys.exit(1 if third else 0)"
    )
    _holds(code)


def test_the_warm_client_imports_neither_json_nor_socket_nor_re() -> None:
    """The warm path's client is what every scripted send pays for: json (with re, enum) and socket cost ~13 ms."""
    code = (
        "import sys; from dashboard.cli import main, warm;"
        "heavy = sorted({'json', 'socket', 're', 'enum', 'typing', 'asyncio'} & set(sys.modules));"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    _holds(code)
