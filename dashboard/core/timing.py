"""The delay between paste and submit key, computed from the prompt (every number overridable)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
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


MAX_DELAY_MS = 60_000.0
"""The longest paste→submit delay, floor or ceiling accepted: beyond a minute the prompt would sit in the
composer, unsubmitted, long enough for the operator (or another sender) to type into it."""


class TimingError(ValueError):
    """A timing setting that is not a finite non-negative number, or a combination that makes no sense."""


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
        """Apply environment then flags (flags win); unset flags (None) leave the value alone.

        The combined policy is checked (`check`), each value named by where it came from.
        """
        values: dict[str, float] = {}
        sources: dict[str, str] = {}
        for attr, var in ENV.items():
            if env and env.get(var, "").strip():
                values[attr] = _number(var, env[var])
                sources[attr] = var
        for attr, value in flags.items():
            if attr not in ENV:
                raise TypeError(f"unknown timing setting {attr}")
            if value is not None:
                values[attr] = _number(FLAGS[attr], value)
                sources[attr] = FLAGS[attr]
        policy = replace(self, **values)
        policy.check(sources)
        return policy

    def check(self, sources: Mapping[str, str] | None = None) -> None:
        """Raise TimingError unless every delay is at most `MAX_DELAY_MS` and the floor is not above the ceiling.

        `sources` names where each attribute's value came from (a flag or an environment variable).
        """
        sources = sources or {}
        for attr in ("fixed_ms", "floor_ms", "ceil_ms"):
            value = getattr(self, attr)
            if value is not None and value > MAX_DELAY_MS:
                raise TimingError(
                    f"{sources.get(attr, attr)}={value:g} is above the {MAX_DELAY_MS:g} ms maximum"
                    " (a longer wait leaves the prompt sitting unsubmitted in the composer)"
                )
        if self.floor_ms > self.ceil_ms:
            raise TimingError(
                f"the delay floor {self.floor_ms:g} ms ({sources.get('floor_ms', 'default')}) is above the ceiling"
                f" {self.ceil_ms:g} ms ({sources.get('ceil_ms', 'default')})"
            )


def _number(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TimingError(f"{name}={value!r} is not a number") from None
    if not 0 <= number < math.inf:  # also refuses nan
        raise TimingError(f"{name}={value!r} must be a finite non-negative number")
    return number


def look_waits(cap_s: float, first_s: float = 0.004, growth: float = 1.5) -> Iterator[float]:
    """Pauses between looks for a reaction: short at first, then longer up to `cap_s`.

    Agents redraw within milliseconds of a key, so a quick reaction is seen quickly; a slow one costs few looks.
    """
    wait = first_s
    while True:
        yield min(wait, cap_s)
        wait *= growth
