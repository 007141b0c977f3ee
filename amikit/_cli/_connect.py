"""What every command that logs in to an AMI server shares: the address and the credentials.

The secret comes from ``AMI_SECRET`` or a :func:`getpass.getpass` prompt, never from an
option: command lines are visible to every user of the machine (``ps``) and stay in shell
history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

__all__ = ["DEFAULT_PORT", "credentials", "interactive", "split_server"]

#: Asterisk's default AMI port (manager.conf ``port``).
DEFAULT_PORT = 5038


def split_server(text: str) -> tuple[str, int]:
    """``"pbx:5039"`` -> ``("pbx", 5039)``; ``"[::1]:5038"`` and a bare host work too.

    Raises
    ------
    ValueError
        The port is not a number from 1 to 65535.
    """
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, int(port)


def interactive() -> bool:
    """True when a person can answer prompts (standard input is a terminal)."""
    return sys.stdin.isatty()


def credentials(
    args: argparse.Namespace, command: str, *, ask: bool = False, last_user: str | None = None
) -> tuple[str, str] | None:
    """``(username, secret)`` from ``--user``/``AMI_USERNAME`` and ``AMI_SECRET``, else asked.

    With ``ask=True`` (after a refused login) both are asked again, the username offering
    the last one as default. Returns None, after saying why on stderr, when something is
    missing and nobody is at a terminal to answer.
    """
    user = None if ask else (args.user or os.environ.get("AMI_USERNAME"))
    secret = None if ask else os.environ.get("AMI_SECRET")
    if (user is None or secret is None) and not interactive():
        print(
            f"amikit {command}: set AMI_USERNAME and AMI_SECRET, or run it on a terminal",
            file=sys.stderr,
        )
        return None
    if user is None:
        default = last_user or args.user or os.environ.get("AMI_USERNAME") or ""
        prompt = f"Username [{default}]: " if default else "Username: "
        user = input(prompt).strip() or default
    if secret is None:
        secret = getpass.getpass("Secret: ")
    return user, secret
