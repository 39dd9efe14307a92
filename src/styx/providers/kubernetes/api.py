"""One kubeconfig context: its API client, namespace, and the retrying, translating call helper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from styx.providers.kubernetes.errors import translate
from styx.providers.kubernetes.settings import DEFAULT_NAMESPACE, KubeSettings
from styx.providers.sync import run_sync
from styx.retry import RetryPolicy, retry_transient


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    namespace: str | None


def read_contexts(settings: KubeSettings) -> tuple[list[ContextInfo], str | None]:
    """The kubeconfig's contexts (filtered by ``allowed_contexts``) and its current context."""
    from kubernetes import config

    contexts, active = config.list_kube_config_contexts(config_file=settings.kubeconfig)
    infos = [
        ContextInfo(
            name=c["name"],
            cluster=str((c.get("context") or {}).get("cluster", "")),
            namespace=(c.get("context") or {}).get("namespace"),
        )
        for c in contexts or []
    ]
    if settings.allowed_contexts is not None:
        allowed = set(settings.allowed_contexts)
        infos = [c for c in infos if c.name in allowed]
    return infos, (active or {}).get("name")


def new_api_client(settings: KubeSettings, context: str) -> Any:
    """A fresh ApiClient for ``context``. Exec needs its own: ``kubernetes.stream`` swaps the
    client's transport while a call is in flight, which would hijack concurrent plain calls."""
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(
        config_file=settings.kubeconfig,
        context=context,
        client_configuration=cfg,
        persist_config=False,
    )
    # We retry ourselves (bounded, with backoff); urllib3's own retries would only multiply
    # the wait on a dead server.
    cfg.retries = 0
    return client.ApiClient(cfg)


class ContextApi:
    """CoreV1Api for one context, with every call translated and transient failures retried."""

    def __init__(self, settings: KubeSettings, info: ContextInfo) -> None:
        from kubernetes import client

        self.settings = settings
        self.context = info.name
        self.namespace = settings.namespace or info.namespace or DEFAULT_NAMESPACE
        self.api_client = new_api_client(settings, info.name)
        self.core = client.CoreV1Api(self.api_client)
        self.server = str(self.api_client.configuration.host)

    async def call(
        self,
        action: str,
        method: Callable[..., Any],
        *args: Any,
        allow: tuple[int, ...] = (),
        attempts: int | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run a CoreV1Api method off the loop. Returns None when the API answers a status in
        ``allow`` (e.g. 404 on delete, 409 on create); retries TransientError up to
        ``retry_attempts`` times with jittered exponential backoff; raises translated errors."""
        from kubernetes.client.exceptions import ApiException

        tries = attempts if attempts is not None else self.settings.retry_attempts
        kwargs.setdefault("_request_timeout", timeout or self.settings.request_timeout_s)

        async def once() -> Any:
            try:
                return await run_sync(method, *args, **kwargs)
            except ApiException as exc:
                if exc.status in allow:
                    return None
                raise translate(exc, self.context, action) from exc
            except Exception as exc:
                raise translate(exc, self.context, action) from exc

        base = self.settings.retry_backoff_s
        policy = RetryPolicy(attempts=tries, base_s=base, cap_s=base * 16)
        return await retry_transient(once, policy, what=f"kubernetes {self.context} {action}")

    def close(self) -> None:
        self.api_client.close()
