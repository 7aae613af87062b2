"""``python -m dashboard.demo.fake_agent``: the entry point tests, the demo and benchmarks launch.

The command line must keep ``-m dashboard.demo.fake_agent``: ``dashboard.core.agents`` recognises the
fake agent's process by it.
"""

from __future__ import annotations

import sys

from dashboard.demo.fake_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
