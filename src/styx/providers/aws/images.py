"""Which AMI to boot: the request's, or a default resolved per region by name (cached)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from styx.errors import InvalidRequestError
from styx.providers.aws.api import Api

# (owners, name pattern). GPU types get the Deep Learning AMI (NVIDIA driver + CUDA), the rest
# plain Ubuntu from Canonical. Newest CreationDate wins; ties break on the name.
CANONICAL = "099720109477"
DEFAULT_IMAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "cpu": ((CANONICAL,), "ubuntu/images/hvm-ssd*/ubuntu-*-amd64-server-*"),
    "gpu": (("amazon",), "Deep Learning*Ubuntu*"),
}


@dataclass(frozen=True)
class ImageInfo:
    image_id: str
    root_device_name: str


class Images:
    def __init__(self, api: Api) -> None:
        self.api = api
        self._cache: dict[tuple[str, str], ImageInfo] = {}
        self._lock = asyncio.Lock()

    async def resolve(
        self, region: str, image_id: str | None, gpu: bool, need_root_device: bool = True
    ) -> ImageInfo:
        if image_id and not need_root_device:
            return ImageInfo(image_id, "/dev/sda1")  # EC2 itself validates the id on launch
        key = (region, image_id or ("gpu" if gpu else "cpu"))
        async with self._lock:
            if key not in self._cache:
                self._cache[key] = await self._lookup(region, image_id, gpu)
            return self._cache[key]

    async def _lookup(self, region: str, image_id: str | None, gpu: bool) -> ImageInfo:
        if image_id:
            found = await self.api.call("ec2", region, "describe_images", ImageIds=[image_id])
            images = found.get("Images") or []
            where = f"image '{image_id}'"
        else:
            owners, pattern = DEFAULT_IMAGES["gpu" if gpu else "cpu"]
            found = await self.api.call(
                "ec2",
                region,
                "describe_images",
                Owners=list(owners),
                Filters=[
                    {"Name": "name", "Values": [pattern]},
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "architecture", "Values": ["x86_64"]},
                ],
            )
            images = found.get("Images") or []
            where = f"a default image matching '{pattern}'"
        if not images:
            raise InvalidRequestError(
                f"no {where} in {region}; set image_id in the task's resources",
                provider="aws",
                region=region,
                native_code="InvalidAMIID.NotFound",
            )
        best = max(images, key=lambda i: (i.get("CreationDate", ""), i.get("Name", "")))
        return ImageInfo(best["ImageId"], best.get("RootDeviceName") or "/dev/sda1")
