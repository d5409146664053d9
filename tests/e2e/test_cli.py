"""The `llama-stack` command line as a newcomer meets it: `--version`, `list-providers`,
`validate` (every problem and warning in one pass), `run starter` on the embedded run.yaml (the
warnings of providers that cannot serve, the unknown-model help on a server with no chat model,
`--log-format json`), and `ingest DIR --vector-store NAME` against a running server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from conftest import CLIENT_TIMEOUT_S, Process, binary, eventually, start_with_retry

STARTER_RUN_YAML = Path(__file__).resolve().parents[2] / "distributions/starter/run.yaml"
# Variables that switch starter providers on (run.yaml's `${env.X:+id}`), kept out of the
# servers this module starts so that they see the bare starter.
SWITCHES = sorted(set(re.findall(r"\$\{env\.([A-Z0-9_]+):\+", STARTER_RUN_YAML.read_text())))


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary("llama-stack")), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else dict(os.environ),
        stdin=subprocess.DEVNULL,
    )


def bare_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a newcomer's first run: no provider switched on, no model weights
    (empty model folders), state in a fresh folder."""
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and not k.startswith("HF_")}
    for name in ("models", "hf"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update({
        "SQLITE_STORE_DIR": str(tmp_path / "state"),
        "FILES_STORAGE_DIR": str(tmp_path / "state/files"),
        "LLS_MODELS_DIR": str(tmp_path / "models"),
        "HF_HOME": str(tmp_path / "hf"),
        "RUST_LOG": "info",
        "LLAMA_STACK_LOG": "info",
    })
    return env


# --------------------------------------------------------------------------- no server


def test_version_names_the_api_version_and_the_build():
    r = cli("--version")
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"llama-stack (\d+\.\d+\.\d+) \(llama-stack-rs (\d+\.\d+\.\d+)(, commit [0-9a-f]{7,40})?\)\n", r.stdout)
    assert m, r.stdout
    assert m.group(1) == "0.3.5"


def test_list_providers_of_an_unknown_api_is_an_error():
    r = cli("list-providers", "nonsense")
    assert r.returncode != 0
    assert "unknown API 'nonsense'" in r.stderr and "inference" in r.stderr and "vector_io" in r.stderr, r.stderr
    ok = cli("list-providers", "inference")
    assert ok.returncode == 0, ok.stderr
    rows = ok.stdout.splitlines()[1:]
    assert rows and all(row.startswith("inference ") for row in rows), ok.stdout
    assert any("remote::vllm" in row for row in rows)


def test_validate_takes_the_distribution_name():
    r = cli("validate", "starter", env=bare_env_dirless())
    assert r.returncode == 0, r.stderr
    assert "the embedded starter run.yaml: OK" in r.stdout, r.stdout
    unknown = cli("validate", "no-such-distribution")
    assert unknown.returncode != 0
    assert "'no-such-distribution'" in unknown.stderr and "'starter'" in unknown.stderr, unknown.stderr


def bare_env_dirless() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SWITCHES}


def test_validate_reports_every_problem_and_the_warnings_at_once(tmp_path):
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text(
        "version: 2\n"
        "image_name: broken\n"
        "apis: [inference, nonsense]\n"
        "metadata_store: {type: sqlite}\n"  # 0.2.x's key: a warning
        "providers:\n"
        "  inference:\n"
        "  - {provider_id: vllm, provider_type: remote::vllm, config: {url: 'http://h/v1', no_such_key: 1}}\n"
        "  - {provider_id: other, provider_type: remote::nothing}\n"
        "storage:\n"
        "  backends: {kv: {type: kv_sqlite, db_path: " + str(tmp_path / "kv.db") + "}}\n"
        "  stores: {metadata: {backend: kv, namespace: registry}}\n"
        "server:\n"
        "  cors: {allow_origins: ['*'], allow_credentials: true}\n"
    )
    r = cli("validate", str(run_yaml))
    assert r.returncode != 0
    err = r.stderr
    assert "warning:" in err and "metadata_store" in err, err
    assert "apis[1]" in err and "nonsense" in err, err  # validation
    assert "providers.inference[0]" in err and "no_such_key" in err, err  # a provider's config
    assert "providers.inference[1].provider_type" in err and "remote::nothing" in err, err
    assert "server.cors" in err, err
    assert re.search(r"(\d+) problems:", err), err

    # `run` logs the same warning (and refuses the same problems) before it binds anything.
    ran = cli("run", str(run_yaml), "--port", "1")
    assert ran.returncode != 0
    assert "metadata_store" in ran.stderr and "WARN" in ran.stderr, ran.stderr
    assert "no_such_key" in ran.stderr, ran.stderr


# --------------------------------------------------------------------------- the starter, bare


@pytest.fixture(scope="module")
def bare_starter(tmp_path_factory):
    """`llama-stack run starter` on a newcomer's machine: no switches, no weights, JSON logs."""
    tmp = tmp_path_factory.mktemp("bare-starter")
    env = bare_env(tmp)

    def make(port: int) -> Process:
        argv = [str(binary("llama-stack")), "run", "starter", "--port", str(port), "--host", "127.0.0.1", "--log-format", "json"]
        return Process("llama-stack", argv, env, tmp / "server.log")

    process, port = start_with_retry(make, "/v1/health")
    yield process, f"http://127.0.0.1:{port}"
    process.stop()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_run_takes_the_distribution_name_and_logs_json(bare_starter):
    process, url = bare_starter
    version = httpx.get(f"{url}/v1/version", timeout=10).json()["version"]
    assert cli("--version").stdout.split()[1] == version
    lines = json_lines(process.output())
    assert lines, process.output()
    assert all({"timestamp", "level"} <= set(line) for line in lines), lines[:3]
    others = [line for line in process.output().splitlines() if line.strip() and not line.startswith(("{", "====="))]
    assert not others, others


def test_startup_warns_about_providers_that_cannot_serve(bare_starter):
    process, _ = bare_starter

    def warned() -> dict[str, str]:
        found = {
            line.get("provider_id"): line.get("message", "")
            for line in json_lines(process.output())
            if line.get("level") == "WARN" and "cannot serve" in line.get("message", "")
        }
        assert {"sentence-transformers", "llama-cpp"} <= set(found), found
        return found

    found = eventually(warned, timeout=15)
    assert "scripts/models.sh" in found["sentence-transformers"], found
    assert "scripts/models.sh" in found["llama-cpp"], found


def test_unknown_model_on_a_server_without_chat_says_how_to_add_one(bare_starter):
    _, url = bare_starter
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", timeout=CLIENT_TIMEOUT_S, max_retries=0)
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    message = str(e.value)
    assert "no chat (llm) model" in message, message
    assert "VLLM_URL" in message and "OPENAI_API_KEY" in message, message
    assert "scripts/models.sh" in message, message  # the embedded llama.cpp model's install command


# --------------------------------------------------------------------------- ingest


def test_ingest_uploads_and_indexes_a_folder(stack, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "volcanoes.txt").write_text("Volcanoes erupt lava and ash where magma reaches the surface.")
    (folder / "baking.md").write_text("# Bread\n\nMix flour, water and starter; bake in a hot oven.")
    (folder / "sub" / "football.html").write_text("<p>The goalkeeper saved the penalty kick.</p>")
    (folder / ".hidden").write_text("not uploaded")
    (folder / "empty.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    name = f"ingest-{uuid.uuid4().hex[:8]}"
    args = ["ingest", str(folder), "--vector-store", name, "--url", stack.url, "--embedding-model", "mock/mock-embed"]
    r = cli(*args, timeout=120)
    # The broken PDF fails alone: the run says so and exits non-zero, the others are indexed.
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 of 4 files were not ingested" in r.stderr, r.stderr
    assert f"vector store '{name}'" in r.stdout, r.stdout
    assert re.search(r"4 found, 4 uploaded \(\d+ bytes\), 3 indexed, 1 failed", r.stdout), r.stdout
    assert "failed:   empty.pdf:" in r.stdout, r.stdout
    chunks = re.search(r"chunks:   (\d+)", r.stdout)
    assert chunks and int(chunks.group(1)) >= 3, r.stdout  # at least one for each file indexed

    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="none", timeout=CLIENT_TIMEOUT_S)
    stores = [s for s in client.vector_stores.list(limit=100) if s.name == name]
    assert len(stores) == 1
    assert stores[0].file_counts.completed == 3 and stores[0].file_counts.failed == 1
    hits = client.vector_stores.search(vector_store_id=stores[0].id, query="goalkeeper penalty")
    assert hits.data and any("goalkeeper" in c.text for h in hits.data for c in h.content)

    # The server logged the batch's start and end with its ids and counts.
    def logged() -> str:
        log = stack.process.output()
        assert re.search(rf"vector store file batch ended .*vector_store={stores[0].id} files=4 completed=3 failed=1", log), log[-3000:]
        return log

    log = eventually(logged, timeout=10)
    assert re.search(rf"vector store file batch started .*vector_store={stores[0].id} files=4", log), log[-3000:]

    # Again into the same store: found by name, not created twice.
    (folder / "empty.pdf").unlink()
    again = cli(*args, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"({stores[0].id})" in again.stdout, again.stdout
    assert "3 found, 3 uploaded" in again.stdout and "0 failed" in again.stdout, again.stdout
    assert len([s for s in client.vector_stores.list(limit=100) if s.name == name]) == 1


def test_ingest_against_no_server_says_so(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    r = cli("ingest", str(tmp_path), "--vector-store", "x", "--url", "http://127.0.0.1:9")
    assert r.returncode != 0
    assert "cannot reach the server at http://127.0.0.1:9" in r.stderr, r.stderr


def test_batches_log_their_start_and_end(stack):
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="none", timeout=CLIENT_TIMEOUT_S)
    lines = [
        json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "mock/mock-llm", "messages": [{"role": "user", "content": f"hello {i}"}]}})
        for i in range(3)
    ]
    f = client.files.create(file=("requests.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch")
    batch = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")

    def ended() -> str:
        assert client.batches.retrieve(batch.id).status == "completed"
        log = stack.process.output()
        assert re.search(rf"batch ended batch={batch.id} status=Completed completed=3 failed=0 total=3", log), log[-3000:]
        return log

    log = eventually(ended, timeout=30)
    assert re.search(rf"batch started batch={batch.id} endpoint=/v1/chat/completions requests=3", log), log[-3000:]


def test_ingest_sends_the_api_key(start_auth_stack, issuer, tmp_path):
    server = start_auth_stack(issuer)
    (tmp_path / "a.txt").write_text("The owl hunts at night.")
    name = f"ingest-auth-{uuid.uuid4().hex[:8]}"
    args = ["ingest", str(tmp_path), "--vector-store", name, "--url", server.url, "--embedding-model", "mock/mock-embed"]
    env = {k: v for k, v in os.environ.items() if k != "LLAMA_STACK_CLIENT_API_KEY"}
    refused = cli(*args, env=env)
    assert refused.returncode != 0
    assert "401" in refused.stderr, refused.stderr
    token = issuer.mint(sub="ingester")
    by_flag = cli(*args, "--api-key", token, env=env, timeout=120)
    assert by_flag.returncode == 0, by_flag.stdout + by_flag.stderr
    by_env = cli(*args, env={**env, "LLAMA_STACK_CLIENT_API_KEY": token}, timeout=120)
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    assert "1 found, 1 uploaded" in by_env.stdout, by_env.stdout
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, timeout=CLIENT_TIMEOUT_S)
    stores = [s for s in client.vector_stores.list(limit=100) if s.name == name]
    assert len(stores) == 1 and stores[0].file_counts.completed == 2, stores
