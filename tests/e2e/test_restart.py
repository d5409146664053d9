"""State survives a restart: stored chat completions and registered models are still there
when a new server starts over the same state (SQLite dir or PostgreSQL database)."""

from __future__ import annotations

import uuid

import openai
from llama_stack_client import LlamaStackClient

from conftest import eventually


def clients(server):
    oa = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)
    ls = LlamaStackClient(base_url=server.url, max_retries=0, timeout=30)
    return oa, ls


def test_restart_keeps_stored_completions_and_models(storage, start_stack):
    state = storage.new_state()
    first = start_stack(state)
    oa, ls = clients(first)
    marker = f"survive {uuid.uuid4().hex[:8]}"
    r = oa.chat.completions.create(model="mock/mock-llm", messages=[{"role": "user", "content": marker}])
    eventually(lambda: oa.chat.completions.retrieve(r.id))
    name = f"kept-{uuid.uuid4().hex[:6]}"
    ls.models.register(model_id=name, provider_id="mock", model_type="llm")
    assert first.stop() == 0, f"graceful shutdown exits 0; log:\n{first.tail()}"

    second = start_stack(state)
    oa, ls = clients(second)
    got = oa.chat.completions.retrieve(r.id)
    assert got.id == r.id
    assert got.choices[0].message.content == r.choices[0].message.content
    assert r.id in [c.id for c in oa.chat.completions.list(limit=100).data]
    assert ls.models.retrieve(f"mock/{name}").provider_id == "mock"
    # Models listed from providers and run.yaml's models are there again too.
    ids = {m.identifier for m in ls.models.list()}
    assert {"mock/mock-llm", "mock/mock-embed", f"mock/{name}"} <= ids


def test_shutdown_flushes_pending_writes(storage, start_stack):
    """Stopping right after a chat (SIGTERM, graceful) must not lose its stored completion:
    the background writer drains its queue before the process exits. The loss is a race, so
    several stop/start rounds over the same state each stop right after their last answer."""
    state = storage.new_state()
    ids: list[str] = []
    for round_ in range(4):
        server = start_stack(state)
        oa, _ = clients(server)
        for i in range(3):
            r = oa.chat.completions.create(model="mock/mock-llm", messages=[{"role": "user", "content": f"last words {round_}.{i}"}])
            ids.append(r.id)
        assert server.stop() == 0, f"graceful shutdown exits 0; log:\n{server.tail()}"

    last = start_stack(state)
    oa, _ = clients(last)
    missing = []
    for n, i in enumerate(ids):
        try:
            oa.chat.completions.retrieve(i)
        except openai.NotFoundError:
            missing.append(f"round {n // 3} #{n % 3}: {i}")
    assert not missing, f"lost on shutdown: {missing} of {len(ids)}"
