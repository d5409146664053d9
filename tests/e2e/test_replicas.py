"""Two servers over one state (one PostgreSQL database, or one SQLite directory): inline::faiss
keeps its indexes in the process, so a second server on the same faiss namespace must not run
beside the first (it used to overwrite the first one's log entries: files then searched empty).
It refuses to start, naming the server that holds the namespace, and the first one keeps serving
with nothing lost; once the first stops, a server over that state starts at once."""

from __future__ import annotations

import time
import uuid

import httpx
import openai
import pytest

from conftest import StackServer

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def test_a_second_server_on_the_same_faiss_state_refuses_then_takes_over(storage, start_stack, mock_backend, workdir):
    state = storage.new_state()
    first = start_stack(state)
    oa = openai.OpenAI(base_url=f"{first.url}/v1", api_key="unused", max_retries=0, timeout=30)
    store = oa.vector_stores.create(
        name=f"replicas-{uuid.uuid4().hex[:6]}",
        extra_body={"embedding_model": EMBEDDING_MODEL, "provider_id": "faiss"},
    )
    f = oa.files.create(file=("lava.txt", b"Lava is molten rock from the mantle.", "text/plain"), purpose="assistants")
    assert oa.vector_stores.files.create(vector_store_id=store.id, file_id=f.id).status == "completed"

    second = StackServer(storage, state, mock_backend.url, workdir / f"second-{uuid.uuid4().hex[:6]}.log")
    with pytest.raises(RuntimeError) as refused:
        second.start(attempts=1)
    assert "another server" in str(refused.value) and "inline::faiss" in str(refused.value), refused.value
    assert httpx.get(f"{first.url}/v1/health", timeout=5).status_code == 200
    hits = oa.vector_stores.search(vector_store_id=store.id, query="molten rock")
    assert [h.file_id for h in hits.data] == [f.id]

    assert first.stop() == 0, f"graceful shutdown exits 0; log:\n{first.tail()}"
    started = time.monotonic()
    third = start_stack(state)
    # The first server removed its heartbeat on the way out: no waiting for it to expire.
    assert time.monotonic() - started < 8, "the next server waited for a heartbeat the first should have removed"
    oa = openai.OpenAI(base_url=f"{third.url}/v1", api_key="unused", max_retries=0, timeout=30)
    hits = oa.vector_stores.search(vector_store_id=store.id, query="molten rock")
    assert [h.file_id for h in hits.data] == [f.id]
