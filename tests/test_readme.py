"""The executable README: every fenced ``python``, ``bash`` and IPython block runs as written.

Each block runs in a child process, in a fresh folder where ``tests/`` is this checkout's (a
newcomer runs the examples from the clone), against an ``amikit serve`` started here. A
block that talks to ``127.0.0.1:5038`` with ``admin``/``amikit`` needs that server on 5038;
when 5038 is taken (another suite, a real Asterisk), the server gets a free port and every
``5038`` of the blocks is rewritten to it, so the test never depends on who else runs.

A block whose first line is ``# fragment: <what it needs>`` is not run. The two set-up
blocks (run the demo; run the tests) are the set-up itself and are checked, not run: the
test command is what ``.ci/run`` runs, and this test is part of it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
AMI_PORT = 5038
SETUP = [
    "python -m pip install -e . && amikit demo",
    'python -m pip install -e ".[test]" && python -m ruff check . && python -m pytest',
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MAGIC = re.compile(r"^(\w+\s*=\s*)?%", re.MULTILINE)

# A python block runs as a script; top-level await (a notebook habit) runs in asyncio.run.
PYTHON_RUNNER = """
import ast, asyncio, sys
source = open(sys.argv[1]).read()
code = compile(source, "README block", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if result is not None:
    asyncio.run(result)
"""
# An IPython block runs as one cell of a plain IPython shell (no history file written).
IPYTHON_RUNNER = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryAccessor.enabled = False
shell = InteractiveShell.instance(config=config)
result = shell.run_cell(open(sys.argv[1]).read())
shell.run_line_magic("unload_ext", "amikit")
sys.exit(0 if result.success else 1)
"""


@dataclass(frozen=True)
class Block:
    kind: str  # "python", "ipython" or "bash"
    line: int
    text: str

    @property
    def fragment(self) -> str | None:
        first = self.text.split("\n", 1)[0].strip()
        return first[len("# fragment:") :].strip() if first.startswith("# fragment:") else None


def readme_blocks() -> list[Block]:
    text = README.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        lang, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if lang == "python" and MAGIC.search(body):
            lang = "ipython"
        if lang in ("python", "ipython", "bash"):
            blocks.append(Block(lang, line, body))
    return blocks


BLOCKS = readme_blocks()
RUNNABLE = [b for b in BLOCKS if b.fragment is None and b.text.strip() not in SETUP]


def test_the_readme_keeps_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    setup = [b.text.strip() for b in BLOCKS if b.text.strip() in SETUP]
    assert setup == SETUP
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert SETUP[1] in ci, ".ci/run must run the README's test command"


def test_every_block_runs_or_says_it_is_a_fragment() -> None:
    kinds = {b.kind for b in RUNNABLE}
    assert kinds == {"python", "ipython", "bash"}, kinds
    for block in BLOCKS:
        if block.fragment is not None:
            assert block.fragment, f"README.md:{block.line}: say what the fragment needs"


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def ami_server() -> Iterator[int]:
    """``amikit serve`` on 127.0.0.1:5038, else on a free port (the blocks are rewritten)."""
    port = AMI_PORT if _port_free(AMI_PORT) else 0
    serve = ["serve", "--port", str(port), "--seconds", "900", "--calls-per-minute", "20"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "amikit", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    served = None
    for line in proc.stdout:
        if line.startswith("port: "):
            served = int(line.split()[1])
        if line.startswith("connect any AMI client"):
            break
    try:
        assert served is not None, "amikit serve did not start"
        yield served
    finally:
        proc.terminate()
        proc.wait(15)
        proc.stdout.close()


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    return tmp_path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMI_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) if not path else f"{ROOT}{os.pathsep}{path}"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["IPYTHONDIR"] = str(tmp_path / ".ipython")
    env["MPLCONFIGDIR"] = str(tmp_path / ".matplotlib")
    return env


@pytest.mark.timeout(240)
@pytest.mark.parametrize("block", RUNNABLE, ids=[f"line{b.line}-{b.kind}" for b in RUNNABLE])
def test_readme_block_runs_as_written(block: Block, ami_server: int, tmp_path: Path) -> None:
    text = (
        block.text if ami_server == AMI_PORT else block.text.replace(str(AMI_PORT), str(ami_server))
    )
    work = _workdir(tmp_path)
    script = tmp_path / f"block{block.line}"
    script.write_text(text)
    if block.kind == "bash":
        command = ["bash", "-euo", "pipefail", str(script)]
    else:
        runner = PYTHON_RUNNER if block.kind == "python" else IPYTHON_RUNNER
        command = [sys.executable, "-c", runner, str(script)]
    result = subprocess.run(
        command, cwd=work, env=_env(tmp_path), capture_output=True, text=True, timeout=200
    )
    assert result.returncode == 0, (
        f"README.md:{block.line} ({block.kind}) failed:\n{result.stdout[-3000:]}"
        f"\n{result.stderr[-3000:]}"
    )
