"""Every shell command of the README, run as a newcomer would run it, on a fresh state.

Each ```bash (or sh/shell) block of README.md is one test; its commands run in order, one
`bash -c` each, in one scratch folder shared by the whole README (a `run.yaml` written by one
block is there for the next), with a fresh `HOME` (so `~/.llama` state is new), the binaries
under test first on `PATH`, no provider switched on by the environment, and a `docs/` folder
holding two small files. A command must exit 0 within a minute.

- `llama-stack run ...` serves until stopped: it is started in the background on a free port
  (its `8321` replaced, or `LLAMA_STACK_PORT` when it names none), must answer `/v1/health`,
  then is stopped with SIGTERM and must exit 0 before the next command runs.
- Other commands that talk to a server (`curl localhost:8321/...`, `llama-stack ingest`) reach
  one the test keeps running for the whole README: the starter's embedded run.yaml, with its
  own fresh state; `8321` in them is replaced by its port, and `LLAMA_STACK_CLIENT_BASE_URL`
  points at it.
- A block preceded by `<!-- readme-test: skip (why) -->` is not run; the reason is required and
  shown. Keep these few: installing system packages, building a release, running the whole suite.

The README's list of 0.3.5 providers not available yet is checked against `list-providers`.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import Process, binary, bin_dir, free_port, start_with_retry

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SHELL_LANGS = {"bash", "sh", "shell"}
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->")
COMMAND_TIMEOUT_S = 60
STARTER_SWITCHES = sorted(set(re.findall(r"\$\{env\.([A-Z0-9_]+):\+", (REPO / "distributions/starter/run.yaml").read_text())))


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    commands: list[str]
    skip: str | None


def shell_blocks(text: str) -> list[Block]:
    """The README's shell blocks, their commands (continuation lines joined, comment lines
    dropped) and their skip annotation."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        if lang in SHELL_LANGS:
            before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
            skip = SKIP.search(before)
            commands: list[str] = []
            pending = ""
            for raw in lines[start + 1 : end]:
                if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
                    continue
                if raw.rstrip().endswith("\\"):
                    pending += raw.rstrip()[:-1] + " "
                    continue
                commands.append(pending + raw)
                pending = ""
            blocks.append(Block(start + 1, commands, skip.group("why").strip() if skip else None))
        i = end + 1
    return blocks


BLOCKS = shell_blocks(README.read_text())


def test_the_readme_has_shell_blocks_and_few_skips():
    assert len(BLOCKS) >= 3, BLOCKS
    skipped = [(b.line, b.skip) for b in BLOCKS if b.skip is not None]
    assert len(skipped) <= 5, f"keep the README's unrun blocks few: {skipped}"
    assert all(b.commands for b in BLOCKS), [b.line for b in BLOCKS if not b.commands]


def test_the_block_parser():
    text = (
        "x\n<!-- readme-test: skip (slow) -->\n```bash\nbash a.sh\n```\n"
        "```python\nprint(1)\n```\n\n```sh\n# comment\nfoo --a \\\n  --b   # why\n\nbar\n```\n"
    )
    blocks = shell_blocks(text)
    assert [b.skip for b in blocks] == ["slow", None]
    assert blocks[1].commands == ["foo --a    --b   # why", "bar"]


# --------------------------------------------------------------------------- the environment


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("readme")
    (root / "home").mkdir()
    (root / "cwd" / "docs").mkdir(parents=True)
    (root / "cwd" / "docs" / "zebra.txt").write_text("The launch code of Project Zebra is 4417.\n")
    (root / "cwd" / "docs" / "notes.md").write_text("# Notes\n\nThe meeting moved to Thursday.\n")
    return root


def newcomer_env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in STARTER_SWITCHES}
    for k in ("SQLITE_STORE_DIR", "FILES_STORAGE_DIR", "LLAMA_STACK_PORT", "LLAMA_STACK_CONFIG"):
        env.pop(k, None)
    # Model weights stay where the machine has them (the in-process embedding model indexes
    # `ingest`'s files); everything else under `~` is new.
    env.setdefault("LLS_MODELS_DIR", str(Path.home() / ".cache/llama-stack-rs/models"))
    env["HOME"] = str(scratch / "home")
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(scope="module")
def shared_server(scratch):
    """The server the README's client commands talk to: the embedded starter, fresh state."""
    env = newcomer_env(scratch)
    env["SQLITE_STORE_DIR"] = str(scratch / "shared-state")
    env["FILES_STORAGE_DIR"] = str(scratch / "shared-state/files")

    def make(port: int) -> Process:
        argv = [str(binary("llama-stack")), "run", "starter", "--port", str(port), "--host", "127.0.0.1"]
        return Process("llama-stack", argv, env, scratch / "shared-server.log")

    process, port = start_with_retry(make, "/v1/health")
    yield port
    process.stop()


def is_server(command: str) -> bool:
    words = shlex.split(command, comments=True)
    return len(words) >= 2 and Path(words[0]).name == "llama-stack" and words[1] == "run"


def run_server(command: str, env: dict[str, str], cwd: Path, log: Path) -> None:
    port = free_port()
    env = dict(env)
    if "8321" in command:
        command = command.replace("8321", str(port))
    else:
        env["LLAMA_STACK_PORT"] = str(port)
    with open(log, "ab") as out:
        out.write(f"\n===== {command}\n".encode())
        out.flush()
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"`{command}` exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"`{command}` not healthy after {COMMAND_TIMEOUT_S}s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, f"`{command}` did not stop cleanly ({proc.returncode}):\n{log.read_text()[-3000:]}"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.line}" for b in BLOCKS])
def test_readme_block(block: Block, scratch, shared_server):
    if block.skip:
        pytest.skip(f"README.md:{block.line}: {block.skip}")
    env = newcomer_env(scratch)
    env["LLAMA_STACK_CLIENT_BASE_URL"] = f"http://127.0.0.1:{shared_server}"
    cwd = scratch / "cwd"
    for command in block.commands:
        if is_server(command):
            run_server(command, env, cwd, scratch / f"block-{block.line}.log")
            continue
        shown = command.replace("8321", str(shared_server))
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", shown], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"README.md:{block.line}: `{command}` exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"


# --------------------------------------------------------------------------- providers


def test_unavailable_providers_are_not_in_the_binary():
    text = README.read_text()
    section = text.split("### Providers of 0.3.5 not available yet", 1)[1].split("\n#", 1)[0]
    listed = subprocess.run([str(binary("llama-stack")), "list-providers"], capture_output=True, text=True, check=True).stdout
    have = {tuple(row.split()[:2]) for row in listed.splitlines()[1:]}
    claimed = 0
    for item in re.findall(r"^- (\w+): (.*?)(?=^- |\Z)", section, re.S | re.M):
        api, rest = item
        for provider in re.findall(r"`((?:inline|remote)::[\w:.-]+)`", rest):
            assert (api, provider) not in have, f"README says {api} {provider} is not available, but list-providers has it"
            claimed += 1
    assert claimed >= 20, section
