"""The ``amikit`` command: a thin layer over the library.

Each subcommand lives in its own module under ``amikit/_cli/`` and provides
``add_arguments(parser)``, ``run(args) -> int`` and ``EXAMPLES`` (command lines shown at the
end of its ``--help``). Modules load only when their command runs, so ``amikit --help`` stays
fast; the command's own options are added before anything is parsed, so ``amikit X --help``
lists them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from ._cli import ExitStatus  # with the subcommands, which import it too (no cycle)

__all__ = ["ExitStatus", "main"]


# name -> (module, one-line help). Order is the order of `amikit --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("amikit._cli.demo", "run the built-in simulated PBX and watch it live"),
    "serve": ("amikit._cli.serve", "serve the simulated PBX (or replay a recording) on loopback"),
    "tail": ("amikit._cli.tail", "connect to an AMI server and print events as they arrive"),
    "record": ("amikit._cli.record", "record one or several AMI servers to text logs and Parquet"),
    "convert": ("amikit._cli.convert", "convert a capture or text log to a Parquet dataset"),
    "summary": ("amikit._cli.summary", "summarise an AMI capture: messages, events, calls"),
    "calls": ("amikit._cli.calls", "one line per call of a recording"),
    "timeline": ("amikit._cli.timeline", "the timeline (and ladder) of one call"),
    "stats": ("amikit._cli.stats", "call statistics of a recording"),
}


def _available() -> dict[str, tuple[str, str]]:
    return {
        name: spec
        for name, spec in COMMANDS.items()
        if importlib.util.find_spec(spec[0]) is not None
    }


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, that subcommand's options and examples are added."""
    parser = argparse.ArgumentParser(
        prog="amikit",
        description="See what your Asterisk PBX does (AMI client, recorder, call analysis).",
    )
    parser.add_argument("--traceback", action="store_true", help="show the full traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in _available().items():
        sub_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub_parser.set_defaults(_module=module)
        if name == command:
            loaded = importlib.import_module(module)
            loaded.add_arguments(sub_parser)
            sub_parser.epilog = "examples:\n" + "\n".join(
                f"  {line}" for line in loaded.EXAMPLES.strip().splitlines()
            )
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: the first word that is not a top-level option."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``amikit`` command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The chosen subcommand adds its options before the parse, so `amikit X --help` shows them.
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return ExitStatus.USAGE
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # `amikit calls x.raw | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK
    except Exception as exc:  # one line unless --traceback (httpie's habit)
        if args.traceback:
            raise
        from ._exceptions import AmiError

        label = type(exc).__name__ if isinstance(exc, AmiError) else "error"
        print(f"amikit: {label}: {exc}", file=sys.stderr)
        return ExitStatus.ERROR
