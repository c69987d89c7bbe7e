"""The tool's own RSA key pair: made on first start, kept private, its public half served.

The platform checks the tool's signatures (the client assertion of the AGS and NRPS token
request, the Deep Linking response) against the JWKS the tool serves, so the key must outlive
restarts: it lives in the service's data dir, `lti-key.pem`, readable by its owner only (a
service run with `--db` and no data dir keeps it in its database instead; see `wiring`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from jwcrypto.jwk import JWK

FILENAME = "lti-key.pem"


@dataclass(frozen=True)
class ToolKey:
    private_pem: str
    public_pem: str
    jwk: dict            # the public key as a JWK, with its kid, alg and use

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


def load_or_make(data_dir: Path) -> ToolKey:
    """The key in `data_dir`, made there (mode 0600, written whole or not at all) if missing."""
    path = Path(data_dir) / FILENAME
    if not path.exists():
        _make(path)
    return load(data_dir)


def load(data_dir: Path) -> ToolKey | None:
    """The key in `data_dir`, None if there is none (a grading worker on another machine:
    it leaves publishing to the web process rather than sign with a key nobody knows)."""
    path = Path(data_dir) / FILENAME
    if not path.exists():
        return None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # a copy restored with looser modes is tightened again
    return from_pem(path.read_text())


def from_pem(pem: str) -> ToolKey:
    key = JWK.from_pem(pem.encode())
    public = json.loads(key.export_public())
    public.update(kid=key.thumbprint(), alg="RS256", use="sig")
    return ToolKey(private_pem=key.export_to_pem(private_key=True, password=None).decode(),
                   public_pem=key.export_to_pem().decode(), jwk=public)


def new_pem() -> str:
    return JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True,
                                                           password=None).decode()


def _make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = new_pem().encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)   # two processes starting at once: the first key wins, both use it
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
