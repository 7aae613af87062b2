"""UI tests reuse the integration bench: a private tmux server with fake agents."""

from __future__ import annotations

from tests.integration.conftest import Bench, bench, store  # noqa: F401  (fixtures)

__all__ = ["Bench"]
