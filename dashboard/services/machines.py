"""Enrolling a machine in the registry: trust on first use, as ssh does, with nothing assumed.

The host key must be trusted by known_hosts or accepted explicitly (a flag that must equal the
presented key, or a person at a terminal); the tmux server must answer as the machine itself; the
machine must have a machine-id to record, or its identity could never be checked again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from dashboard.adapters.ssh import SshLink, UntrustedHostKey
from dashboard.core.ports import HostError
from dashboard.core.registry import Identity, Machine


async def enroll(
    draft: Machine,
    ssh_config: str | None,
    *,
    accept_key: str | None = None,
    confirm: Callable[[str], bool] = lambda _fingerprint: False,
) -> tuple[Machine, Identity, float | None]:
    """Connect to `draft`, read its identity, and return the machine to record (with its connect time).

    `accept_key`: the fingerprint the operator checked out of band; it must equal the presented key,
    also when known_hosts already trusts one. `confirm(fingerprint)`: asked only for an unknown key
    when no `accept_key` was given (a terminal prompt). Raises HostError for every refusal.
    """
    link = SshLink(draft, ssh_config, verify=False)
    try:
        try:
            await link.connection()
        except UntrustedHostKey as exc:
            accepted = _accepted(draft, exc, accept_key, confirm)
            link = SshLink(dataclasses.replace(draft, host_key=accepted), ssh_config, verify=False)
            await link.connection()
        identity = link.status.identity
        assert identity is not None
    finally:
        await link.close()
    if accept_key and identity.host_key != accept_key:
        # known_hosts trusted the key, but it is not the one the operator checked out of band
        raise HostError(f"{draft.name}: host key is {identity.host_key}, not the --accept-key {accept_key}")
    if identity.tmux_host is not None and identity.tmux_host != identity.hostname:
        raise HostError(
            f"{draft.name}: the tmux server answers as {identity.tmux_host!r} but the machine is {identity.hostname!r}"
        )
    if not identity.machine_id:
        raise HostError(f"{draft.name}: no /etc/machine-id to record (identity would be unverifiable)")
    machine = dataclasses.replace(
        draft, hostname=identity.hostname, machine_id=identity.machine_id, host_key=identity.host_key
    )
    return machine, identity, link.status.connect_ms


def _accepted(draft: Machine, exc: UntrustedHostKey, accept_key: str | None, confirm: Callable[[str], bool]) -> str:
    """The presented fingerprint if the operator accepted it, else a refusal that says how to accept."""
    presented = exc.fingerprint
    if presented is None:
        raise exc
    if accept_key:
        if accept_key != presented:
            raise HostError(f"{draft.name}: host key is {presented}, not the --accept-key {accept_key}")
        return presented
    if confirm(presented):
        return presented
    raise HostError(
        f"{draft.name}: host key {presented} is not in known_hosts; after checking it on the machine"
        f" (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), re-run with --accept-key {presented}"
    )
