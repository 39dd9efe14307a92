"""The user's Styx SSH key: made once under $STYX_HOME/keys, used for every node of every cloud."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from styx.config import styx_home

KEY_NAME = "styx_ed25519"


def ssh_key_path() -> Path:
    return styx_home() / "keys" / KEY_NAME


def ensure_ssh_key() -> tuple[Path, str]:
    """Return (private key path, public key in OpenSSH format), creating the pair if needed.

    The private key is written 0600 before any byte of it lands on disk.
    """
    private = ssh_key_path()
    public = private.with_suffix(".pub")
    if private.exists() and public.exists():
        return private, public.read_text().strip()
    private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Several nodes (or processes) may ask at once: one makes the pair, the others wait for it,
    # so the private and public halves always belong together.
    with open(private.parent / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if private.exists() and public.exists():
            return private, public.read_text().strip()
        import asyncssh

        key = asyncssh.generate_private_key("ssh-ed25519", comment="styx")
        tmp = private.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key())
        public_text = key.export_public_key().decode().strip()
        public.with_suffix(".pubtmp").write_text(public_text + "\n")
        os.replace(public.with_suffix(".pubtmp"), public)
        os.replace(tmp, private)  # last: its presence means the pair is complete
    return private, public_text
