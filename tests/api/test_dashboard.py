"""The web dashboard and its JSON reads, on a real API server (SQLite, local provider allowed):
the read routes over plain HTTP (401 without a token, 404 for another user's cluster and logs,
tokens made and revoked), `styx status` served by a read, and the page itself in a headless
Chromium driven by Selenium, which sees alice's cluster UP and its job's log lines arrive live,
not bob's cluster, and leaves a screenshot in $STYX_TEST_ARTIFACTS (default test-artifacts/)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import run_styx, server_process
from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# alice's job prints a line with the time it was printed, every ~0.5 s, for ten minutes.
TICKER = 'for i in $(seq 1 1200); do echo "tick $i at $(date +%s.%N)"; sleep 0.5; done'


@dataclass
class Dashboard:
    endpoint: str
    home: Path
    tokens: dict[str, str]
    client_home: Path


def _client_env(dash: Dashboard, user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("STYX_DB_URL", "STYX_API_TOKEN")}
    env.update(
        STYX_HOME=str(dash.client_home), STYX_API_SERVER=dash.endpoint,
        STYX_API_TOKEN=dash.tokens[user],
    )  # fmt: skip
    return env


@pytest.fixture(scope="module")
def dash() -> Iterator[Dashboard]:
    """A server with two users, alice (admin) and bob, each owning one local cluster: alice's
    runs the ticker (detached), bob's ran one short job."""
    home = Path(tempfile.mkdtemp(prefix="styx-dashboard-"))
    client_home = Path(tempfile.mkdtemp(prefix="styx-dashboard-client-"))
    (home / "config.yaml").write_text("api_server: {allow_local_provider: true}\n")
    try:
        with server_process("sqlite", home, dict(os.environ)) as server:
            dashboard = Dashboard(server.endpoint, home, server.tokens, client_home)
            launches = [
                ("alice", "dash-alice", TICKER, ("-d",)),
                ("bob", "dash-bob", "echo bob says hi", ()),
            ]
            for user, cluster, run, extra in launches:
                task = client_home / f"{cluster}.yaml"
                task.write_text(json.dumps({"resources": {"infra": "local"}, "run": run}))
                done = run_styx(
                    _client_env(dashboard, user), "launch", "-y", *extra, "-c", cluster, str(task)
                )
                assert done.returncode == 0, done.stderr
            _add_finished_managed_job(home)
            yield dashboard
    finally:
        shutil.rmtree(client_home, ignore_errors=True)


def _add_finished_managed_job(home: Path) -> None:
    """A managed job that recovered twice and succeeded, in the server's store, as one submitted
    on the server machine itself (no owner): an admin's to see. Finished, so that no
    controller acts on it."""
    from styx.jobs.store import JobStore
    from styx.state.store import open_store

    store = open_store(home / "state.db")
    jobs = JobStore(store)
    job_id = jobs.add({"run": "echo trained"}, name="train-dash", base_dir=None)
    jobs.update(job_id, status="SUCCEEDED", recovery_count=2, infra="local")
    store.close()


def _open(dash: Dashboard, path: str, user: str | None, method: str = "GET") -> Any:
    req = urllib.request.Request(dash.endpoint + path, method=method)
    if user is not None:
        token = dash.tokens.get(user, user)  # a user's name, or a token itself
        req.add_header("Authorization", f"Bearer {token}")
    return urllib.request.urlopen(req, timeout=30)


def get(dash: Dashboard, path: str, user: str | None, method: str = "GET") -> Any:
    with _open(dash, path, user, method) as resp:
        return json.loads(resp.read())


def status_of(dash: Dashboard, path: str, user: str | None, method: str = "GET") -> int:
    try:
        with _open(dash, path, user, method) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


READS = [
    "/api/clusters",
    "/api/clusters/dash-alice/jobs",
    "/api/clusters/dash-alice/jobs/1/logs?follow=0",
    "/api/managed-jobs",
    "/api/cost-report",
    "/api/tokens",
]


def test_the_page_script_sets_text_never_html() -> None:
    script = (REPO / "src/styx/server/dashboard/app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    page = (REPO / "src/styx/server/dashboard/index.html").read_text()
    assert "<script>" not in page and "style=" not in page and "<style" not in page


def test_reads_need_a_token_and_the_page_does_not(dash: Dashboard) -> None:
    for path in READS:
        assert status_of(dash, path, None) == 401, path
        assert status_of(dash, path, "styx_not-a-token") == 401, path
    assert status_of(dash, "/api/tokens", None, "POST") == 401
    with _open(dash, "/", None) as page:
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert b"/dashboard/app.js" in page.read()
    assert status_of(dash, "/dashboard/app.js", None) == 200
    assert status_of(dash, "/dashboard/..%2Fapp.py", None) == 404
    assert status_of(dash, "/dashboard/index.py", None) == 404


def test_clusters_are_each_users_own(dash: Dashboard) -> None:
    mine = get(dash, "/api/clusters", "alice")
    assert [(c["name"], c["status"], c["owner"]) for c in mine] == [("dash-alice", "UP", "alice")]
    row = mine[0]
    assert "task_yaml" not in row  # the task file may hold secrets
    assert row["provider"] == "local" and row["accrued_cost"] >= 0 and "hourly_price" in row
    assert [c["name"] for c in get(dash, "/api/clusters", "bob")] == ["dash-bob"]
    everyone = get(dash, "/api/clusters?all_users=1", "alice")  # alice is the admin
    assert sorted(c["name"] for c in everyone) == ["dash-alice", "dash-bob"]
    assert status_of(dash, "/api/clusters?all_users=1", "bob") == 403
    # Another user's cluster, its jobs and its logs do not exist for bob.
    for path in READS[1:3]:
        assert status_of(dash, path, "bob") == 404, path
    assert status_of(dash, "/api/clusters/nope/jobs", "bob") == 404
    assert status_of(dash, "/api/clusters/dash-bob/jobs/x/logs", "bob") == 400
    jobs = get(dash, "/api/clusters/dash-bob/jobs", "bob")
    assert jobs["source"] == "head"
    assert [(j["job_id"], j["status"]) for j in jobs["jobs"]] == [(1, "SUCCEEDED")]
    assert get(dash, "/api/managed-jobs", "bob") == []
    managed = get(dash, "/api/managed-jobs", "alice")
    assert [(j["name"], j["status"], j["recovery_count"]) for j in managed] == [
        ("train-dash", "SUCCEEDED", 2)
    ]
    assert "task_yaml" not in managed[0]
    report = get(dash, "/api/cost-report?days=1", "bob")
    assert [c["cluster"] for c in report["clusters"]] == ["dash-bob"]
    assert status_of(dash, "/api/cost-report?days=nan", "bob") == 400


def test_a_finished_jobs_log_ends_with_its_record(dash: Dashboard) -> None:
    with _open(dash, "/api/clusters/dash-bob/jobs/1/logs", "bob") as resp:
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        lines = [json.loads(raw) for raw in resp]
    assert "bob says hi" in "".join(line.get("text", "") for line in lines)
    assert lines[-1]["done"] is True and lines[-1]["job"]["status"] == "SUCCEEDED"


def test_a_running_jobs_log_streams_live(dash: Dashboard) -> None:
    opened = time.time()
    with _open(dash, "/api/clusters/dash-alice/jobs/1/logs", "alice") as resp:
        for raw in resp:
            text = json.loads(raw).get("text", "")
            stamps = [float(w) for w in text.split() if w.replace(".", "").isdigit() and "." in w]
            if any(stamp > opened for stamp in stamps):
                break  # a line printed after the stream opened arrived while it is open
        else:
            pytest.fail("the stream ended without a new line")


def _log_followers(home: Path) -> list[int]:
    """The server's `agent logs --follow` processes (by the server's home in their command)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "logs 1 --follow" in cmdline and str(home) in cmdline:
            found.append(int(proc.name))
    return found


def test_a_log_stream_stops_following_when_its_client_goes_away(dash: Dashboard) -> None:
    with _open(dash, "/api/clusters/dash-alice/jobs/1/logs", "alice") as resp:
        assert "tick" in json.loads(resp.readline())["text"]
        assert _log_followers(dash.home)  # the core's follower runs while the client reads
    deadline = time.monotonic() + 15
    while _log_followers(dash.home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _log_followers(dash.home) == []


def test_tokens_made_listed_and_revoked_by_their_user(dash: Dashboard) -> None:
    issued = get(dash, "/api/tokens", "bob", "POST")
    assert issued["user"] == "bob" and issued["token"].startswith("styx_")
    assert get(dash, "/api/whoami", issued["token"])["user"] == "bob"
    listed = get(dash, "/api/tokens", "bob")
    assert issued["token_id"] in [t["token_id"] for t in listed]
    assert all(set(t) == {"token_id", "created_at", "last_used_at"} for t in listed)
    assert any(t["last_used_at"] for t in listed)  # bob's first token was just used
    assert issued["token_id"] not in [t["token_id"] for t in get(dash, "/api/tokens", "alice")]
    assert status_of(dash, f"/api/tokens/{issued['token_id']}", "alice", "DELETE") == 404
    assert get(dash, f"/api/tokens/{issued['token_id']}", "bob", "DELETE") == {
        "revoked": issued["token_id"]
    }
    assert status_of(dash, "/api/whoami", issued["token"]) == 401
    assert status_of(dash, f"/api/tokens/{issued['token_id']}", "bob", "DELETE") == 404


def test_status_through_the_server_is_a_read_not_a_request(dash: Dashboard) -> None:
    env = _client_env(dash, "alice")
    before = {r["id"] for r in get(dash, "/api/requests", "alice")}
    shown = run_styx(env, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [c["name"] for c in json.loads(shown.stdout)] == ["dash-alice"]
    assert run_styx(env, "status", "dash-bob", "--json").stdout.strip() == "[]"
    table = run_styx(env, "status", "--all-users")
    assert "dash-alice" in table.stdout and "dash-bob" in table.stdout
    assert {r["id"] for r in get(dash, "/api/requests", "alice")} == before


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _artifacts() -> Path:
    folder = Path(os.environ.get("STYX_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/test.sh does it)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium must not look for a driver online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,900", "--no-first-run", "--disable-extensions",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_in_a_browser(dash: Dashboard, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(dash.endpoint + "/")
    wait.until(ec.visibility_of_element_located((By.ID, "token-input")))
    browser.find_element(By.ID, "token-input").send_keys(dash.tokens["alice"])
    browser.find_element(By.ID, "login-button").click()

    row = '#clusters tr[data-cluster="dash-alice"][data-status="UP"]'
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, row)))
    assert "alice (admin)" in browser.find_element(By.ID, "whoami").text
    shown = browser.find_elements(By.CSS_SELECTOR, "#clusters tbody tr")
    names = [r.get_attribute("data-cluster") for r in shown]
    assert names == ["dash-alice"]  # bob's cluster is not shown to alice by default
    cells = browser.find_element(By.CSS_SELECTOR, row).text
    assert "UP" in cells and "local" in cells

    page_loaded = time.time()
    browser.find_element(By.CSS_SELECTOR, row + " button").click()
    job = '#jobs tr[data-job="1"] button'
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, job))).click()

    def new_line_shown(driver: Any) -> bool:
        text = driver.find_element(By.ID, "log").text
        stamps = [float(w) for w in text.split() if "." in w and w.replace(".", "").isdigit()]
        return any(stamp > page_loaded for stamp in stamps)

    wait.until(new_line_shown)
    assert "tick 1 at" in browser.find_element(By.ID, "log").text  # from the start of the log
    assert browser.find_element(By.ID, "log-state").text == "streaming..."

    browser.find_element(By.CSS_SELECTOR, 'nav button[data-view="managed"]').click()
    managed = "#managed tbody tr"
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, managed)))
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, managed + " td")]
    assert cells[1:4] == ["train-dash", "SUCCEEDED", "2"]  # name, status, recoveries
    browser.find_element(By.CSS_SELECTOR, 'nav button[data-view="tokens"]').click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#tokens tbody tr")))
    browser.find_element(By.CSS_SELECTOR, 'nav button[data-view="clusters"]').click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, row)))
    wait.until(lambda d: "tick" in d.find_element(By.ID, "log").text)

    shot = _artifacts() / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    width, height = _png_size(data)
    assert width >= 800 and height >= 600
    assert len(data) > 10_000  # a rendered page, not a blank one
    # No script error and no Content-Security-Policy violation on the way.
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
