"""A real headless Chromium, driven over the DevTools protocol with aiohttp's websocket client.

Used by the browser test of `dispatch serve` and by scripts/screenshots.py for its browser picture.
Skipped (with the reason) where no Chromium is installed; CI installs Debian's.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = next((p for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None)


class Chromium:
    """One headless browser with one page; `call()` a DevTools method, `frames` holds websocket payloads seen."""

    def __init__(self, profile: Path, size: tuple[int, int] = (1400, 900)) -> None:
        self.profile, self.size = profile, size
        self.frames: list[bytes] = []
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def __aenter__(self) -> Chromium:
        assert CHROMIUM is not None, "no Chromium installed"
        self.proc = await asyncio.create_subprocess_exec(
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
            f"--window-size={self.size[0]},{self.size[1]}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stderr is not None
        port = None
        while port is None:
            line = (await asyncio.wait_for(self.proc.stderr.readline(), 30)).decode(errors="replace")
            if not line:
                raise RuntimeError("Chromium exited before it listened for DevTools")
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            port = int(m.group(1)) if m else None
        self.http = aiohttp.ClientSession()
        async with self.http.get(f"http://127.0.0.1:{port}/json/list") as r:
            pages = [t for t in await r.json() if t["type"] == "page"]
        self.ws = await self.http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.ensure_future(self._read())
        await self.call("Page.enable")
        await self.call("Network.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()
        await self.http.close()
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._answers:
                self._answers.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.webSocketFrameReceived":
                response = data["params"]["response"]
                payload = response.get("payloadData", "")
                raw = base64.b64decode(payload) if response.get("opcode") == 2 else payload.encode()
                self.frames.append(raw)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        n = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[n] = fut
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        answer = await asyncio.wait_for(fut, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def seen(self, text: str) -> bool:
        """Whether the page's websocket carried this text (what the app drew for it)."""
        needle = text.encode()
        return any(needle in f for f in self.frames)

    async def key(self, key: str, *, ctrl: bool = False) -> None:
        """A key press as a person makes it (keyDown with its text, keyUp)."""
        code = f"Key{key.upper()}" if len(key) == 1 and key.isalpha() else key
        vk = ord(key.upper()) if len(key) == 1 else {"Enter": 13, "Escape": 27}.get(key, 0)
        text = "" if ctrl else ("\r" if key == "Enter" else key)
        common = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": 2 if ctrl else 0}
        await self.call("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    async def type(self, text: str) -> None:
        """Text typed key by key (a terminal in a page takes keys, not pasted input events)."""
        for ch in text:
            common = {"key": ch, "code": "Space" if ch == " " else "", "windowsVirtualKeyCode": ord(ch.upper())}
            await self.call("Input.dispatchKeyEvent", type="keyDown", text=ch, **common)
            await self.call("Input.dispatchKeyEvent", type="keyUp", **common)

    async def click(self, x: int, y: int) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
