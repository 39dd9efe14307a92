"""Every STYX_* variable the code reads or sets is documented in the README."""

from __future__ import annotations

import re

from tests.conftest import REPO

# Not environment variables: a heredoc delimiter in the runtime installer.
NOT_ENV = {"STYX_EOF_"}


def test_every_styx_variable_in_src_is_in_the_readme() -> None:
    names: set[str] = set()
    for path in (REPO / "src").rglob("*.py"):
        names |= set(re.findall(r"STYX_[A-Z_]+", path.read_text(encoding="utf-8")))
    assert names, "the scan found nothing: the pattern or the path is wrong"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"STYX_[A-Z_]+", readme))
    assert names - NOT_ENV - documented == set()


def test_no_test_only_switch_is_read() -> None:
    """The switches that once turned TLS or authentication off for the fakes stay gone."""
    for path in (REPO / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for gone in ("STYX_KUBE_INSECURE_HTTP", "STYX_GCP_ANONYMOUS", "STYX_AUTOSTOP_CHECK_S"):
            assert gone not in text, f"{path}: {gone}"
