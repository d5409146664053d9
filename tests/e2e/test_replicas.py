"""Several servers over one state.

With inline::faiss (one PostgreSQL database, or one SQLite directory): faiss keeps its indexes in
the process, so a second server on the same faiss namespace must not run beside the first (it
used to overwrite the first one's log entries: files then searched empty). It refuses to start,
naming the server that holds the namespace, and the first one keeps serving with nothing lost;
once the first stops, a server over that state starts at once.

With everything in PostgreSQL, pgvector and S3 (run-replicas.yaml): two servers are one service.
What one creates, changes or deletes, the other sees at once; a file batch the first was
ingesting when it was killed is finished by the second, each chunk indexed once."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import openai
import pytest

from conftest import E2E_DIR, StackServer

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


# --------------------------------------------------------------------------- two replicas, one service

LLM = "mock/mock-llm"
BATCH_FILES = 50


def _replica(storage, state, mock_backend, workdir, name: str, s3: dict[str, str]) -> StackServer:
    log = workdir / f"replica-{name}-{uuid.uuid4().hex[:6]}.log"
    return StackServer(storage, state, mock_backend.url, log, run_yaml=E2E_DIR / "run-replicas.yaml", env=s3).start()


def _document(i: int) -> bytes:
    """A document of a few chunks, each naming its file (so a search can tell them apart)."""
    facts = " ".join(f"Document {i} records fact number {j} about basalt column {i * 1000 + j}." for j in range(120))
    return f"{facts} Its catalogue mark is quartzmark{i}.".encode()


def _pgvector_chunks_by_document(storage, state: dict[str, str], store_id: str) -> dict[str, int]:
    """How many rows the store's pgvector table holds per file (document_id), read from PostgreSQL."""
    import psycopg2

    conn = psycopg2.connect(host=state["POSTGRES_HOST"], port=state["POSTGRES_PORT"], dbname=state["POSTGRES_DB"], user=state["POSTGRES_USER"], password=state["POSTGRES_PASSWORD"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT key FROM lls_pgvector_stores WHERE id = %s", (store_id,))
            (key,) = cur.fetchone()
            cur.execute(f"SELECT (chunk::jsonb)->'metadata'->>'document_id', count(*) FROM lls_pgv_{int(key)} GROUP BY 1")
            return {doc: n for doc, n in cur.fetchall()}
    finally:
        conn.close()


def test_two_replicas_on_one_postgres_act_as_one_service(storage, mock_backend, workdir, s3_endpoint):
    if storage.name != "postgres":
        pytest.skip("replicas share one PostgreSQL (with pgvector): the postgres flavour runs this")
    state = storage.new_state()
    s3 = {
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET_NAME": f"lls-replicas-{uuid.uuid4().hex[:12]}",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing",
    }
    a = _replica(storage, state, mock_backend, workdir, "a", s3)
    b = _replica(storage, state, mock_backend, workdir, "b", s3)
    try:
        oa = openai.OpenAI(base_url=f"{a.url}/v1", api_key="unused", max_retries=0, timeout=60)
        ob = openai.OpenAI(base_url=f"{b.url}/v1", api_key="unused", max_retries=0, timeout=60)

        # The registry: a model registered through A is served by B, and gone from A once B removes it.
        name = f"replica-model-{uuid.uuid4().hex[:6]}"
        r = httpx.post(f"{a.url}/v1/models", json={"model_id": name, "provider_id": "mock", "model_type": "llm"}, timeout=30)
        assert r.status_code == 200, r.text
        ident = r.json()["identifier"]
        assert httpx.get(f"{b.url}/v1/models/{ident}", timeout=30).status_code == 200
        assert ob.chat.completions.create(model=ident, messages=[{"role": "user", "content": "hi"}]).choices
        assert httpx.delete(f"{b.url}/v1/models/{ident}", timeout=30).status_code in (200, 204)
        assert httpx.get(f"{a.url}/v1/models/{ident}", timeout=30).status_code == 404
        # A tool group registered through B is listed (with its tools) by A.
        group = f"replica::{uuid.uuid4().hex[:6]}"
        r = httpx.post(f"{b.url}/v1/toolgroups", json={"toolgroup_id": group, "provider_id": "rag-runtime"}, timeout=30)
        assert r.status_code == 200, r.text
        assert group in [g["identifier"] for g in httpx.get(f"{a.url}/v1/toolgroups", timeout=30).json()["data"]]

        # Vector stores and files: created on A, searched, changed and deleted through B.
        store = oa.vector_stores.create(name="replicas", extra_body={"embedding_model": EMBEDDING_MODEL, "provider_id": "pgvector"})
        lava = oa.files.create(file=("lava.txt", b"Lava is molten rock from the mantle.", "text/plain"), purpose="assistants")
        assert oa.vector_stores.files.create(vector_store_id=store.id, file_id=lava.id).status == "completed"
        assert ob.vector_stores.retrieve(store.id).file_counts.completed == 1
        assert [h.file_id for h in ob.vector_stores.search(vector_store_id=store.id, query="molten rock").data] == [lava.id]
        assert ob.files.content(lava.id).read() == b"Lava is molten rock from the mantle."
        ob.vector_stores.update(store.id, name="renamed")
        assert oa.vector_stores.retrieve(store.id).name == "renamed"
        assert ob.vector_stores.files.delete(file_id=lava.id, vector_store_id=store.id).deleted
        assert [f.id for f in oa.vector_stores.files.list(vector_store_id=store.id).data] == []
        assert oa.vector_stores.search(vector_store_id=store.id, query="molten rock").data == []

        # Conversations and responses: written through A, read through B.
        conv = oa.conversations.create(items=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello from A"}]}])
        assert [i.content[0].text for i in ob.conversations.items.list(conv.id).data] == ["Hello from A"]
        resp = oa.responses.create(model=LLM, input="What is the capital of France?")
        assert ob.responses.retrieve(resp.id).output_text == resp.output_text
        ob.responses.delete(resp.id)
        with pytest.raises(openai.BadRequestError, match="not found"):  # 0.3.5 answers 400
            oa.responses.retrieve(resp.id)

        # A file batch on A; A is killed (SIGKILL) in the middle; B finishes it, each chunk once.
        ids = [oa.files.create(file=(f"doc-{i}.txt", _document(i), "text/plain"), purpose="assistants").id for i in range(BATCH_FILES)]
        batch = oa.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
        deadline = time.monotonic() + 120
        while oa.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id).file_counts.completed < 3:
            assert time.monotonic() < deadline, "the batch did not start on A"
            time.sleep(0.05)
        a.process.proc.kill()
        a.process.proc.wait()
        mid = ob.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
        assert mid.file_counts.completed < BATCH_FILES, "A finished the batch before it was killed: nothing to take over"
        deadline = time.monotonic() + 180
        while (done := ob.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)).status == "in_progress":
            assert time.monotonic() < deadline, f"B did not finish the batch A left: {done.file_counts}"
            time.sleep(0.5)
        assert (done.status, done.file_counts.completed, done.file_counts.failed) == ("completed", BATCH_FILES, 0), done
        assert "taking over the ingestion" in b.process.output(), b.tail()
        indexed = _pgvector_chunks_by_document(storage, state, store.id)
        for file_id in ids:
            r = httpx.get(f"{b.url}/v1/vector_stores/{store.id}/files/{file_id}/content", timeout=30)
            assert r.status_code == 200, r.text
            chunks = r.json()["content"]
            assert len(chunks) > 1 and indexed.get(file_id) == len(chunks), (file_id, len(chunks), indexed.get(file_id))
        assert set(indexed) == set(ids)
        hits = ob.vector_stores.search(vector_store_id=store.id, query="quartzmark49", max_num_results=3, extra_body={"search_mode": "keyword"})
        assert hits.data and hits.data[0].file_id == ids[49]
    finally:
        a.stop()
        b.stop()
