"""Run a command in another pod through the Kubernetes API, from inside a pod (stdlib only).

The head pod's agent uses this to start and stop the worker ranks of a Kubernetes cluster: it
is the ``kind: k8s`` counterpart of the OpenSSH client. It speaks the ``pods/exec`` subresource
over a websocket (``v4.channel.k8s.io``: every frame starts with a channel byte, 1 stdout,
2 stderr, 3 a Status JSON holding the exit code) and authenticates with the pod's service
account:

* ``$KUBERNETES_SERVICE_HOST`` / ``$KUBERNETES_SERVICE_PORT`` (set by the kubelet in every pod),
* the token, CA and namespace under ``/var/run/secrets/kubernetes.io/serviceaccount``
  (``$STYX_KUBE_SA_DIR`` names another folder, for pods that mount the account elsewhere).

The API server is always reached over TLS and verified against the account's ``ca.crt`` (the
system's CAs when the folder has none), as client-go's in-cluster config does.

The service account needs ``create`` on ``pods/exec`` in the namespace (the Kubernetes provider
creates a ``styx-agent`` ServiceAccount, Role and RoleBinding for Styx pods).

Usage: ``python -m styx.agent.kubeexec --namespace NS --pod POD [--container C] -- ARGV...``;
the exit status is the remote command's (255 when the exec itself failed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import ssl
import struct
import sys
import urllib.parse
from dataclasses import dataclass
from typing import BinaryIO

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PROTOCOL = "v4.channel.k8s.io"
EXEC_FAILED = 255
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class ExecError(Exception):
    """The exec could not be started or broke off (not the remote command failing)."""


@dataclass(frozen=True)
class InCluster:
    host: str
    port: int
    token: str
    ca_file: str | None

    @classmethod
    def from_env(cls) -> InCluster:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise ExecError("KUBERNETES_SERVICE_HOST is not set: not running inside a pod")
        sa_dir = os.environ.get("STYX_KUBE_SA_DIR", SA_DIR)
        try:
            with open(os.path.join(sa_dir, "token"), encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as exc:
            raise ExecError(f"no service account token in {sa_dir}: {exc}") from exc
        ca = os.path.join(sa_dir, "ca.crt")
        return cls(
            host=host,
            port=int(port),
            token=token,
            ca_file=ca if os.path.isfile(ca) else None,
        )


def exec_path(namespace: str, pod: str, container: str | None, argv: list[str]) -> str:
    query: list[tuple[str, str]] = [("command", a) for a in argv]
    query += [("stdout", "true"), ("stderr", "true")]
    if container:
        query.append(("container", container))
    return (
        f"/api/v1/namespaces/{urllib.parse.quote(namespace)}/pods/{urllib.parse.quote(pod)}"
        f"/exec?{urllib.parse.urlencode(query)}"
    )


class WebSocket:
    """The client half of RFC 6455, enough for exec: read frames, answer pings, close."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")

    @classmethod
    def connect(cls, cfg: InCluster, path: str, timeout: float = 20.0) -> WebSocket:
        raw = socket.create_connection((cfg.host, cfg.port), timeout=timeout)
        ctx = ssl.create_default_context(cafile=cfg.ca_file)
        sock = ctx.wrap_socket(raw, server_hostname=cfg.host)
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{cfg.port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {PROTOCOL}\r\n"
            f"Authorization: Bearer {cfg.token}\r\n"
            "\r\n"
        )
        sock.sendall(request.encode())
        ws = cls(sock)
        status = ws.reader.readline().decode("latin-1").strip()
        headers: list[str] = []
        while (line := ws.reader.readline()) not in (b"\r\n", b"\n", b""):
            headers.append(line.decode("latin-1").strip())
        if " 101 " not in f"{status} ":
            # The API server answers a refused upgrade with a Status body: show its message.
            body = ws._error_body(headers)
            raise ExecError(f"exec refused: {status}{': ' + body if body else ''}")
        sock.settimeout(None)  # a job may print nothing for hours
        return ws

    def _error_body(self, headers: list[str]) -> str:
        length = 0
        for h in headers:
            name, _, value = h.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip() or 0)
        if not length:
            return ""
        text = self.reader.read(min(length, 4096)).decode("utf-8", "replace")
        try:
            return str(json.loads(text).get("message", text))
        except ValueError:
            return text.strip()

    def _read_exact(self, n: int) -> bytes:
        data = self.reader.read(n)
        if len(data) != n:
            raise ExecError("the exec stream ended in the middle of a frame")
        return data

    def recv(self) -> tuple[int, bytes]:
        """The next whole message (opcode, payload); control frames are returned as they come."""
        opcode, parts = None, []
        while True:
            b0, b1 = self._read_exact(2)
            fin, op = b0 & 0x80, b0 & 0x0F
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if b1 & 0x80 else None
            payload = self._read_exact(length)
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            if op >= OP_CLOSE:  # control frames may arrive between fragments
                return op, payload
            opcode = op if opcode is None else opcode
            parts.append(payload)
            if fin:
                return opcode, b"".join(parts)

    def send(self, opcode: int, payload: bytes = b"") -> None:
        """A masked frame (clients must mask); only small control frames are sent here."""
        mask = os.urandom(4)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        try:
            self.send(OP_CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def exit_code(status_json: bytes) -> int:
    """The remote exit code from the Status on channel 3 (Success: 0)."""
    try:
        status = json.loads(status_json)
    except ValueError:
        return EXEC_FAILED
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1))
    sys.stderr.write(f"exec failed: {status.get('message', 'unknown error')}\n")
    return 127 if "not found" in str(status.get("message", "")) else EXEC_FAILED


def run(namespace: str, pod: str, container: str | None, argv: list[str]) -> int:
    cfg = InCluster.from_env()
    ws = WebSocket.connect(cfg, exec_path(namespace, pod, container, argv))
    out, err = sys.stdout.buffer, sys.stderr.buffer
    code: int | None = None
    try:
        while True:
            try:
                op, payload = ws.recv()
            except ExecError:
                break  # the server closed the connection without a close frame
            if op == OP_PING:
                ws.send(OP_PONG, payload[:125])
            elif op == OP_CLOSE:
                break
            elif op in (OP_BINARY, OP_TEXT) and payload:
                channel, data = payload[0], payload[1:]
                if channel == 1:
                    out.write(data)
                    out.flush()
                elif channel == 2:
                    err.write(data)
                    err.flush()
                elif channel == 3:
                    code = exit_code(data)
    finally:
        ws.close()
    if code is None:
        raise ExecError("the exec stream ended without an exit status")
    return code


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m styx.agent.kubeexec")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--pod", required=True)
    parser.add_argument("--container")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    ns = parser.parse_args(args)
    argv = ns.argv[1:] if ns.argv[:1] == ["--"] else ns.argv
    if not argv:
        parser.error("no command given")
    try:
        return run(ns.namespace, ns.pod, ns.container, argv)
    except (ExecError, OSError) as exc:
        sys.stderr.write(f"kubeexec {ns.namespace}/{ns.pod}: {exc}\n")
        return EXEC_FAILED


if __name__ == "__main__":
    sys.exit(main())
