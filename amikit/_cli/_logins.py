"""The login of each PBX ``amikit record`` records: environment, config file, or asked.

Never the command line: it is visible to every user of the machine (``ps``) and stays in
shell history. For each ``HOST:PORT``, each of the username and the secret is the first of

1. ``AMI_USERNAME_<HOST>_<PORT>`` / ``AMI_SECRET_<HOST>_<PORT>``, then ``…_<HOST>``
   (the host upper-cased, every character but letters and digits as ``_``: ``pbx-a:5038``
   reads ``AMI_SECRET_PBX_A_5038``, then ``AMI_SECRET_PBX_A``);
2. the host's section of the ``--config`` file (``[pbx-a:5038]`` or ``[pbx-a]``; keys
   ``username``, ``secret``, ``auth``, ``tls``; a ``[DEFAULT]`` section applies to every
   host);
3. ``--user`` / ``AMI_USERNAME`` and ``AMI_SECRET``, shared by every host;
4. asked on the terminal (the secret without echo), else an error naming the host.

A host's ``auth`` and ``tls`` in the config file override ``--auth`` / ``--tls`` for it.
The config file holds secrets, so, as ssh does with a private key, it is refused when its
group or others may read or write it.

Secrets are never printed: a :class:`Login`'s repr leaves the secret out, and errors about
the config file name the file, the line and the key, never a value.
"""

from __future__ import annotations

import argparse
import configparser
import getpass
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import UsageError
from ._connect import interactive

__all__ = ["Login", "Target", "env_name", "login_for", "read_config"]

_KEYS = ("username", "secret", "auth", "tls")
_TLS = {"yes": True, "true": True, "on": True, "no": None, "false": None, "off": None,
        "no-verify": "no-verify"}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One ``HOST[:PORT]`` of the command line."""

    host: str
    port: int

    @property
    def server(self) -> str:
        """``host:port``, as the client names it (and every row of its recording)."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Login:
    """How to log in to one PBX. The secret stays out of the repr (and so of tracebacks)."""

    username: str
    secret: str = field(repr=False)
    auth: str = "md5"
    tls: bool | str | None = None


def env_name(variable: str, *parts: object) -> str:
    """``env_name("AMI_SECRET", "pbx-a", 5038)`` -> ``"AMI_SECRET_PBX_A_5038"``."""
    suffix = "_".join(str(p) for p in parts)
    return f"{variable}_{re.sub(r'[^A-Za-z0-9]', '_', suffix).upper()}"


def read_config(path: str | Path) -> configparser.ConfigParser:
    """The parsed config file; refused if others may read it, or if it is malformed.

    Raises
    ------
    UsageError
        Missing, readable or writable by group or others, not INI, or an unknown key or
        value. The message names the file, line and key, never a value (it may be a secret).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UsageError(f"config file {path}: {exc.strerror}") from None
    if os.name != "nt" and stat.S_IMODE(mode) & 0o077:
        raise UsageError(
            f"config file {path} is open to other users (mode {stat.S_IMODE(mode):04o}) and "
            f"holds secrets: refused; make it yours only with: chmod 600 {path}"
        )
    # No interpolation: a secret may hold "%" and must come back exactly as written.
    parser = configparser.ConfigParser(interpolation=None)
    try:
        text = path.read_text(encoding="utf-8")
        parser.read_string(text, source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path}: cannot read it ({type(exc).__name__})") from None
    except configparser.Error as exc:
        # configparser quotes the offending line, which may hold a secret: only its number
        raise UsageError(f"config file {path}: {_where(exc)} is not INI") from None
    for name in ["DEFAULT", *parser.sections()]:
        section = parser[name]
        keys = section.keys() if name != "DEFAULT" else parser.defaults().keys()
        for key in keys:
            if key not in _KEYS:
                raise UsageError(
                    f"config file {path}: [{name}] has an unknown key {key!r} "
                    f"(known: {', '.join(_KEYS)})"
                )
        auth = section.get("auth")
        if auth is not None and auth not in ("md5", "plain"):
            raise UsageError(f"config file {path}: [{name}] auth must be md5 or plain")
        tls = section.get("tls")
        if tls is not None and tls.lower() not in _TLS:
            raise UsageError(f"config file {path}: [{name}] tls must be yes, no or no-verify")
    return parser


def _where(exc: configparser.Error) -> str:
    lineno = getattr(exc, "lineno", None)
    errors = getattr(exc, "errors", None)
    if lineno is None and errors:
        lineno = errors[0][0]
    return f"line {lineno}" if lineno is not None else "it"


def _section(config: configparser.ConfigParser | None, target: Target) -> dict[str, str]:
    """The host's keys (its own section over ``[DEFAULT]``); host names match in any case."""
    if config is None:
        return {}
    by_name = {name.lower(): name for name in config.sections()}
    for name in (target.server, target.host):
        if name.lower() in by_name:
            return dict(config[by_name[name.lower()]])
    return dict(config.defaults())


def login_for(
    target: Target,
    args: argparse.Namespace,
    config: configparser.ConfigParser | None,
    *,
    several: bool,
) -> Login | None:
    """The login of ``target`` (see the module docstring for the order), or None after
    saying on stderr what is missing, for which host, when nobody can be asked."""
    env = os.environ
    section = _section(config, target)

    def lookup(variable: str, key: str) -> str | None:
        for parts in ((target.host, target.port), (target.host,)):
            value = env.get(env_name(variable, *parts))
            if value is not None:
                return value
        return section.get(key)

    username = lookup("AMI_USERNAME", "username") or args.user or env.get("AMI_USERNAME")
    secret = lookup("AMI_SECRET", "secret")
    if secret is None:
        secret = env.get("AMI_SECRET")
    if (username is None or secret is None) and not interactive():
        print(_missing(target, username is None, several), file=sys.stderr)
        return None
    label = f" for {target.server}" if several else ""
    if username is None:
        username = input(f"Username{label}: ").strip()
    if secret is None:
        secret = getpass.getpass(f"Secret{label}: ")
    tls: Any = args_tls(args)
    if "tls" in section:
        tls = _TLS[section["tls"].lower()]
    return Login(username, secret, section.get("auth", args.auth), tls)


def args_tls(args: argparse.Namespace) -> bool | str | None:
    """The command line's ``--tls`` / ``--tls-no-verify`` as ``AMIClient(tls=...)``."""
    return True if args.tls else "no-verify" if args.tls_no_verify else None


def _missing(target: Target, username: bool, several: bool) -> str:
    if not several:
        return "amikit record: set AMI_USERNAME and AMI_SECRET, or run it on a terminal"
    what = "AMI_USERNAME" if username else "AMI_SECRET"
    names = [env_name(what, target.host, target.port), env_name(what, target.host), what]
    return (
        f"amikit record: no {'username' if username else 'secret'} for {target.server}: "
        f"set {' or '.join(names)}, give it in a --config file, or run it on a terminal"
    )
