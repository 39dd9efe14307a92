"""Where a cluster's opened ports answer: ``styx status --endpoints CLUSTER [PORT]``."""

from __future__ import annotations

from styx.errors import ClusterError, StyxError
from styx.providers.instance import Instance
from styx.resources import parse_ports
from styx.state.store import ClusterRecord


def opened_ports(record: ClusterRecord) -> tuple[int, ...]:
    """The ports the cluster's task opened (``resources.ports``), as saved at launch."""
    resources = record.task_yaml.get("resources") or {}
    value = resources.get("ports") if isinstance(resources, dict) else None
    return parse_ports(value, "resources.ports") if value is not None else ()


def endpoint_host(record: ClusterRecord, head: Instance) -> str:
    """The head's address as the user reaches it: its public IP, or the private one when the
    provider's section says ``use_internal_ips`` (or the node has no public IP: local, where it
    is 127.0.0.1, and nodes inside a private network)."""
    from styx.config import provider_config

    internal = bool(provider_config(record.provider).get("use_internal_ips"))
    host = (head.private_ip or head.public_ip) if internal else (head.public_ip or head.private_ip)
    if not host:
        raise ClusterError(
            f"cluster '{record.name}': the head has no IP address", cluster=record.name
        )
    return host


def endpoints(
    record: ClusterRecord, instances: list[Instance], port: int | None = None
) -> dict[int, str]:
    """``{port: url}`` for every opened port, or for ``port`` alone."""
    ports = opened_ports(record)
    if not ports:
        raise StyxError(
            f"cluster '{record.name}' opens no ports; set resources.ports (or --ports) at launch"
        )
    if port is not None and port not in ports:
        shown = ", ".join(str(p) for p in ports[:20]) + (", ..." if len(ports) > 20 else "")
        raise StyxError(f"cluster '{record.name}' does not open port {port}; it opens {shown}")
    if not instances:
        raise ClusterError(f"cluster '{record.name}' has no nodes", cluster=record.name)
    head = min(instances, key=lambda i: i.node_rank)
    host = endpoint_host(record, head)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal in a URL
    return {p: f"http://{host}:{p}" for p in (ports if port is None else (port,))}
