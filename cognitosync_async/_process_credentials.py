"""``credential_process``: run the profile's command and read its JSON (``Version: 1``)."""

from __future__ import annotations

import asyncio
import json
import shlex
from datetime import datetime

from ._credentials import Credentials
from ._exceptions import CredentialRetrievalError

TIMEOUT = 60.0


async def fetch(command: str, profile: str, *, timeout: float = TIMEOUT) -> Credentials:
    """Run ``command`` (split as a POSIX shell would, never through a shell)."""
    where = f"credential_process of profile {profile!r}"
    try:
        argv = shlex.split(command)
    except ValueError:
        raise CredentialRetrievalError(f"{where}: cannot split the command line") from None
    if not argv:
        raise CredentialRetrievalError(f"{where}: empty command")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise CredentialRetrievalError(f"{where}: cannot run {argv[0]!r}: {exc.strerror}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CredentialRetrievalError(f"{where}: no answer within {timeout:g} s") from None
    if proc.returncode != 0:
        # stderr is the process's own account of the failure (its first line, bounded)
        first = err.decode("utf-8", "replace").strip().splitlines()[:1]
        raise CredentialRetrievalError(
            f"{where} exited with status {proc.returncode}"
            + (f": {first[0][:200]}" if first else "")
        )
    try:
        data = json.loads(out)
    except ValueError:
        raise CredentialRetrievalError(f"{where}: its output is not JSON") from None
    if not isinstance(data, dict):
        raise CredentialRetrievalError(f"{where}: its output is not a JSON object")
    if data.get("Version") != 1:
        raise CredentialRetrievalError(
            f"{where}: unsupported Version {data.get('Version')!r} (only 1 is supported)"
        )
    key, secret = data.get("AccessKeyId"), data.get("SecretAccessKey")
    if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
        raise CredentialRetrievalError(f"{where}: AccessKeyId or SecretAccessKey missing")
    token = data.get("SessionToken")
    expiration = None
    raw = data.get("Expiration")
    if raw is not None:
        try:
            expiration = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            if expiration.utcoffset() is None:
                raise ValueError
        except ValueError:
            raise CredentialRetrievalError(f"{where}: unreadable Expiration") from None
    return Credentials(key, secret, token if isinstance(token, str) and token else None, expiration)
