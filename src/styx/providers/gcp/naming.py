"""Names, labels and request ids derived from Styx values, within GCE's naming rules.

GCE names (instances, firewalls, network tags): ``[a-z]([-a-z0-9]{0,61}[a-z0-9])?``.
Label keys: ``[a-z][a-z0-9_-]{0,62}``; label values: ``[a-z0-9_-]{0,63}``. Values that do not fit
are encoded lossily but collision-free (sanitised prefix + hash); the exact originals travel in
instance metadata, which has no such rules.
"""

from __future__ import annotations

import hashlib
import re
import uuid

_NAME_OK = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE_OK = re.compile(r"^[a-z0-9_-]{0,63}$")
_LABEL_KEY_OK = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# Fixed namespace so the same Styx id always yields the same GCE requestId, in any process.
_REQUEST_NS = uuid.UUID("5d0f3a52-8c1e-4f0e-9a53-2f7f4d1c6b10")


def _digest(value: str, n: int = 8) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:n]


def _slug(value: str, max_len: int) -> str:
    """Lowercase, runs of other characters to '-', trimmed; '' when nothing is left."""
    s = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return re.sub(r"-{2,}", "-", s)[:max_len].rstrip("-")


def instance_name(instance_id: str) -> str:
    """``styx-<id>`` when the id fits GCE's rules (Styx ids are 32 hex chars), else a hash."""
    candidate = f"styx-{instance_id.lower()}"
    if instance_id == instance_id.lower() and _NAME_OK.match(candidate):
        return candidate
    return f"styx-{_digest(instance_id, 32)}"


def insert_request_id(instance_id: str, zone: str) -> str:
    """The instances.insert requestId: a UUID derived from the Styx id, so retries dedupe.

    The zone is part of it: GCE answers a repeated requestId with the first operation, so a
    failover of the same Styx id to another zone after a stockout must not reuse it.
    """
    return str(uuid.uuid5(_REQUEST_NS, f"insert:{instance_id}:{zone}"))


def label_value(value: str) -> str:
    if _LABEL_VALUE_OK.match(value):
        return value
    s = re.sub(r"[^a-z0-9_-]", "_", value.lower())[:54]
    return f"{s}-{_digest(value)}"


def label_key(key: str) -> str:
    if _LABEL_KEY_OK.match(key):
        return key
    s = re.sub(r"[^a-z0-9_-]", "_", key.lower())[:50]
    return f"k{s}-{_digest(key)}"[:63]


def cluster_slug(cluster_name: str) -> str:
    """A name-safe token for the cluster: readable prefix + hash of the exact name."""
    base = _slug(cluster_name, 40) or "c"
    if not base[0].isalpha():
        base = f"c-{base}"[:40].rstrip("-")
    return f"{base}-{_digest(cluster_name)}"


def network_tag(cluster_name: str) -> str:
    return f"styx-{cluster_slug(cluster_name)}"


def firewall_name(cluster_name: str) -> str:
    return f"styx-{cluster_slug(cluster_name)}-fw"


def is_valid_name(name: str) -> bool:
    return bool(_NAME_OK.match(name))


def last_segment(url_or_name: str) -> str:
    """``.../zones/us-central1-a/machineTypes/n1-standard-8`` -> ``n1-standard-8``."""
    return url_or_name.rstrip("/").rsplit("/", 1)[-1]
