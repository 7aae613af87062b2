"""Raw tty bytes to key events.

The misbehaviours under test hinge on how input arrives (a paste split across reads, an Enter glued to
the text before it, a lone Esc), so the parser keeps partial escapes, pastes and UTF-8 across reads
instead of assuming one read is one key.
"""

from __future__ import annotations

ESC_TIMEOUT = 0.05  # a lone ESC is a key press only if nothing follows it this quickly
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"

Event = tuple[str, str]
"""(kind, data): kind is text, paste, enter, lf, backspace, tab, ctrl_c, ctrl_d, kill, esc or other."""


class InputParser:
    """Turns raw tty bytes into key events; keeps partial escapes, pastes and UTF-8 across reads."""

    def __init__(self) -> None:
        self.buf = b""
        self.in_paste = False
        self.paste = bytearray()
        self.pending_since: float | None = None

    def feed(self, data: bytes, now: float) -> list[Event]:
        self.buf += data
        return self._parse(now, final=False)

    def flush(self, now: float) -> list[Event]:
        """Resolve a lone ESC (or a cut-off sequence) once nothing has followed it for ESC_TIMEOUT."""
        since = self.pending_since
        if self.buf and not self.in_paste and since is not None and now - since >= ESC_TIMEOUT:
            return self._parse(now, final=True)
        return []

    @property
    def waiting(self) -> bool:
        """True while buffered bytes may still turn into a key, so the caller polls sooner."""
        return bool(self.buf) and not self.in_paste

    def _parse(self, now: float, final: bool) -> list[Event]:
        out: list[Event] = []
        buf, i, n = self.buf, 0, len(self.buf)
        while i < n:
            if self.in_paste:
                j = buf.find(PASTE_END, i)
                if j < 0:
                    keep = _partial_suffix(buf[i:], PASTE_END)
                    self.paste += buf[i : n - keep]
                    i = n - keep
                    break
                self.paste += buf[i:j]
                i = j + len(PASTE_END)
                self.in_paste = False
                text = self.paste.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
                self.paste.clear()
                out.append(("paste", text))
                continue
            b = buf[i]
            if b == 0x1B:
                step = self._escape(buf, i, final)
                if step is None:
                    break
                length, ev = step
                i += length
                if ev is not None:
                    out.append(ev)
            elif b == 0x0D:
                out.append(("enter", "\r"))
                i += 1
            elif b == 0x0A:
                out.append(("lf", "\n"))
                i += 1
            elif b in (0x7F, 0x08):
                out.append(("backspace", ""))
                i += 1
            elif b == 0x09:
                out.append(("tab", "\t"))
                i += 1
            elif b in (0x03, 0x04, 0x15):
                out.append(({0x03: "ctrl_c", 0x04: "ctrl_d", 0x15: "kill"}[b], ""))
                i += 1
            elif b < 0x20:
                out.append(("other", ""))
                i += 1
            else:
                j = i
                while j < n and buf[j] >= 0x20 and buf[j] != 0x7F and buf[j] != 0x1B:
                    j += 1
                cut = 0 if final or j < n else _incomplete_utf8(buf[i:j])
                if j - cut > i:
                    out.append(("text", buf[i : j - cut].decode("utf-8", "replace")))
                i = j - cut
                if cut:
                    break
        self.buf = buf[i:]
        self.pending_since = now if self.buf else None
        return out

    def _escape(self, buf: bytes, i: int, final: bool) -> tuple[int, Event | None] | None:
        n = len(buf)
        if i + 1 >= n:
            return (1, ("esc", "")) if final else None
        c = buf[i + 1]
        if c == ord("["):
            j = i + 2
            while j < n and 0x30 <= buf[j] <= 0x3F:
                j += 1
            while j < n and 0x20 <= buf[j] <= 0x2F:
                j += 1
            if j >= n:
                return (n - i, ("other", "")) if final else None
            if not 0x40 <= buf[j] <= 0x7E:
                return 2, ("other", "")
            if buf[i : j + 1] == PASTE_START:
                self.in_paste = True
                return j + 1 - i, None
            return j + 1 - i, ("other", "")
        if c == ord("O"):
            if i + 2 >= n:
                return (n - i, ("other", "")) if final else None
            return 3, ("other", "")
        if c == 0x1B:
            return 1, ("esc", "")
        return 2, ("other", "")  # Alt+key: ignored


def _partial_suffix(data: bytes, marker: bytes) -> int:
    """Length of the longest tail of data that could be the start of marker split across reads."""
    for k in range(min(len(marker) - 1, len(data)), 0, -1):
        if data.endswith(marker[:k]):
            return k
    return 0


def _incomplete_utf8(data: bytes) -> int:
    """Bytes at the end of data that begin a UTF-8 character still missing its continuation bytes."""
    for back in range(1, min(4, len(data)) + 1):
        b = data[-back]
        if b & 0xC0 == 0x80:
            continue
        need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
        return back if need > back else 0
    return 0
