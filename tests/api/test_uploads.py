"""A task's files through the API server: packed by the client with the in-process sync's
rules, stored per user, unpacked safely, removed when the request ends."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from styx.client.uploads import pack
from styx.errors import StyxError
from styx.execution.sync import ignore_patterns, iter_entries
from styx.server import uploads
from styx.server.uploads import UploadError, UploadLimits
from styx.task import Task
from tests.api.conftest import ApiServer, client_env, run_styx

LIMITS = UploadLimits(max_bytes=10 * 2**20, max_files=100, ttl_s=3600)


def _workdir(root: Path) -> Path:
    wd = root / "wd"
    (wd / "sub" / "empty").mkdir(parents=True)
    (wd / "hello.txt").write_text("from workdir\n")
    (wd / "sub" / "deep.txt").write_text("deep\n")
    (wd / "secret.tmp").write_text("no\n")
    (wd / ".styxignore").write_text("*.tmp\n")
    (wd / ".git").mkdir()
    (wd / ".git" / "HEAD").write_text("ref\n")
    (wd / "link").symlink_to("sub/deep.txt")
    (wd / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (wd / "run.sh").chmod(0o755)
    return wd


def _tree(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = path.read_text()
    return out


def test_pack_sends_what_the_in_process_sync_copies(tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    single = tmp_path / "config.json"
    single.write_text("{}")
    task = Task.from_yaml(
        {"workdir": "wd", "file_mounts": {"~/cfg.json": "config.json", "~/data": "wd/sub"}},
        base_dir=str(tmp_path),
    )
    archive = tmp_path / "up.tar"
    data = pack(task, archive)
    assert data["workdir"] == "workdir"
    assert data["file_mounts"] == {"~/cfg.json": "mounts/0", "~/data": "mounts/1"}

    folder = uploads.unpack(archive, LIMITS)
    assert (folder.stat().st_mode & 0o777) == 0o700
    sent = _tree(folder / "workdir")
    expected = {rel for rel, _, _ in iter_entries(wd, ignore_patterns(wd))}
    assert {k for k, v in sent.items() if v != "dir"} == expected
    assert "secret.tmp" not in sent and ".git" not in sent  # ignore rules honoured
    assert sent["sub/empty"] == "dir" and sent["link"] == "-> sub/deep.txt"
    assert os.access(folder / "workdir" / "run.sh", os.X_OK)
    assert (folder / "mounts" / "0").read_text() == "{}"
    assert _tree(folder / "mounts" / "1") == _tree(wd / "sub")
    # The server reads the same task back with paths inside the upload, and nothing else.
    from styx.server.verbs import UNPACKED, UnpackedUpload, _task

    served = _task({"task": data, UNPACKED: UnpackedUpload(folder)})
    assert served.resolve_path(served.workdir) == folder / "workdir"
    uploads.remove(archive)
    assert not archive.exists() and not folder.exists()


def test_a_pipelines_stages_share_one_upload_apart(tmp_path: Path) -> None:
    from styx.client.uploads import stages_args

    _workdir(tmp_path)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "b.txt").write_text("stage two\n")
    stages = [
        Task.from_yaml({"workdir": "wd", "run": "true"}, base_dir=str(tmp_path)),
        Task.from_yaml({"file_mounts": {"~/b": "two"}, "run": "true"}, base_dir=str(tmp_path)),
        Task.from_yaml({"run": "true"}),
    ]

    class Client:
        def upload(self, archive: Path) -> str:
            self.kept = tmp_path / "sent.tar"
            self.kept.write_bytes(archive.read_bytes())
            return "0" * 32

    client = Client()
    args = stages_args(client, stages)  # type: ignore[arg-type]
    assert args["upload"] == "0" * 32
    assert args["stages"][0]["workdir"] == "stage0/workdir"
    assert args["stages"][1]["file_mounts"] == {"~/b": "stage1/mounts/0"}
    assert "workdir" not in args["stages"][2]
    folder = uploads.unpack(client.kept, LIMITS)
    assert (folder / "stage0" / "workdir" / "hello.txt").read_text() == "from workdir\n"
    assert (folder / "stage1" / "mounts" / "0" / "b.txt").read_text() == "stage two\n"


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, body in members:
            if body is not None:
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([(_info("/etc/evil"), b"x")], "unsafe name"),
        ([(_info("workdir/../../evil"), b"x")], "unsafe name"),
        ([(_info("workdir/out", tarfile.SYMTYPE, "../../etc"), None)], "points outside"),
        ([(_info("workdir/abs", tarfile.SYMTYPE, "/etc/passwd"), None)], "points outside"),
        ([(_info("workdir/hard", tarfile.LNKTYPE, "workdir/x"), None)], "hard link"),
        ([(_info("workdir/fifo", tarfile.FIFOTYPE), None)], "special file"),
        ([(_info("workdir/dev", tarfile.CHRTYPE), None)], "special file"),
        # Each link stays inside by its text; through the first, the second leads out.
        (
            [
                (_info("d", tarfile.DIRTYPE), None),
                (_info("d/up", tarfile.SYMTYPE, ".."), None),
                (_info("d/up/out", tarfile.SYMTYPE, ".."), None),
            ],
            "unsafe member",
        ),
        ([(_info("d/up", tarfile.SYMTYPE, "."), None), (_info("d/up/../../x"), b"x")], "unsafe"),
        ([(_info(f"f{i}"), b"") for i in range(101)], "more than 100 files"),
        ([(_info("big"), b"x" * (10 * 2**20 + 1))], "more than 10 MB"),
    ],
)
def test_unsafe_or_oversized_archives_fail_in_one_line(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], message: str
) -> None:
    archive = _tar(tmp_path / "bad.tar", *members)
    with pytest.raises(UploadError) as info:
        uploads.unpack(archive, LIMITS)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not archive.with_suffix(".d").exists()  # nothing half-unpacked left
    assert not (tmp_path.parent / "evil").exists() and not Path("/etc/evil").exists()


def test_not_a_tar_fails_in_one_line(tmp_path: Path) -> None:
    archive = tmp_path / "junk.tar"
    archive.write_bytes(b"this is not a tar archive" * 40)
    with pytest.raises(UploadError, match="not a valid tar archive"):
        uploads.unpack(archive, LIMITS)
    assert not archive.with_suffix(".d").exists()


def test_sweep_removes_only_abandoned_uploads(styx_home: Path) -> None:
    _, old = uploads.new_upload_path("alice")
    _, fresh = uploads.new_upload_path("alice")
    for path in (old, fresh):
        path.write_bytes(b"")
    (old.with_suffix(".d")).mkdir()
    past = time.time() - 7200
    for path in (old, old.with_suffix(".d")):
        os.utime(path, (past, past))
    assert uploads.sweep(3600) == 2
    assert fresh.exists() and not old.exists() and not old.with_suffix(".d").exists()
    assert (uploads.user_dir("alice").stat().st_mode & 0o777) == 0o700


def test_an_upload_serves_one_request_and_only_its_user(styx_home: Path) -> None:
    upload_id, path = uploads.new_upload_path("alice")
    path.write_bytes(b"")
    with pytest.raises(uploads.UploadNotFoundError):
        uploads.claim("bob", upload_id)
    claimed = uploads.claim("alice", upload_id)
    with pytest.raises(uploads.UploadNotFoundError, match=f"upload '{upload_id}' not found"):
        uploads.claim("alice", upload_id)  # a second request naming it
    uploads.remove(claimed)
    assert list(uploads.user_dir("alice").iterdir()) == []


def test_a_path_of_the_client_needs_an_upload_inside_it(tmp_path: Path) -> None:
    from styx.server.verbs import UNPACKED, UnpackedUpload, _task

    with pytest.raises(StyxError, match="workdir: a path on the client's machine"):
        _task({"task": {"workdir": "/etc"}})
    with pytest.raises(StyxError, match=r"file_mounts.~/x: a path on the client's machine"):
        _task({"task": {"file_mounts": {"~/x": "/etc/passwd"}}})
    folder = UnpackedUpload(tmp_path)
    for bad in ("/etc", "../..", "~/secret", "workdir/../../x"):
        with pytest.raises(StyxError, match="expected a path inside the request's upload"):
            _task({"task": {"workdir": bad}, UNPACKED: folder})
    # A JSON body cannot forge the unpacked folder: the marker must be the server's object.
    with pytest.raises(StyxError, match="needs an upload"):
        _task({"task": {"workdir": "/etc"}, UNPACKED: {"folder": "/"}})


# ---- through a real server (SQLite and PostgreSQL) -------------------------------------------


def _post_upload(server: ApiServer, token: str | None, body: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/x-tar"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        server.endpoint + "/api/uploads", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _submit(server: ApiServer, token: str, verb: str, args: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(
        server.endpoint + "/api/requests",
        data=json.dumps({"verb": verb, "args": args}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _user_uploads(server: ApiServer, user: str) -> list[str]:
    folder = server.home / "server" / "uploads" / user
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_upload_route_auth_ownership_and_size_cap(api_server: ApiServer, tmp_path: Path) -> None:
    body = _tar(tmp_path / "ok.tar", (_info("workdir/a.txt"), b"a")).read_bytes()
    assert _post_upload(api_server, None, body)[0] == 401
    status, answer = _post_upload(api_server, api_server.tokens["alice"], body)
    assert status == 201 and answer["size"] == len(body)
    upload_id = answer["upload_id"]
    stored = api_server.home / "server" / "uploads" / "alice" / f"{upload_id}.tar"
    assert stored.read_bytes() == body and (stored.stat().st_mode & 0o777) == 0o600

    # bob cannot use alice's upload: as if it did not exist.
    task = {"workdir": "workdir", "resources": {"infra": "local"}, "run": "cat a.txt"}
    status, answer = _submit(
        api_server, api_server.tokens["bob"], "launch", {"task": task, "upload": upload_id}
    )
    assert status == 404 and answer["error"] == f"upload '{upload_id}' not found"
    status, answer = _submit(
        api_server, api_server.tokens["bob"], "launch", {"task": task, "upload": "../x"}
    )
    assert status == 400 and "32 hex digits" in answer["error"]
    # A bad archive fails its request in one line, and leaves nothing on the server.
    status, answer = _post_upload(api_server, api_server.tokens["alice"], b"not a tar" * 100)
    status, answer = _submit(
        api_server, api_server.tokens["alice"], "launch",
        {"task": task, "upload": answer["upload_id"], "cluster": "never"},
    )  # fmt: skip
    assert status == 202
    env = client_env(api_server, Path(api_server.home.parent), "alice")
    logs = run_styx(env, "api", "logs", answer["request_id"])
    assert logs.returncode != 0 and logs.stderr.count("\n") == 1
    assert "upload: not a valid tar archive" in logs.stderr
    stored.unlink()
    assert _user_uploads(api_server, "alice") == []

    config = api_server.home / "config.yaml"
    before = config.read_text()
    config.write_text("api_server: {allow_local_provider: true, max_upload_mb: 0.001}\n")
    try:
        status, answer = _post_upload(api_server, api_server.tokens["alice"], b"x" * 4096)
    finally:
        config.write_text(before)
    assert status == 413 and "max_upload_mb" in answer["error"]
    assert not [n for n in _user_uploads(api_server, "alice") if n.endswith((".tar", ".part"))]


def test_local_flow_with_workdir_and_file_mounts(
    api_server: ApiServer, styx_home: Path, tmp_path: Path
) -> None:
    """launch and exec with a workdir (ignore rules) and file mounts (a file, a folder) sent by
    the client; the server keeps none of them once each request has ended."""
    wd = _workdir(tmp_path)
    (tmp_path / "cfg.txt").write_text("mounted-file\n")
    task = tmp_path / "task.yaml"
    task.write_text(
        "resources: {infra: local}\n"
        "workdir: wd\n"
        "file_mounts: {~/cfg.txt: cfg.txt, ~/data: wd/sub}\n"
        "run: |\n"
        "  cat hello.txt ~/cfg.txt ~/data/deep.txt; ls -a | tr '\\n' ' '; echo\n"
    )
    env = client_env(api_server, styx_home, "alice")
    cluster = f"up-{api_server.backend}"
    launched = run_styx(env, "launch", "-y", "-c", cluster, str(task))
    try:
        assert launched.returncode == 0, launched.stderr
        for line in ("from workdir", "mounted-file", "deep"):
            assert line in launched.stdout.splitlines(), launched.stdout
        listing = next(ln for ln in launched.stdout.splitlines() if "hello.txt" in ln)
        assert "secret.tmp" not in listing and ".git " not in listing + " "
        assert _user_uploads(api_server, "alice") == []  # removed when the request ended

        # exec copies nothing unless asked (as in-process), then sends the files again.
        (wd / "hello.txt").write_text("changed before exec\n")
        ran = run_styx(env, "exec", cluster, str(task))
        assert ran.returncode == 0, ran.stderr
        assert "from workdir" in ran.stdout.splitlines()
        ran = run_styx(env, "exec", "--sync-workdir", cluster, str(task))
        assert ran.returncode == 0, ran.stderr
        assert "changed before exec" in ran.stdout.splitlines()
        assert _user_uploads(api_server, "alice") == []

        # A workdir that is not there is refused by the client, in one line, before any upload.
        missing = run_styx(
            env, "exec", "--sync-workdir", cluster, "--workdir", str(tmp_path / "nope"), "true"
        )
        assert missing.returncode != 0 and missing.stderr.count("\n") == 1
        assert "not found" in missing.stderr
    finally:
        assert run_styx(env, "down", "-y", cluster).returncode == 0
