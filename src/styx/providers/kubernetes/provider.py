"""Kubernetes provider: each kubeconfig context is a region, each Styx node is a pod.

Pods cannot be stopped, only deleted (``stop_start=False``). A pod is named after its Styx id,
so a retried create answers 409 and we return the pod that exists. Provisioning waits, bounded
by ``schedule_timeout_s``, until the scheduler has placed the pods; an Unschedulable verdict
(FailedScheduling) becomes CapacityError at once and the request's pods are deleted.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from styx.config import owner_id
from styx.errors import (
    CapacityError,
    CredentialsError,
    InvalidRequestError,
    ProviderError,
    UnsupportedError,
)
from styx.providers.abilities import NodeIdentity
from styx.providers.base import Capabilities, CloudProvider, ProvisionRequest
from styx.providers.instance import (
    TAG_INSTANCE_ID,
    Instance,
    InstanceId,
    InstanceState,
    InstanceType,
    ProviderType,
)
from styx.providers.kubernetes.api import ContextApi, ContextInfo, new_api_client, read_contexts
from styx.providers.kubernetes.errors import PROVIDER, translate
from styx.providers.kubernetes.manifests import (
    id_selector,
    image_for,
    pod_body,
    pod_name,
    service_body,
    to_instance,
)
from styx.providers.kubernetes.rbac import ensure_agent_account
from styx.providers.kubernetes.settings import KubeSettings, resolve_settings
from styx.providers.kubernetes.shapes import (
    NodeInfo,
    instance_types,
    needs_nodes,
    non_gpu_requests,
    resolve_shape,
)
from styx.providers.sync import run_sync

if TYPE_CHECKING:
    from styx.providers.access import ClusterAccess
    from styx.providers.kubernetes.runner import KubernetesCommandRunner

POLL_S = 0.1
# Waiting reasons that will not fix themselves: the request (image, config) is wrong.
BAD_REQUEST_REASONS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
}


class KubernetesProvider(NodeIdentity, CloudProvider):
    provider_type = ProviderType.KUBERNETES
    capabilities = Capabilities(
        stop_start=False, spot=False, multi_node=True, open_ports=True, volumes=False
    )

    def __init__(self, **options: Any) -> None:
        """Options (all optional) override config.yaml's ``kubernetes:`` section: kubeconfig,
        namespace, allowed_contexts, schedule_timeout_s, request_timeout_s, check_timeout_s,
        retry_attempts, retry_backoff_s, cpu_image, gpu_image."""
        self.settings: KubeSettings = resolve_settings(**options)
        self._apis: dict[str, ContextApi] = {}
        self._namespaces_ready: set[str] = set()
        self._accounts: dict[str, str | None] = {}  # context -> service account for Styx pods
        self._where: dict[str, str] = {}  # Styx id -> context it was last seen in

    # ---- contexts ----------------------------------------------------------------------------

    async def _contexts(self) -> tuple[list[ContextInfo], str | None]:
        if not self.settings.kubeconfig_exists():
            raise CredentialsError(
                f"no kubeconfig at {self.settings.kubeconfig}; set KUBECONFIG or "
                "'kubernetes: {kubeconfig: PATH}' in ~/.styx/config.yaml",
                provider=PROVIDER,
            )
        try:
            return await run_sync(read_contexts, self.settings)
        except Exception as exc:
            raise CredentialsError(
                f"cannot read kubeconfig {self.settings.kubeconfig}: {exc}", provider=PROVIDER
            ) from exc

    async def _api(self, context: str | None = None) -> ContextApi:
        """The API of ``context`` (None: the current context if allowed, else the first allowed)."""
        infos, current = await self._contexts()
        by_name = {c.name: c for c in infos}
        name = context or (current if current in by_name else next(iter(by_name), None))
        if name is None or name not in by_name:
            wanted = context or current or "(none)"
            raise CredentialsError(
                f"context '{wanted}' is not in the kubeconfig or not in allowed_contexts "
                f"(usable: {', '.join(by_name) or 'none'})",
                provider=PROVIDER,
                region=context,
            )
        if name not in self._apis:
            try:
                self._apis[name] = await run_sync(ContextApi, self.settings, by_name[name])
            except Exception as exc:
                raise translate(exc, name, "load kubeconfig context") from exc
        return self._apis[name]

    async def _all_apis(self) -> list[ContextApi]:
        infos, _ = await self._contexts()
        return [await self._api(c.name) for c in infos]

    async def list_regions(self) -> list[str]:
        infos, _ = await self._contexts()
        return [c.name for c in infos]

    # ---- inventory ---------------------------------------------------------------------------

    async def _nodes(self, api: ContextApi) -> list[NodeInfo]:
        nodes = await api.call("list nodes", api.core.list_node)
        requested: dict[str, tuple[float, float]] = {}
        if any(NodeInfo.from_v1(n).gpus for n in nodes.items):
            # What pods already request on GPU nodes (daemon sets, system pods) is not there
            # for ours. Without the right to list pods cluster-wide, offer allocatable.
            pods = await api.call(
                "list pods",
                api.core.list_pod_for_all_namespaces,
                field_selector="status.phase!=Succeeded,status.phase!=Failed",
                allow=(403,),
            )
            requested = non_gpu_requests(pods.items) if pods is not None else {}
        return [
            NodeInfo.from_v1(n, requested.get(n.metadata.name, (0.0, 0.0))) for n in nodes.items
        ]

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        api = await self._api(region)
        return instance_types(await self._nodes(api), api.context)

    # ---- provisioning ------------------------------------------------------------------------

    async def provision(self, request: ProvisionRequest) -> Instance:
        return (await self._provision([request]))[0]

    async def provision_many(self, request: ProvisionRequest, count: int) -> list[Instance]:
        """All pods are created together and waited on together; all or nothing."""
        requests = [request if rank == 0 else request.for_rank(rank) for rank in range(count)]
        return await self._provision(requests)

    async def _provision(self, requests: list[ProvisionRequest]) -> list[Instance]:
        first = requests[0]
        api = await self._api(first.region)
        nodes = await self._nodes(api) if needs_nodes(first.instance_type, first.num_gpus) else []
        shape = resolve_shape(first.instance_type, first.num_gpus, nodes)
        image = image_for(first, shape, self.settings.cpu_image, self.settings.gpu_image)
        await self._ensure_namespace(api)
        # Only multi-node clusters exec from one pod into another.
        account = await self._agent_account(api) if len(requests) > 1 else None
        owner = owner_id()
        names = [pod_name(r.instance_id) for r in requests]
        try:
            # return_exceptions: every create has finished before any cleanup starts, so no
            # create can land after the delete below.
            created = await asyncio.gather(
                *(
                    self._create(api, r, pod_body(r, shape, image, owner, account), owner)
                    for r in requests
                ),
                return_exceptions=True,
            )
            for result in created:
                if isinstance(result, BaseException):
                    raise result
            pods = await self._wait_scheduled(api, names)
        except BaseException:
            # Nothing may be left behind: delete every pod (and service) of the request.
            await asyncio.gather(*(self._delete(api, n) for n in names), return_exceptions=True)
            raise
        return self._seen([to_instance(p, api.context) for p in pods])

    async def _ensure_namespace(self, api: ContextApi) -> None:
        if api.context in self._namespaces_ready:
            return
        try:
            found = await api.call(
                "read namespace", api.core.read_namespace, api.namespace, allow=(404,)
            )
        except CredentialsError:
            # Namespace-scoped RBAC often forbids reading namespaces; the pod create will tell.
            found = True
        if found is None:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": api.namespace}}
            await api.call("create namespace", api.core.create_namespace, body, allow=(409,))
        self._namespaces_ready.add(api.context)

    async def _agent_account(self, api: ContextApi) -> str | None:
        if api.context not in self._accounts:
            self._accounts[api.context] = await ensure_agent_account(api)
        return self._accounts[api.context]

    async def _create(
        self, api: ContextApi, request: ProvisionRequest, body: dict[str, Any], owner: str
    ) -> None:
        name = body["metadata"]["name"]
        # 409: this id's pod exists already (a retry, or a 5xx after the create went through).
        await api.call(
            f"create pod {name}", api.core.create_namespaced_pod, api.namespace, body, allow=(409,)
        )
        if request.ports:
            await api.call(
                f"create service {name}",
                api.core.create_namespaced_service,
                api.namespace,
                service_body(request, owner),
                allow=(409,),
            )

    async def _wait_scheduled(self, api: ContextApi, names: list[str]) -> list[Any]:
        """Poll until every pod is Running, or (at the deadline) at least bound to a node.

        Raises CapacityError as soon as one pod is Unschedulable (or none got bound in time),
        InvalidRequestError when its image cannot be pulled."""
        deadline = time.monotonic() + self.settings.schedule_timeout_s
        while True:
            pods = await asyncio.gather(
                *(
                    api.call(f"read pod {n}", api.core.read_namespaced_pod, n, api.namespace)
                    for n in names
                )
            )
            for pod in pods:
                await self._raise_if_hopeless(api, pod)
            states = [to_instance(p, api.context).state for p in pods]
            if all(s is InstanceState.RUNNING for s in states):
                return pods
            if time.monotonic() >= deadline:
                unbound = [p.metadata.name for p in pods if not p.spec.node_name]
                if unbound:
                    raise CapacityError(
                        f"pods {', '.join(unbound)} not scheduled within "
                        f"{self.settings.schedule_timeout_s:g}s",
                        provider=PROVIDER,
                        region=api.context,
                        native_code="SchedulingTimeout",
                    )
                return pods  # placed; still pulling the image: PENDING is fine
            await asyncio.sleep(POLL_S)

    async def _raise_if_hopeless(self, api: ContextApi, pod: Any) -> None:
        name = pod.metadata.name
        status = pod.status
        for cond in (status.conditions if status else None) or []:
            if (cond.type, cond.status, cond.reason) == ("PodScheduled", "False", "Unschedulable"):
                raise self._capacity(api, name, cond.message or "Unschedulable")
        if not pod.spec.node_name:
            selector = f"involvedObject.name={name},reason=FailedScheduling"
            events = await api.call(
                f"list events of {name}",
                api.core.list_namespaced_event,
                api.namespace,
                field_selector=selector,
            )
            if events.items:
                raise self._capacity(api, name, events.items[-1].message or "FailedScheduling")
        for c in (status.container_statuses if status else None) or []:
            waiting = c.state.waiting if c.state else None
            if waiting is not None and waiting.reason in BAD_REQUEST_REASONS:
                raise InvalidRequestError(
                    f"pod {name}: {waiting.reason}: {waiting.message or ''} (image {c.image})",
                    provider=PROVIDER,
                    region=api.context,
                    native_code=waiting.reason,
                )
        if status is not None and status.phase in ("Failed", "Succeeded"):
            raise ProviderError(
                f"pod {name} exited at start ({status.phase})",
                provider=PROVIDER,
                region=api.context,
            )

    @staticmethod
    def _capacity(api: ContextApi, name: str, message: str) -> CapacityError:
        return CapacityError(
            f"pod {name} cannot be scheduled: {message}",
            provider=PROVIDER,
            region=api.context,
            native_code="FailedScheduling",
        )

    def head_config(self, region: str | None) -> dict[str, Any]:
        # The head pod builds its kubeconfig from its service account, under this context name.
        return {"in_pod_context": region} if region else {}

    # ---- queries -----------------------------------------------------------------------------

    def _seen(self, instances: list[Instance]) -> list[Instance]:
        for inst in instances:
            self._where[inst.id] = str(inst.region)
        return instances

    async def _list(self, api: ContextApi, selector: str) -> list[Instance]:
        pods = await api.call(
            "list pods", api.core.list_namespaced_pod, api.namespace, label_selector=selector
        )
        return self._seen([to_instance(p, api.context) for p in pods.items])

    async def _apis_for(self, instance_id: InstanceId) -> list[ContextApi]:
        """The context this id was last seen in, else every usable context."""
        where = self._where.get(instance_id)
        return [await self._api(where)] if where else await self._all_apis()

    async def _across(
        self, apis: list[ContextApi], selector: str
    ) -> tuple[list[Instance], list[BaseException]]:
        results = await asyncio.gather(
            *(self._list(a, selector) for a in apis), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        return [i for r in results if not isinstance(r, BaseException) for i in r], errors

    async def list_instances(self) -> list[Instance]:
        """Every context's Styx pods; a failing context is skipped only if another answered."""
        apis = await self._all_apis()
        found, errors = await self._across(apis, TAG_INSTANCE_ID)
        if errors and len(errors) == len(apis):
            raise errors[0]
        return found

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        found, errors = await self._across(
            await self._apis_for(instance_id), id_selector(instance_id)
        )
        if found:
            return found[0]
        if errors:  # "not found" must never stand for "could not ask"
            raise errors[0]
        return None

    # ---- lifecycle ---------------------------------------------------------------------------

    async def _delete(self, api: ContextApi, name: str) -> None:
        await api.call(
            f"delete pod {name}", api.core.delete_namespaced_pod, name, api.namespace, allow=(404,)
        )
        await api.call(
            f"delete service {name}",
            api.core.delete_namespaced_service,
            name,
            api.namespace,
            allow=(404,),
        )

    async def terminate(self, instance_id: InstanceId) -> None:
        name = pod_name(instance_id)
        apis = await self._apis_for(instance_id)
        results = await asyncio.gather(
            *(self._delete(a, name) for a in apis), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def stop(self, instance_id: InstanceId) -> None:
        raise self._no_stop_start("stopped")

    async def start(self, instance_id: InstanceId) -> None:
        raise self._no_stop_start("started")

    @staticmethod
    def _no_stop_start(verb: str) -> UnsupportedError:
        return UnsupportedError(
            f"Kubernetes pods cannot be {verb}; tear the cluster down and launch it again "
            "(autostop on Kubernetes tears down)",
            provider=PROVIDER,
            native_code="StopStartUnsupported",
        )

    # ---- health ------------------------------------------------------------------------------

    async def _probe(self, context: str) -> ContextApi:
        """One cheap authenticated call (list one pod) with a short timeout and no retries."""
        api = await self._api(context)
        await api.call(
            "list pods",
            api.core.list_namespaced_pod,
            api.namespace,
            limit=1,
            attempts=1,
            timeout=self.settings.check_timeout_s,
        )
        return api

    async def _probe_any(self) -> ContextApi:
        """The first of (current context, then the other allowed ones) that answers."""
        infos, current = await self._contexts()
        names = sorted((c.name for c in infos), key=lambda n: n != current)
        if not names:
            raise CredentialsError("no usable context in the kubeconfig", provider=PROVIDER)
        first: BaseException | None = None
        for name in names:
            try:
                return await self._probe(name)
            except ProviderError as exc:
                first = first or exc
        assert first is not None
        raise first

    async def is_available(self) -> bool:
        try:
            await self._probe_any()
        except Exception:  # noqa: BLE001 - the contract: never raises, answers False
            return False
        return True

    async def check(self) -> str:
        try:
            api = await self._probe_any()
        except ProviderError as exc:
            # Credentials messages already say what to fix; others are about reachability.
            fix = "" if isinstance(exc, CredentialsError) else "; check `kubectl cluster-info`"
            where = f"context {exc.region}: " if exc.region else ""
            return f"kubernetes: disabled: {where}{exc.message}{fix}"
        return (
            f"kubernetes: enabled: context {api.context} at {api.server} "
            f"(namespace {api.namespace})"
        )

    # ---- exec --------------------------------------------------------------------------------

    async def command_runner(self, instance: Instance) -> KubernetesCommandRunner:
        """A runner into the instance's pod, with its own API client (see api.py)."""
        from styx.providers.kubernetes.runner import KubernetesCommandRunner

        api = await self._api(instance.region)
        namespace, _, pod = (instance.native_id or "").partition("/")
        client = await run_sync(new_api_client, self.settings, api.context)
        return KubernetesCommandRunner(client, namespace or api.namespace, pod, region=api.context)

    async def cluster_access(self, cluster_name: str, instances: list[Instance]) -> ClusterAccess:
        from styx.providers.kubernetes.access import KubeClusterAccess, pod_node

        # One pod after the other: the first call makes the context's API client the rest reuse.
        nodes = [pod_node(i, await self.command_runner(i)) for i in instances]
        return KubeClusterAccess(cluster_name, nodes)

    async def close(self) -> None:
        for api in self._apis.values():
            api.close()
        self._apis.clear()
