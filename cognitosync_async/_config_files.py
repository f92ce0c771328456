"""The shared AWS files (``~/.aws/config``, ``~/.aws/credentials``), read as botocore reads them.

``load_shared_config`` does blocking file I/O: callers run it off the loop
(``asyncio.to_thread``), once per client. The result is botocore's
``Session.full_config``: ``[profile X]`` / ``[default]`` sections of the config
file, with the credentials file's ``[X]`` sections merged over them;
``[sso-session X]`` and ``[services X]`` sections; values that start on the
next line (indented ``key = value`` lines) become nested dicts.
"""

from __future__ import annotations

import configparser
import os
import shlex
from collections.abc import Mapping
from typing import TypeAlias

import attrs

from ._exceptions import InvalidConfigError, ProfileNotFound

Value: TypeAlias = "str | dict[str, str]"
Section: TypeAlias = "dict[str, Value]"


def profile_name(environ: Mapping[str, str], explicit: str | None = None) -> str:
    """``profile_name=``, else ``AWS_DEFAULT_PROFILE``, else ``AWS_PROFILE``, else ``default``
    (botocore's order)."""
    return explicit or environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE") or "default"


def _parse_nested(value: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for line in value.splitlines():
        line = line.strip()
        if not line:
            continue
        key, sep, val = line.partition("=")
        if not sep:
            raise ValueError("a nested line lacks '='")
        parsed[key.strip()] = val.strip()
    return parsed


def raw_parse(path: str) -> dict[str, Section]:
    """Every section of one INI file ({} when the file does not exist)."""
    path = os.path.expanduser(os.path.expandvars(path))
    if not os.path.exists(path) or os.path.isdir(path):  # a named pipe is read too
        return {}
    parser = configparser.RawConfigParser()
    try:
        parser.read([path], encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        # the message names the file and the line; a value on it may be a secret
        raise InvalidConfigError(
            f"Unable to parse config file: {path} ({type(exc).__name__})"
        ) from None
    out: dict[str, Section] = {}
    for name in parser.sections():
        section: Section = {}
        for key, val in parser.items(name):
            if val.startswith("\n"):
                try:
                    section[key] = _parse_nested(val)
                except ValueError:
                    raise InvalidConfigError(
                        f"Unable to parse config file: {path} (nested value of {key!r})"
                    ) from None
            else:
                section[key] = val
        out[name] = section
    return out


def _sub_section(key: str) -> str | None:
    """The name in ``[kind name]`` (botocore's ``_parse_section``: two shell words)."""
    try:
        parts = shlex.split(key)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


@attrs.frozen
class SharedConfig:
    """The merged contents of the two shared files."""

    profiles: dict[str, Section] = attrs.field(factory=dict, repr=False)
    sso_sessions: dict[str, Section] = attrs.field(factory=dict, repr=False)
    services: dict[str, Section] = attrs.field(factory=dict, repr=False)

    def profile(self, name: str) -> Section:
        """The profile's settings; ``default`` may be absent ({}), any other name
        raises ProfileNotFound, as botocore's ``get_scoped_config``."""
        found = self.profiles.get(name)
        if found is not None:
            return found
        if name == "default":
            return {}
        raise ProfileNotFound(name)

    def get(self, profile: str, key: str) -> str | None:
        """A plain (not nested) value of the profile, or None."""
        value = self.profile(profile).get(key)
        return value if isinstance(value, str) and value != "" else None

    def services_value(self, profile: str, service_key: str, key: str) -> str | None:
        """``key`` of ``service_key`` in the ``[services X]`` section the profile names."""
        name = self.get(profile, "services")
        if name is None:
            return None
        nested = self.services.get(name, {}).get(service_key)
        if isinstance(nested, dict):
            return nested.get(key) or None
        return None


def load_shared_config(environ: Mapping[str, str]) -> SharedConfig:
    """Read both files (blocking: run off the event loop)."""
    config_path = environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    creds_path = environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    raw = raw_parse(config_path)
    profiles: dict[str, Section] = {}
    sso_sessions: dict[str, Section] = {}
    services: dict[str, Section] = {}
    # botocore's build_profile_map: in file order, a later section replaces an earlier one
    # of the same name ("[profile default]" and "[default]" included)
    for key, section in raw.items():
        if key.startswith("profile"):
            target: dict[str, Section] = profiles
        elif key.startswith("sso-session"):
            target = sso_sessions
        elif key.startswith("services"):
            target = services
        elif key == "default":
            profiles["default"] = dict(section)
            continue
        else:
            continue
        name = _sub_section(key)
        if name is not None:
            target[name] = dict(section)
    for name, section in raw_parse(creds_path).items():
        profiles.setdefault(name, {}).update(section)
    return SharedConfig(profiles, sso_sessions, services)
