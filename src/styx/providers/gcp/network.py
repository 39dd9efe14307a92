"""Per-cluster firewall rule: TCP 22 plus the task's ports, aimed at the cluster's network tag."""

from __future__ import annotations

from typing import Any

from styx.providers.gcp.clients import GCEApi
from styx.providers.gcp.naming import firewall_name, network_tag


def _ports(ports: tuple[int, ...]) -> list[str]:
    return [str(p) for p in sorted({22, *ports})]


def _rule(api: GCEApi, cluster: str, ports: tuple[int, ...]) -> Any:
    c = api.compute
    return c.Firewall(
        name=firewall_name(cluster),
        network=api.settings.network,
        direction="INGRESS",
        description=f"styx cluster {cluster}: ssh and task ports",
        allowed=[c.Allowed(I_p_protocol="tcp", ports=_ports(ports))],
        source_ranges=list(api.settings.firewall_source_ranges),
        target_tags=[network_tag(cluster)],
    )


async def ensure_firewall(api: GCEApi, cluster: str, ports: tuple[int, ...]) -> None:
    """Create the rule, or widen an existing one that lacks some of ``ports``."""
    name = firewall_name(cluster)
    rule = _rule(api, cluster, ports)
    op = await api.call(
        lambda: api.firewalls.insert_unary(
            project=api.project, firewall_resource=rule, retry=None, timeout=api.http_timeout
        ),
        creating=True,
        tolerate=(409,),
    )
    if op is not None:
        await api.wait_global_op(op)
        return
    existing = await api.must(
        lambda: api.firewalls.get(
            project=api.project, firewall=name, retry=None, timeout=api.http_timeout
        )
    )
    have = {p for a in existing.allowed for p in a.ports}
    wanted = set(_ports(ports))
    if wanted <= have:
        return
    # Another node of the cluster asked for other ports: keep the union.
    union = tuple(int(p) for p in (have | wanted) if p.isdigit())
    patch = _rule(api, cluster, union)
    op = await api.must(
        lambda: api.firewalls.patch_unary(
            project=api.project,
            firewall=name,
            firewall_resource=patch,
            retry=None,
            timeout=api.http_timeout,
        )
    )
    await api.wait_global_op(op)


async def delete_firewall(api: GCEApi, cluster: str) -> None:
    """Remove the cluster's rule; a missing rule is fine."""
    op = await api.call(
        lambda: api.firewalls.delete_unary(
            project=api.project,
            firewall=firewall_name(cluster),
            retry=None,
            timeout=api.http_timeout,
        ),
        tolerate=(404,),
    )
    if op is not None:
        await api.wait_global_op(op)
