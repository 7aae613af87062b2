"""The delay between paste and submit key, computed from the prompt (every number overridable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

ENV = {
    "floor_ms": "DISPATCH_DELAY_FLOOR_MS",
    "ceil_ms": "DISPATCH_DELAY_CEIL_MS",
    "ms_per_word": "DISPATCH_MS_PER_WORD",
    "ms_per_char": "DISPATCH_MS_PER_CHAR",
    "fixed_ms": "DISPATCH_ENTER_DELAY_MS",
}
FLAGS = {
    "floor_ms": "--delay-floor-ms",
    "ceil_ms": "--delay-ceil-ms",
    "ms_per_word": "--ms-per-word",
    "ms_per_char": "--ms-per-char",
    "fixed_ms": "--delay-ms",
}


class TimingError(ValueError):
    """A timing setting that is not a non-negative number."""


@dataclass(frozen=True, slots=True)
class DelayPolicy:
    """`clamp(ms_per_word × words + ms_per_char × chars, floor, ceil)`, or `fixed_ms` when set.

    Agents treat an Enter that follows input too closely as a newline (Codex ~120 ms after a burst,
    Gemini ~50 ms after a paste); a longer prompt takes the agent longer to ingest, hence the rates.
    """

    floor_ms: float = 150.0
    ceil_ms: float = 4000.0
    ms_per_word: float = 9.0
    ms_per_char: float = 0.6
    fixed_ms: float | None = None

    def delay_ms(self, prompt: str) -> int:
        if self.fixed_ms is not None:
            return round(self.fixed_ms)
        raw = self.ms_per_word * len(prompt.split()) + self.ms_per_char * len(prompt)
        return round(min(max(raw, self.floor_ms), max(self.ceil_ms, self.floor_ms)))

    def overridden(self, env: Mapping[str, str] | None = None, **flags: float | None) -> DelayPolicy:
        """Apply environment then flags (flags win); unset flags (None) leave the value alone."""
        values: dict[str, float] = {}
        for attr, var in ENV.items():
            if env and env.get(var, "").strip():
                values[attr] = _number(var, env[var])
        for attr, value in flags.items():
            if attr not in ENV:
                raise TypeError(f"unknown timing setting {attr}")
            if value is not None:
                values[attr] = _number(FLAGS[attr], value)
        return replace(self, **values)


def _number(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TimingError(f"{name}={value!r} is not a number") from None
    if number < 0 or number != number:
        raise TimingError(f"{name}={value!r} must be a non-negative number")
    return number
