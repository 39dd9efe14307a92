"""SSH node pools as a provider: an instance is a claimed pool host.

Regions are pool names (``infra: ssh/<pool>``); instance types are the distinct real shapes of a
pool's hosts, probed over SSH. Provisioning claims free hosts of the asked shape (one cluster per
host at a time) and writes a marker on the host; terminating cleans Styx's files from the host
and frees it. Hosts cannot be stopped (``stop_start=False``): autostop tears the cluster down,
and the head does that by cleaning the hosts itself (the client's claims are on the client), so
the client checks each claimed host's marker when it lists instances and frees released ones.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styx.errors import (
    CapacityError,
    ClusterError,
    InvalidRequestError,
    ProviderError,
    Scope,
    TransientError,
    UnsupportedError,
)
from styx.providers.base import Capabilities, CloudProvider, ProvisionRequest
from styx.providers.instance import (
    Instance,
    InstanceId,
    InstanceState,
    InstanceType,
    ProviderType,
)
from styx.providers.ssh import hostops
from styx.providers.ssh.claims import Claim, ClaimStore
from styx.providers.ssh.pools import PoolHost, load_pools, pools_path
from styx.providers.ssh.probe import PROBE, HostShape, ShapeCache, parse_probe

if TYPE_CHECKING:
    from styx.providers.access import ClusterAccess

PROBE_TTL_S = 24 * 3600.0
PROBE_CONNECT_TIMEOUT_S = 20.0


def _styx_home_path() -> Path:
    """$STYX_HOME without creating it (on a head node nothing must appear in ~/.styx)."""
    return Path(os.environ.get("STYX_HOME") or Path.home() / ".styx").expanduser()


def _translate(exc: BaseException, host: PoolHost) -> ProviderError:
    """The provider's one error table: SSH failures -> the Styx taxonomy."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ClusterError) and "host key changed" in str(exc):
        return InvalidRequestError(
            str(exc), provider="ssh", region=host.pool, native_code="HostKeyChanged"
        )
    return TransientError(
        f"{host.ip}:{host.port}: {exc}",
        provider="ssh",
        region=host.pool,
        native_code="SSHUnreachable",
    )


class SSHProvider(CloudProvider):
    provider_type = ProviderType.SSH
    capabilities = Capabilities(stop_start=False, spot=False, multi_node=True, open_ports=False)

    def __init__(self, home: str | os.PathLike[str] | None = None, **config: Any) -> None:
        self._home = Path(home) if home else None
        self._config = config

    # ---- configuration -----------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self._home or _styx_home_path()

    def config(self) -> dict[str, Any]:
        if self._config:
            return self._config
        from styx.config import provider_config

        return provider_config("ssh")

    def pools(self) -> dict[str, list[PoolHost]]:
        return load_pools(self.home)

    @property
    def claims(self) -> ClaimStore:
        return ClaimStore(self.home / "ssh")

    def _hosts(self) -> dict[str, PoolHost]:
        return {h.host_id: h for hosts in self.pools().values() for h in hosts}

    def credentials(self, inst: Instance) -> tuple[str | None, str | None]:
        host = self._hosts().get(inst.native_id or "")
        if host is None:
            raise InvalidRequestError(
                f"host {inst.native_id} is no longer in {pools_path(self.home)}",
                provider="ssh",
                region=inst.region,
                native_code="HostNotInPool",
            )
        return host.identity_file, host.password

    # ---- SSH to pool hosts -------------------------------------------------------------------

    def _target(self, host: PoolHost, timeout: float | None = None) -> Any:
        from styx.execution.ssh.target import SSHTarget

        cfg = self.config()
        return SSHTarget(
            host=host.ip,
            port=host.port,
            user=host.user,
            key_path=host.identity_file,
            password=host.password,
            proxy_command=cfg.get("ssh_proxy_command"),
            jump_host=cfg.get("ssh_jump_host"),
            connect_timeout_s=timeout
            or float(cfg.get("ssh_probe_timeout", PROBE_CONNECT_TIMEOUT_S)),
            label=host.ip,
        )

    async def _run(self, host: PoolHost, cmd: str, timeout: float | None = None) -> tuple[int, str]:
        from styx.execution.ssh.runner import SSHCommandRunner
        from styx.execution.ssh.target import MemoryHostKeys

        runner = SSHCommandRunner(self._target(host, timeout), MemoryHostKeys())
        lines: list[str] = []
        try:
            code = await runner.run(cmd, on_output=lines.append)
        except (ClusterError, OSError) as exc:
            raise _translate(exc, host) from exc
        finally:
            await runner.close()
        return code, "".join(lines)

    async def shape(self, host: PoolHost) -> HostShape:
        cache = ShapeCache(self.home / "ssh", float(self.config().get("probe_ttl_s", PROBE_TTL_S)))
        cached = cache.get(host.host_id)
        if cached is not None:
            return cached
        _code, out = await self._run(host, PROBE)
        try:
            shape = parse_probe(out)
        except ValueError as exc:
            raise TransientError(str(exc), provider="ssh", region=host.pool) from exc
        cache.put(host.host_id, shape)
        return shape

    async def _shapes(self, hosts: list[PoolHost]) -> dict[str, HostShape]:
        results = await asyncio.gather(*(self.shape(h) for h in hosts), return_exceptions=True)
        return {
            h.host_id: r for h, r in zip(hosts, results, strict=True) if isinstance(r, HostShape)
        }

    # ---- inventory ---------------------------------------------------------------------------

    async def list_regions(self) -> list[str]:
        return sorted(self.pools())

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        pools = self.pools()
        out: dict[tuple[str, str], InstanceType] = {}
        for pool, hosts in sorted(pools.items()):
            if region is not None and pool != region:
                continue
            for shape in (await self._shapes(hosts)).values():
                gpu = shape.gpus[0] if shape.gpus else None
                out.setdefault(
                    (pool, shape.type_name),
                    InstanceType(
                        name=shape.type_name,
                        vcpus=float(shape.cpus),
                        memory_gib=shape.memory_gib,
                        accelerator_name=gpu[0] if gpu else None,
                        accelerator_count=len(shape.gpus),
                        accelerator_memory_gib=gpu[1] if gpu else None,
                        price_per_hour=0.0,
                        region=pool,
                    ),
                )
        return list(out.values())

    async def is_available(self) -> bool:
        try:
            return bool(self.pools())
        except ProviderError:
            return False

    async def check(self) -> str:
        try:
            pools = self.pools()
        except ProviderError as exc:
            return f"disabled: {exc}"
        if not pools:
            return f"disabled: no pools; list your machines in {pools_path(self.home)}"
        return "pools: " + ", ".join(f"{p} ({len(h)} hosts)" for p, h in sorted(pools.items()))

    # ---- lifecycle ---------------------------------------------------------------------------

    def _pool_for(self, request: ProvisionRequest) -> str:
        pools = self.pools()
        if request.region:
            if request.region not in pools:
                raise InvalidRequestError(
                    f"no SSH pool '{request.region}' in {pools_path(self.home)}; pools: "
                    + (", ".join(sorted(pools)) or "none"),
                    provider="ssh",
                    region=request.region,
                    native_code="UnknownPool",
                )
            return request.region
        if len(pools) != 1:
            raise InvalidRequestError(
                "name the pool with infra: ssh/<pool>", provider="ssh", native_code="PoolNeeded"
            )
        return next(iter(pools))

    def _to_instance(
        self, claim: Claim, state: InstanceState, reason: str | None = None
    ) -> Instance:
        host = self._hosts().get(claim.host_id)
        return Instance(
            id=InstanceId(claim.instance_id),
            provider=ProviderType.SSH,
            cluster_name=claim.cluster_name,
            instance_type=claim.instance_type,
            state=state,
            native_id=claim.host_id,
            region=claim.host_id.split("/", 1)[0],
            private_ip=host.ip if host else None,
            node_rank=claim.node_rank,
            tags=dict(claim.tags),
            launched_at=datetime.fromisoformat(claim.launched_at) if claim.launched_at else None,
            state_reason=reason,
            ssh_port=host.port if host else 22,
            ssh_user=host.user if host else None,
        )

    async def provision(self, request: ProvisionRequest) -> Instance:
        existing = self.claims.get(request.instance_id)
        if existing is not None:  # idempotent retry
            return self._to_instance(existing, InstanceState.RUNNING)
        pool = self._pool_for(request)
        hosts = self.pools()[pool]
        shapes = await self._shapes(hosts)
        matching = [
            h
            for h in hosts
            if h.host_id in shapes and shapes[h.host_id].type_name == request.instance_type
        ]
        with self.claims.locked() as claims:
            if request.instance_id in claims:
                return self._to_instance(claims[request.instance_id], InstanceState.RUNNING)
            taken = {c.host_id for c in claims.values()}
            free = [h for h in matching if h.host_id not in taken]
            if not free:
                raise CapacityError(
                    f"no free host of shape {request.instance_type} in pool '{pool}' "
                    f"({len(matching)} such host(s), all claimed or unreachable)",
                    provider="ssh",
                    region=pool,
                    native_code="NoFreeHost",
                    scope=Scope.NONE,  # the pool is known exactly: a host frees with its cluster
                )
            host = free[0]
            claim = Claim(
                instance_id=request.instance_id,
                host_id=host.host_id,
                cluster_name=request.cluster_name,
                instance_type=request.instance_type,
                node_rank=request.node_rank,
                tags=dict(request.tags),
                launched_at=datetime.now(UTC).isoformat(),
            )
            claims[claim.instance_id] = claim
        try:
            code, out = await self._run(
                host, hostops.marker_command(claim.instance_id, claim.cluster_name)
            )
            if code != 0:
                raise TransientError(
                    f"{host.ip}:{host.port}: cannot write the claim marker: {out.strip()[-200:]}",
                    provider="ssh",
                    region=pool,
                    native_code="MarkerFailed",
                )
        except BaseException:
            with self.claims.locked() as claims:
                claims.pop(claim.instance_id, None)
            raise
        return self._to_instance(claim, InstanceState.RUNNING)

    async def _verify(self, claim: Claim) -> Instance | None:
        """The claim as seen on its host: None once the host was released from the node side."""
        host = self._hosts().get(claim.host_id)
        if host is None:
            return self._to_instance(claim, InstanceState.ERROR, "host removed from the pool file")
        try:
            code, out = await self._run(host, hostops.read_marker_command())
        except ProviderError as exc:
            return self._to_instance(claim, InstanceState.ERROR, f"unreachable: {exc}")
        if code == 0 and hostops.marker_owner(out) != claim.instance_id:
            with self.claims.locked() as claims:  # autostop (on the head) already released it
                claims.pop(claim.instance_id, None)
            return None
        return self._to_instance(claim, InstanceState.RUNNING)

    async def list_instances(self) -> list[Instance]:
        claims = list(self.claims.all().values())
        results = await asyncio.gather(*(self._verify(c) for c in claims))
        return [r for r in results if r is not None]

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        claim = self.claims.get(instance_id)
        return await self._verify(claim) if claim else None

    async def terminate(self, instance_id: InstanceId) -> None:
        claims_file = self.home / "ssh" / "claims.json"
        claim = self.claims.get(instance_id) if claims_file.exists() else None
        if claim is None:
            spec = hostops.head_node_map().get(instance_id)
            if spec is not None:  # running on the head: autostop releasing its own cluster
                await asyncio.to_thread(hostops.release_from_head, instance_id, spec)
            return
        host = self._hosts().get(claim.host_id)
        if host is not None:
            try:
                await self._run(host, f"bash --noprofile --norc -c {_quote(hostops.CLEANUP)}")
            except ProviderError:
                pass  # an unreachable host is still released; its files go on the next claim
        with self.claims.locked() as claims:
            claims.pop(instance_id, None)

    async def stop(self, instance_id: InstanceId) -> None:
        raise UnsupportedError(
            "SSH pool hosts cannot be stopped; use `styx down` to release them", provider="ssh"
        )

    async def start(self, instance_id: InstanceId) -> None:
        raise UnsupportedError(
            "SSH pool hosts cannot be stopped or started; launch again instead", provider="ssh"
        )

    async def cluster_access(self, cluster_name: str, instances: list[Instance]) -> ClusterAccess:
        """Pool hosts over SSH with each host's own key or password from the pool file."""
        from styx.execution.ssh.access import SSHAccessConfig, SSHClusterAccess, SSHCredentials

        def credentials(inst: Instance) -> SSHCredentials:
            key, password = self.credentials(inst)
            return SSHCredentials(key, password)

        config = SSHAccessConfig.for_pool(self.config(), credentials)
        return SSHClusterAccess(cluster_name, instances, config)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
