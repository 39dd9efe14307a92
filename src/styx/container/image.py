"""Which kind of image ``resources.image_id`` names: a container image or a machine image."""

from __future__ import annotations

from enum import StrEnum

from styx.errors import TaskSpecError

DOCKER_PREFIX = "docker:"
MAX_IMAGE_REF = 255  # Docker's own limit on a repository name is 255 characters


class ImageKind(StrEnum):
    CONTAINER = "container"  # docker:<image>: the task runs inside it
    MACHINE = "machine"  # an AMI, a GCE image, an Azure URN: the node boots it


def image_kind(image_id: str | None) -> ImageKind | None:
    if not image_id:
        return None
    return ImageKind.CONTAINER if image_id.startswith(DOCKER_PREFIX) else ImageKind.MACHINE


def container_ref(image_id: str | None) -> str | None:
    """``docker:vllm/vllm-openai:v0.10.0`` -> ``vllm/vllm-openai:v0.10.0``; None otherwise."""
    if image_kind(image_id) is not ImageKind.CONTAINER:
        return None
    assert image_id is not None
    return image_id[len(DOCKER_PREFIX) :]


def check_container_ref(field: str, image_id: str) -> None:
    """TaskSpecError unless ``docker:<ref>`` names an image reference the engine could accept:
    the value travels to the node's shell and to ``docker run``, so it is checked here."""
    ref = image_id[len(DOCKER_PREFIX) :]
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
    if not ref or len(ref) > MAX_IMAGE_REF or not set(ref) <= allowed or ref[0] in "-.:/@":
        shown = ref if len(ref) <= 60 else ref[:60] + "..."
        raise TaskSpecError(
            f"{field}: '{DOCKER_PREFIX}{shown}' is not a container image reference; expected "
            "docker:<name>[:<tag>|@<digest>] (letters, digits and . _ - / : @, at most 255)"
        )


def node_image(image_id: str | None, image_is_node: bool) -> str | None:
    """The image the provider boots the node from: a container image is the node itself only
    where ``image_is_node`` (a Kubernetes pod); elsewhere the node boots its default image and
    the runtime starts the container on it."""
    if image_kind(image_id) is ImageKind.CONTAINER and not image_is_node:
        return None
    return image_id
