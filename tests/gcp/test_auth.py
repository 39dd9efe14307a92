"""Credentials and project resolution: ADC, env, config; is_available never raises."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from styx.errors import CredentialsError
from styx.providers.gcp.provider import GCPProvider
from styx.providers.gcp.settings import GCPSettings
from tests.fakes.gcp.backend import FakeGCE

run = asyncio.run


def test_missing_adc_file_is_unavailable_with_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json")
    gcp = GCPProvider()
    started = time.monotonic()
    assert run(gcp.is_available()) is False
    line = run(gcp.check())
    assert time.monotonic() - started < 20  # no metadata-server probing (retries: minutes)
    assert line.startswith("gcp: disabled: no Google credentials found")
    assert "gcloud auth application-default login" in line and "\n" not in line


def test_no_credentials_anywhere_is_unavailable() -> None:
    gcp = GCPProvider()
    assert run(gcp.is_available()) is False
    assert "GOOGLE_APPLICATION_CREDENTIALS" in run(gcp.check())


def test_credentials_file_without_a_project_is_unavailable(fake: FakeGCE, tmp_path: Path) -> None:
    key = json.loads(fake.credentials_file.read_text())
    del key["project_id"]
    path = tmp_path / "no-project.json"
    path.write_text(json.dumps(key))
    no_project = GCPProvider(api_endpoint=fake.base_url, credentials_file=str(path))
    assert run(no_project.is_available()) is False
    assert "GOOGLE_CLOUD_PROJECT" in run(no_project.check())


def test_unreadable_credentials_file_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{}")
    line = run(GCPProvider(credentials_file=str(tmp_path / "bad.json")).check())
    assert line.startswith("gcp: disabled: gcp.credentials_file ") and "\n" not in line


def test_a_key_the_api_does_not_trust_is_refused(
    fake: FakeGCE, tmp_path: Path, make_request
) -> None:  # type: ignore[no-untyped-def]
    """A well-formed key the service never issued: 401, not an instance."""
    from tests.fakes.gcp.auth import FakeAccounts

    stranger = FakeAccounts(token_uri=fake.accounts.token_uri).key_file(
        tmp_path / "other.json", fake.project
    )
    gcp = GCPProvider(api_endpoint=fake.base_url, credentials_file=str(stranger))
    assert run(gcp.check()).startswith("gcp: disabled: Request had invalid authentication")
    with pytest.raises(CredentialsError):
        run(gcp.provision(make_request("stranger")))
    assert not fake.instances


def _service_account_file(tmp_path: Path, fake: FakeGCE) -> Path:
    """A key the fake trusts, written where a test wants it."""
    return fake.accounts.key_file(tmp_path / "sa.json", fake.project)


def test_adc_service_account_project_and_bearer_token(
    fake: FakeGCE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(_service_account_file(tmp_path, fake)))
    gcp = GCPProvider(api_endpoint=fake.base_url)  # project comes from the ADC file
    assert run(gcp.is_available()) is True
    line = run(gcp.check())
    assert line == (
        "gcp: enabled (project styx-proj, account styx-ci@styx-proj.iam.gserviceaccount.com)"
    )
    # google-cloud-compute signs its own JWT with the key: no token endpoint round trip
    regions_call = fake.received("GET", "/regions")[-1]
    assert (regions_call.authorization or "").startswith("Bearer ey")


def test_gcloud_adc_well_known_file(
    fake: FakeGCE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found where `gcloud auth application-default login` writes ADC ($CLOUDSDK_CONFIG).

    (An authorized_user file would refresh at oauth2.googleapis.com, whatever its token_uri
    says, so the offline test uses a service-account key at that path.)
    """
    key = _service_account_file(tmp_path, fake)
    gcloud = tmp_path / "gcloud-config"  # CLOUDSDK_CONFIG, set by the autouse fixture
    (gcloud / "application_default_credentials.json").write_text(key.read_text())
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-wins")
    gcp = GCPProvider(api_endpoint=fake.base_url)
    assert run(gcp.is_available()) is True
    assert (run(gcp.api())).project == "env-wins"


def test_check_reports_rejected_credentials(fake: FakeGCE) -> None:
    from tests.gcp.conftest import fake_config

    fake.inject_http_error(403, "forbidden", "Required 'compute.regions.list' permission", times=1)
    line = run(GCPProvider(**fake_config(fake)).check())
    assert line.startswith("gcp: disabled: Required 'compute.regions.list' permission"), line
    assert "roles" in line


def test_project_precedence(styx_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_CORE_PROJECT", "sdk-proj")
    assert GCPSettings.load().project_id == "sdk-proj"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-proj")
    assert GCPSettings.load().project_id == "env-proj"
    (styx_home / "config.yaml").write_text(
        "gcp:\n  project_id: cfg-proj\n  ssh_user: ubuntu\n  api_endpoint: http://127.0.0.1:1\n"
    )
    s = GCPSettings.load()
    assert (s.project_id, s.ssh_user, s.api_endpoint) == (
        "cfg-proj",
        "ubuntu",
        "http://127.0.0.1:1",
    )
    assert GCPSettings.load({"project_id": "arg-proj"}).project_id == "arg-proj"


def test_ssh_user_is_configurable(fake: FakeGCE, make_request) -> None:  # type: ignore[no-untyped-def]
    from tests.gcp.conftest import fake_config

    gcp = GCPProvider(**fake_config(fake, ssh_user="ubuntu"))
    inst = run(gcp.provision(make_request("u")))
    assert inst.ssh_user == "ubuntu"
    body = fake.received("POST", "/instances")[-1].body or {}
    keys = {i["key"]: i["value"] for i in body["metadata"]["items"]}["ssh-keys"]
    assert keys.startswith("ubuntu:ssh-ed25519 ")
