"""Regenerate the shipped catalog snapshot (src/styx/catalog/data/<cloud>.csv).

    python -m styx.catalog.build_snapshot

The tables below were transcribed by hand from the clouds' public list prices (AWS EC2
on-demand pricing pages, GCP Compute Engine pricing page, Azure Retail Prices / VM pricing
pages) for the reference region of each cloud, first as of 2024-06 and updated as of 2025-08
(see CHANGES), without network access. Other
regions apply a plausible per-region multiplier. Spot prices are *estimates*: the on-demand
price times a typical per-family discount with a small deterministic per-region spread; live
spot prices move hourly. ``styx catalog refresh`` replaces these with fetched prices.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from styx.catalog.schema import SCHEMA_VERSION, CatalogRow, Provenance
from styx.catalog.store import write_catalog

AS_OF = "2025-08-01"
DATA_DIR = Path(__file__).resolve().parent / "data"

GPU_MEMORY = {
    "T4": 16,
    "V100": 16,
    "V100-32GB": 32,
    "P100": 16,
    "A100": 40,
    "A100-80GB": 80,
    "H100": 80,
    "L4": 24,
    "A10G": 24,
    "A10": 24,
    "H200": 141,
    "B200": 180,
    "L40S": 48,
    "Inferentia2": 32,
    "Trainium": 32,
    "Trainium2": 96,
}

# name: (vcpus, memory GiB, accelerator, count, reference on-demand $/h)
Shape = tuple[float, float, str | None, int, float]


def _sizes(prefix: str, rows: list[tuple[str, float, float, float]]) -> dict[str, Shape]:
    return {f"{prefix}{size}": (cpu, mem, None, 0, price) for size, cpu, mem, price in rows}


AWS_SHAPES: dict[str, Shape] = {
    **_sizes(
        "t3.",
        [
            ("micro", 2, 1, 0.0104),
            ("small", 2, 2, 0.0208),
            ("medium", 2, 4, 0.0416),
            ("large", 2, 8, 0.0832),
            ("xlarge", 4, 16, 0.1664),
            ("2xlarge", 8, 32, 0.3328),
        ],
    ),
    **_sizes(
        "m5.",
        [
            ("large", 2, 8, 0.096),
            ("xlarge", 4, 16, 0.192),
            ("2xlarge", 8, 32, 0.384),
            ("4xlarge", 16, 64, 0.768),
            ("8xlarge", 32, 128, 1.536),
            ("12xlarge", 48, 192, 2.304),
            ("16xlarge", 64, 256, 3.072),
            ("24xlarge", 96, 384, 4.608),
        ],
    ),
    **_sizes(
        "m6i.",
        [
            ("large", 2, 8, 0.096),
            ("xlarge", 4, 16, 0.192),
            ("2xlarge", 8, 32, 0.384),
            ("4xlarge", 16, 64, 0.768),
            ("8xlarge", 32, 128, 1.536),
            ("16xlarge", 64, 256, 3.072),
            ("32xlarge", 128, 512, 6.144),
        ],
    ),
    **_sizes(
        "m7i.",
        [
            ("large", 2, 8, 0.1008),
            ("xlarge", 4, 16, 0.2016),
            ("2xlarge", 8, 32, 0.4032),
            ("4xlarge", 16, 64, 0.8064),
            ("8xlarge", 32, 128, 1.6128),
            ("16xlarge", 64, 256, 3.2256),
            ("48xlarge", 192, 768, 9.6768),
        ],
    ),
    **_sizes(
        "c5.",
        [
            ("large", 2, 4, 0.085),
            ("xlarge", 4, 8, 0.17),
            ("2xlarge", 8, 16, 0.34),
            ("4xlarge", 16, 32, 0.68),
            ("9xlarge", 36, 72, 1.53),
            ("18xlarge", 72, 144, 3.06),
            ("24xlarge", 96, 192, 4.08),
        ],
    ),
    **_sizes(
        "c6i.",
        [
            ("large", 2, 4, 0.085),
            ("xlarge", 4, 8, 0.17),
            ("2xlarge", 8, 16, 0.34),
            ("4xlarge", 16, 32, 0.68),
            ("8xlarge", 32, 64, 1.36),
            ("16xlarge", 64, 128, 2.72),
            ("32xlarge", 128, 256, 5.44),
        ],
    ),
    **_sizes(
        "c7i.",
        [
            ("large", 2, 4, 0.08925),
            ("xlarge", 4, 8, 0.1785),
            ("2xlarge", 8, 16, 0.357),
            ("4xlarge", 16, 32, 0.714),
            ("8xlarge", 32, 64, 1.428),
            ("16xlarge", 64, 128, 2.856),
            ("48xlarge", 192, 384, 8.568),
        ],
    ),
    **_sizes(
        "r7i.",
        [
            ("large", 2, 16, 0.1323),
            ("xlarge", 4, 32, 0.2646),
            ("2xlarge", 8, 64, 0.5292),
            ("4xlarge", 16, 128, 1.0584),
            ("8xlarge", 32, 256, 2.1168),
            ("16xlarge", 64, 512, 4.2336),
            ("48xlarge", 192, 1536, 12.7008),
        ],
    ),
    **_sizes(
        "r5.",
        [
            ("large", 2, 16, 0.126),
            ("xlarge", 4, 32, 0.252),
            ("2xlarge", 8, 64, 0.504),
            ("4xlarge", 16, 128, 1.008),
            ("8xlarge", 32, 256, 2.016),
            ("16xlarge", 64, 512, 4.032),
            ("24xlarge", 96, 768, 6.048),
        ],
    ),
    **_sizes(
        "r6i.",
        [
            ("large", 2, 16, 0.126),
            ("xlarge", 4, 32, 0.252),
            ("2xlarge", 8, 64, 0.504),
            ("4xlarge", 16, 128, 1.008),
            ("8xlarge", 32, 256, 2.016),
            ("16xlarge", 64, 512, 4.032),
            ("32xlarge", 128, 1024, 8.064),
        ],
    ),
    "g4dn.xlarge": (4, 16, "T4", 1, 0.526),
    "g4dn.2xlarge": (8, 32, "T4", 1, 0.752),
    "g4dn.4xlarge": (16, 64, "T4", 1, 1.204),
    "g4dn.8xlarge": (32, 128, "T4", 1, 2.176),
    "g4dn.12xlarge": (48, 192, "T4", 4, 3.912),
    "g4dn.metal": (96, 384, "T4", 8, 7.824),
    "g5.xlarge": (4, 16, "A10G", 1, 1.006),
    "g5.2xlarge": (8, 32, "A10G", 1, 1.212),
    "g5.4xlarge": (16, 64, "A10G", 1, 1.624),
    "g5.8xlarge": (32, 128, "A10G", 1, 2.448),
    "g5.12xlarge": (48, 192, "A10G", 4, 5.672),
    "g5.24xlarge": (96, 384, "A10G", 4, 8.144),
    "g5.48xlarge": (192, 768, "A10G", 8, 16.288),
    "g6.xlarge": (4, 16, "L4", 1, 0.8048),
    "g6.2xlarge": (8, 32, "L4", 1, 0.9776),
    "g6.4xlarge": (16, 64, "L4", 1, 1.3232),
    "g6.12xlarge": (48, 192, "L4", 4, 4.6016),
    "g6.48xlarge": (192, 768, "L4", 8, 13.3504),
    "p3.2xlarge": (8, 61, "V100", 1, 3.06),
    "p3.8xlarge": (32, 244, "V100", 4, 12.24),
    "p3.16xlarge": (64, 488, "V100", 8, 24.48),
    "p3dn.24xlarge": (96, 768, "V100-32GB", 8, 31.212),
    # P4/P5 on-demand prices as cut by AWS in June 2025 (up to ~45%).
    "p4d.24xlarge": (96, 1152, "A100", 8, 21.96),
    "p4de.24xlarge": (96, 1152, "A100-80GB", 8, 27.447),
    "p5.4xlarge": (16, 256, "H100", 1, 6.88),
    "p5.48xlarge": (192, 2048, "H100", 8, 55.04),
    "p5e.48xlarge": (192, 2048, "H200", 8, 60.0),
    "p5en.48xlarge": (192, 2048, "H200", 8, 63.296),
    "p6-b200.48xlarge": (192, 2048, "B200", 8, 113.9328),
    "g6e.xlarge": (4, 32, "L40S", 1, 1.861),
    "g6e.2xlarge": (8, 64, "L40S", 1, 2.24208),
    "g6e.4xlarge": (16, 128, "L40S", 1, 3.00424),
    "g6e.8xlarge": (32, 256, "L40S", 1, 4.52856),
    "g6e.16xlarge": (64, 512, "L40S", 1, 7.57719),
    "g6e.12xlarge": (48, 384, "L40S", 4, 10.49264),
    "g6e.24xlarge": (96, 768, "L40S", 4, 15.06559),
    "g6e.48xlarge": (192, 1536, "L40S", 8, 30.13118),
    "inf2.xlarge": (4, 16, "Inferentia2", 1, 0.7582),
    "inf2.8xlarge": (32, 128, "Inferentia2", 1, 1.96786),
    "inf2.24xlarge": (96, 384, "Inferentia2", 6, 6.49063),
    "inf2.48xlarge": (192, 768, "Inferentia2", 12, 12.98127),
    "trn1.2xlarge": (8, 32, "Trainium", 1, 1.34375),
    "trn1.32xlarge": (128, 512, "Trainium", 16, 21.5),
    "trn1n.32xlarge": (128, 512, "Trainium", 16, 24.78),
    "trn2.48xlarge": (192, 2048, "Trainium2", 16, 44.7),
}

AWS_REGIONS = {  # region: (price multiplier, zones)
    "us-east-1": (1.0, ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f")),
    "us-east-2": (1.0, ("us-east-2a", "us-east-2b", "us-east-2c")),
    "us-west-2": (1.0, ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")),
    "us-west-1": (1.17, ("us-west-1a", "us-west-1c")),
    "eu-west-1": (1.11, ("eu-west-1a", "eu-west-1b", "eu-west-1c")),
    "eu-central-1": (1.15, ("eu-central-1a", "eu-central-1b", "eu-central-1c")),
    "ap-northeast-1": (1.27, ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d")),
    "ap-southeast-1": (1.22, ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")),
}
# Families not offered everywhere (the rest are in every region above).
AWS_FAMILY_REGIONS = {
    "p5": ("us-east-1", "us-east-2", "us-west-2"),
    "p5e": ("us-east-2", "us-west-2"),
    "p5en": ("us-east-1", "us-east-2", "us-west-2", "ap-northeast-1"),
    "p6-b200": ("us-east-1", "us-west-2"),
    "p4de": ("us-east-1", "us-west-2"),
    "g6e": ("us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1"),
    "inf2": ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "ap-northeast-1"),
    "trn1": ("us-east-1", "us-east-2", "us-west-2"),
    "trn1n": ("us-east-1", "us-east-2", "us-west-2"),
    "trn2": ("us-east-2",),
    "c7i": (
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-northeast-1",
        "ap-southeast-1",
    ),
    "r7i": (
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-northeast-1",
        "ap-southeast-1",
    ),
    "p4d": ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"),
    "p3dn": ("us-east-1", "us-west-2"),
    "g6": ("us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1"),
    "m7i": (
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-northeast-1",
        "ap-southeast-1",
    ),
}
AWS_SPOT = {
    "t3": 0.32,
    "m5": 0.38,
    "m6i": 0.4,
    "m7i": 0.45,
    "c5": 0.36,
    "c6i": 0.4,
    "r5": 0.3,
    "r6i": 0.33,
    "g4dn": 0.32,
    "g5": 0.38,
    "g6": 0.42,
    "p3": 0.32,
    "p3dn": 0.35,
    "p4d": 0.45,
    "p5": 0.5,
    "c7i": 0.45,
    "r7i": 0.4,
    "p4de": 0.45,
    "p5e": 0.5,
    "p5en": 0.5,
    "p6-b200": 0.55,
    "g6e": 0.4,
    "inf2": 0.35,
    "trn1": 0.3,
    "trn1n": 0.3,
    "trn2": 0.4,
}


def _gcp_family(prefix: str, per_cpu: float, gib_per_cpu: float, sizes: list[int]) -> dict:
    return {
        f"{prefix}-{n}": (n, round(n * gib_per_cpu, 2), None, 0, round(n * per_cpu, 6))
        for n in sizes
    }


GCP_SHAPES: dict[str, Shape] = {
    **_gcp_family("e2-standard", 0.033503, 4, [2, 4, 8, 16, 32]),
    **_gcp_family("e2-highmem", 0.045195, 8, [2, 4, 8, 16]),
    **_gcp_family("e2-highcpu", 0.024735, 1, [2, 4, 8, 16, 32]),
    **_gcp_family("n1-standard", 0.0475, 3.75, [1, 2, 4, 8, 16, 32, 64, 96]),
    **_gcp_family("n1-highmem", 0.0592, 6.5, [2, 4, 8, 16, 32, 64, 96]),
    **_gcp_family("n2-standard", 0.048559, 4, [2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
    **_gcp_family("n2-highmem", 0.065507, 8, [2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
    **_gcp_family("n2-highcpu", 0.035848, 1, [2, 4, 8, 16, 32, 48, 64, 80, 96]),
    **_gcp_family("c2-standard", 0.0522, 4, [4, 8, 16, 30, 60]),
    **_gcp_family("c3-standard", 0.050402, 4, [4, 8, 22, 44, 88, 176]),
    "a2-highgpu-1g": (12, 85, "A100", 1, 3.673385),
    "a2-highgpu-2g": (24, 170, "A100", 2, 7.34677),
    "a2-highgpu-4g": (48, 340, "A100", 4, 14.69354),
    "a2-highgpu-8g": (96, 680, "A100", 8, 29.38708),
    "a2-megagpu-16g": (96, 1360, "A100", 16, 55.739504),
    "a2-ultragpu-1g": (12, 170, "A100-80GB", 1, 5.0688),
    "a2-ultragpu-2g": (24, 340, "A100-80GB", 2, 10.1376),
    "a2-ultragpu-4g": (48, 680, "A100-80GB", 4, 20.2752),
    "a2-ultragpu-8g": (96, 1360, "A100-80GB", 8, 40.5504),
    "a3-highgpu-1g": (26, 234, "H100", 1, 11.061),
    "a3-highgpu-2g": (52, 468, "H100", 2, 22.122),
    "a3-highgpu-4g": (104, 936, "H100", 4, 44.244),
    "a3-highgpu-8g": (208, 1872, "H100", 8, 88.253),
    "a3-megagpu-8g": (208, 1872, "H100", 8, 94.156),
    "a3-ultragpu-8g": (224, 2952, "H200", 8, 84.806),
    "a4-highgpu-8g": (224, 3968, "B200", 8, 100.5),
    "g2-standard-4": (4, 16, "L4", 1, 0.70683),
    "g2-standard-8": (8, 32, "L4", 1, 0.85362),
    "g2-standard-12": (12, 48, "L4", 1, 1.00041),
    "g2-standard-16": (16, 64, "L4", 1, 1.1472),
    "g2-standard-24": (24, 96, "L4", 2, 2.00082),
    "g2-standard-32": (32, 128, "L4", 1, 1.73),
    "g2-standard-48": (48, 192, "L4", 4, 4.00164),
    "g2-standard-96": (96, 384, "L4", 8, 8.00328),
}
# GPUs attachable to N1 hosts: $/h per GPU, and (count, host) pairs offered.
GCP_ATTACHABLE = {
    "T4": (
        0.35,
        [
            (1, "n1-standard-4"),
            (1, "n1-standard-8"),
            (1, "n1-standard-16"),
            (2, "n1-standard-16"),
            (4, "n1-standard-32"),
        ],
    ),
    "V100": (
        2.48,
        [
            (1, "n1-standard-8"),
            (2, "n1-standard-16"),
            (4, "n1-standard-32"),
            (8, "n1-standard-64"),
            (8, "n1-highmem-96"),
        ],
    ),
    "P100": (1.46, [(1, "n1-standard-8"), (2, "n1-standard-16"), (4, "n1-standard-32")]),
}
GCP_REGIONS = {
    "us-central1": (1.0, ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")),
    "us-east1": (1.0, ("us-east1-b", "us-east1-c", "us-east1-d")),
    "us-west1": (1.0, ("us-west1-a", "us-west1-b", "us-west1-c")),
    "us-east4": (1.126, ("us-east4-a", "us-east4-b", "us-east4-c")),
    "europe-west4": (1.1, ("europe-west4-a", "europe-west4-b", "europe-west4-c")),
    "europe-west1": (1.1, ("europe-west1-b", "europe-west1-c", "europe-west1-d")),
    "asia-east1": (1.16, ("asia-east1-a", "asia-east1-b", "asia-east1-c")),
    "asia-northeast1": (1.28, ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c")),
}
GCP_FAMILY_REGIONS = {
    "a3-ultragpu": ("us-central1", "us-east4", "europe-west1", "asia-northeast1"),
    "a3": ("us-central1", "us-east4", "europe-west4", "asia-east1"),
    "a4": ("us-central1", "us-east4", "europe-west4"),
    "a2-ultragpu": ("us-central1", "us-east4", "europe-west4"),
    "a2-highgpu": ("us-central1", "us-east1", "us-west1", "europe-west4", "asia-northeast1"),
    "a2-megagpu": ("us-central1", "us-east1", "europe-west4"),
    "g2": ("us-central1", "us-east1", "us-east4", "us-west1", "europe-west4", "asia-east1"),
    "c3": (
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "europe-west4",
        "europe-west1",
        "asia-east1",
    ),
    "V100": ("us-central1", "us-east1", "us-west1", "europe-west4", "asia-east1"),
    "P100": ("us-central1", "us-east1", "us-west1", "europe-west1", "asia-east1"),
}
GCP_SPOT = {
    "e2": 0.31,
    "n1": 0.2,
    "n2": 0.24,
    "c2": 0.24,
    "c3": 0.3,
    "a2": 0.32,
    "a3": 0.4,
    "a4": 0.45,
    "g2": 0.4,
    "T4": 0.31,
    "V100": 0.3,
    "P100": 0.3,
}


def _az(name: str, cpu: float, mem: float, price: float) -> dict[str, Shape]:
    return {f"Standard_{name}": (cpu, mem, None, 0, price)}


AZURE_SHAPES: dict[str, Shape] = {}
for _n, _p in (
    (2, 0.096),
    (4, 0.192),
    (8, 0.384),
    (16, 0.768),
    (32, 1.536),
    (48, 2.304),
    (64, 3.072),
    (96, 4.608),
):
    AZURE_SHAPES |= _az(f"D{_n}s_v5", _n, _n * 4, _p) | _az(f"E{_n}s_v5", _n, _n * 8, _p * 1.3125)
for _n, _p in (
    (2, 0.0846),
    (4, 0.169),
    (8, 0.338),
    (16, 0.677),
    (32, 1.353),
    (48, 2.03),
    (64, 2.706),
    (72, 3.045),
):
    AZURE_SHAPES |= _az(f"F{_n}s_v2", _n, _n * 2, _p)
AZURE_SHAPES |= {
    "Standard_NC4as_T4_v3": (4, 28, "T4", 1, 0.526),
    "Standard_NC8as_T4_v3": (8, 56, "T4", 1, 0.752),
    "Standard_NC16as_T4_v3": (16, 110, "T4", 1, 1.204),
    "Standard_NC64as_T4_v3": (64, 440, "T4", 4, 4.352),
    "Standard_NC6s_v3": (6, 112, "V100", 1, 3.06),
    "Standard_NC12s_v3": (12, 224, "V100", 2, 6.12),
    "Standard_NC24s_v3": (24, 448, "V100", 4, 12.24),
    "Standard_NC24ads_A100_v4": (24, 220, "A100-80GB", 1, 3.673),
    "Standard_NC48ads_A100_v4": (48, 440, "A100-80GB", 2, 7.346),
    "Standard_NC96ads_A100_v4": (96, 880, "A100-80GB", 4, 14.692),
    "Standard_ND96asr_v4": (96, 900, "A100", 8, 27.197),
    "Standard_ND96amsr_A100_v4": (96, 1900, "A100-80GB", 8, 32.77),
    "Standard_ND96isr_H100_v5": (96, 1900, "H100", 8, 98.32),
    "Standard_ND96isr_H200_v5": (96, 1850, "H200", 8, 84.8),
    "Standard_NC40ads_H100_v5": (40, 320, "H100", 1, 6.98),
    "Standard_NC80adis_H100_v5": (80, 640, "H100", 2, 13.96),
    "Standard_NV36ads_A10_v5": (36, 440, "A10", 1, 3.2),
    "Standard_NV72ads_A10_v5": (72, 880, "A10", 2, 6.52),
}
AZURE_REGIONS = {
    "eastus": (1.0, ("1", "2", "3")),
    "eastus2": (1.0, ("1", "2", "3")),
    "westus2": (1.0, ("1", "2", "3")),
    "westus3": (1.0, ("1", "2", "3")),
    "southcentralus": (1.04, ("1", "2", "3")),
    "westeurope": (1.16, ("1", "2", "3")),
    "northeurope": (1.08, ("1", "2", "3")),
    "uksouth": (1.12, ("1", "2", "3")),
    "japaneast": (1.25, ("1", "2", "3")),
}
AZURE_FAMILY_REGIONS = {
    "ND96isr_H100": ("eastus", "westus3", "southcentralus", "westeurope"),
    "ND96isr_H200": ("eastus2", "westus3", "southcentralus", "uksouth"),
    "NC40ads_H100": ("eastus", "eastus2", "southcentralus", "westeurope", "uksouth"),
    "NC80adis_H100": ("eastus", "eastus2", "southcentralus", "westeurope", "uksouth"),
    "ND96a": ("eastus", "westus2", "southcentralus", "westeurope", "japaneast"),
    "NC": (
        "eastus",
        "eastus2",
        "westus2",
        "southcentralus",
        "westeurope",
        "northeurope",
        "uksouth",
        "japaneast",
    ),
    "NV": ("eastus", "westus2", "westeurope", "southcentralus"),
}
AZURE_SPOT = {"D": 0.2, "E": 0.2, "F": 0.18, "NC": 0.3, "ND": 0.4, "NV": 0.25}


def _jitter(*parts: str) -> float:
    """A deterministic spread in [-0.05, 0.05]: spot prices differ by region, stably."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return (digest[0] / 255.0 - 0.5) / 10.0


def _row(
    cloud: str,
    name: str,
    shape: Shape,
    region: str,
    mult: float,
    zones: tuple[str, ...],
    spot_factor: float,
) -> CatalogRow:
    cpu, mem, acc, count, price = shape
    od = round(price * mult, 6)
    spot = round(od * (spot_factor + _jitter(cloud, name, region)), 6)
    # GPU families live in fewer zones than general-purpose ones.
    zones = zones[:3] if acc else zones
    return CatalogRow(
        cloud,
        name,
        float(cpu),
        float(mem),
        acc,
        count,
        float(GPU_MEMORY[acc]) if acc else None,
        od,
        spot,
        region,
        zones,
    )


def _regions_for(name: str, table: dict, all_regions: dict) -> tuple[str, ...]:
    for key in sorted(table, key=len, reverse=True):  # longest prefix wins (p3dn before p3)
        if name.startswith(key) or name.removeprefix("Standard_").startswith(key):
            return table[key]
    return tuple(all_regions)


def aws_rows() -> list[CatalogRow]:
    rows = []
    for name, shape in AWS_SHAPES.items():
        family = name.split(".")[0]
        regions = AWS_FAMILY_REGIONS.get(family, tuple(AWS_REGIONS))
        for region in regions:
            mult, zones = AWS_REGIONS[region]
            rows.append(_row("aws", name, shape, region, mult, zones, AWS_SPOT[family]))
    return rows


def gcp_rows() -> list[CatalogRow]:
    rows = []
    for name, shape in GCP_SHAPES.items():
        regions = _regions_for(name, GCP_FAMILY_REGIONS, GCP_REGIONS)
        for region in regions:
            mult, zones = GCP_REGIONS[region]
            rows.append(_row("gcp", name, shape, region, mult, zones, GCP_SPOT[name[:2]]))
    for gpu, (gpu_price, pairs) in GCP_ATTACHABLE.items():
        for region in GCP_FAMILY_REGIONS.get(gpu, tuple(GCP_REGIONS)):
            mult, zones = GCP_REGIONS[region]
            for count, host in pairs:
                cpu, mem, _, _, host_price = GCP_SHAPES[host]
                shape = (cpu, mem, gpu, count, host_price + count * gpu_price)
                rows.append(_row("gcp", host, shape, region, mult, zones, GCP_SPOT[gpu]))
    return rows


def azure_rows() -> list[CatalogRow]:
    rows = []
    for name, shape in AZURE_SHAPES.items():
        series = name.removeprefix("Standard_")
        regions = _regions_for(name, AZURE_FAMILY_REGIONS, AZURE_REGIONS)
        spot = AZURE_SPOT[series[:2]] if series[:2] in AZURE_SPOT else AZURE_SPOT[series[0]]
        for region in regions:
            mult, zones = AZURE_REGIONS[region]
            rows.append(_row("azure", name, shape, region, mult, zones, spot))
    return rows


SOURCES = {
    "aws": "AWS EC2 On-Demand pricing pages / Price List API (AmazonEC2 offer file), Linux, "
    "shared tenancy",
    "gcp": "GCP Compute Engine pricing page / Cloud Billing Catalog (service 6F81-5844-456A)",
    "azure": "Azure Retail Prices API (prices.azure.com/api/retail/prices), Linux pay-as-you-go",
}
NOTES = (
    "transcribed from public list prices (reference region), first as of 2024-06; "
    "non-reference regions use an approximate regional multiplier; spot prices are estimates "
    "(typical discount per family), not quotes"
)
# What the 2025-08 update changed, per cloud, and from which public list (kept in each file's
# provenance notes so `styx catalog info` can say it).
CHANGES = {
    "aws": "2025-08 update from the AWS EC2 On-Demand pricing page and the AWS 2025-06 price "
    "reduction announcement for P4/P5 (up to 45%): p4d/p5 repriced; added p4de, p5.4xlarge "
    "(H100:1), p5e/p5en (H200), p6-b200 (B200), g6e (L40S), inf2 (Inferentia2), trn1/trn1n "
    "(Trainium), trn2 (Trainium2), c7i, r7i",
    "gcp": "2025-08 update from the GCP Compute Engine GPU pricing page: added a3-highgpu-1g/2g/4g "
    "(H100:1/2/4), a3-megagpu-8g, a3-ultragpu-8g (H200), a4-highgpu-8g (B200)",
    "azure": "2025-08 update from the Azure Linux VM pricing page / Retail Prices API: added "
    "NC40ads_H100_v5 (H100:1), NC80adis_H100_v5 (H100:2), ND96isr_H200_v5 (H200:8)",
}


def notes(cloud: str) -> str:
    """The provenance notes of ``cloud``'s snapshot: how it was made, and what changed when."""
    return f"{NOTES}; {CHANGES[cloud]}"


def main() -> int:
    builders = {"aws": aws_rows, "gcp": gcp_rows, "azure": azure_rows}
    for cloud, build in builders.items():
        rows = build()
        prov = Provenance(SCHEMA_VERSION, cloud, AS_OF, SOURCES[cloud], notes(cloud))
        write_catalog(DATA_DIR / f"{cloud}.csv", prov, rows)
        print(f"{cloud}: {len(rows)} rows -> {DATA_DIR / f'{cloud}.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
