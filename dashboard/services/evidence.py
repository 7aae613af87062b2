"""Evidence files (dispatch-evidence v1): a batch's or one send's records, written and read back.

One JSON file per send (the record, its snapshots as plain lines, the identity its machine was
verified against) plus `summary.json`. `dispatch verify DIR` reads them back, so a batch can be
re-checked later without the log. Writer and reader live together so the format has one home.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from dashboard import __version__
from dashboard.adapters.process import this_machine
from dashboard.core.model import SendRecord, Verdict, batch_number, batch_ref
from dashboard.core.registry import Registry

FORMAT = "dispatch-evidence"
VERSION = 1


def record_json(rec: SendRecord, identity: dict[str, object] | None) -> dict[str, object]:
    """One send as an evidence file: everything needed to re-check it without the log."""
    from dashboard.core.diff import plain_lines

    return {
        "format": FORMAT,
        "version": VERSION,
        **rec.to_json(),
        "kind": rec.kind,
        "prompt": rec.prompt,
        "created": rec.created,
        "machine_identity": identity,
        "timings": rec.timings,
        "options": rec.options,
        "snapshots": {phase: plain_lines(text) for phase, text in rec.snapshots.items()},
    }


def load_export(directory: Path) -> tuple[dict[str, object], list[SendRecord]]:
    """Read an evidence directory back into records (what `verify DIR` checks)."""
    summary_path = directory / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{summary_path}: not a readable evidence summary ({exc})") from None
    if summary.get("format") != FORMAT or summary.get("version") != VERSION:
        raise ValueError(
            f"{summary_path}: not {FORMAT} v{VERSION} (got {summary.get('format')} v{summary.get('version')})"
        )
    records = []
    for send_id in summary.get("sends", []):
        path = directory / f"send-{send_id}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable ({exc})") from None
        rec = SendRecord(target=data["target"], prompt=data["prompt"], machine=data.get("machine") or "local")
        rec.id, rec.batch, rec.pane_id, rec.agent = (
            data.get("id"),
            batch_number(data.get("batch")),
            data.get("pane_id"),
            data.get("agent"),
        )
        rec.verdict = Verdict(data["verdict"])
        rec.kind = data.get("kind", "send")
        rec.server = data.get("server")  # None in files written before servers were recorded: "server unknown"
        snaps = data.get("snapshots") or {}
        if isinstance(snaps.get("before"), list):
            rec.snapshots["before"] = "\n".join(str(line) for line in snaps["before"])
        rec.created = data.get("created", 0.0)
        records.append(rec)
    return summary, records


def identity_of(machine: str, registry: Registry) -> dict[str, object] | None:
    """The identity a send's machine was verified against (the registry's record; this box's own for local)."""
    if machine in ("local", ""):
        hostname, machine_id = this_machine()
        return {"hostname": hostname, "machine_id": machine_id, "host_key": None, "source": "this machine"}
    m = registry.machines.get(machine)
    if m is None:
        return None
    return {"hostname": m.hostname, "machine_id": m.machine_id, "host_key": m.host_key,
            "source": "registry (checked before the send)"}  # fmt: skip


def export(recs: list[SendRecord], kind: str, number: int, out: Path, registry: Registry) -> None:
    """Write one evidence file per record and the summary into `out` (OSError when it cannot)."""
    out.mkdir(parents=True, exist_ok=True)
    for rec in recs:
        data = record_json(rec, identity_of(rec.machine, registry))
        (out / f"send-{rec.id}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    counts: dict[str, int] = {}
    for rec in recs:
        counts[str(rec.verdict)] = counts.get(str(rec.verdict), 0) + 1
    summary = {
        "format": FORMAT, "version": VERSION, "kind": kind, kind: batch_ref(number) if kind == "batch" else number,
        "exported": time.time(),
        "tool": f"dispatch {__version__}", "prompt": recs[0].prompt if recs else "",
        "created": min(r.created for r in recs) if recs else None,
        "sends": [r.id for r in recs], "verdicts": counts,
        "machines": sorted({r.machine for r in recs}),
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
