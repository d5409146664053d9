"""Batches through the `openai` SDK against the real server and the mock backend: a 1,000-line
chat batch and an embeddings batch complete with parseable output files in OpenAI's line
format; a malformed request is reported in the error file; a /v1/responses batch; cancelling;
a batch survives its server being killed in the middle and resumes without running a request
twice; bad input is refused in OpenAI's shapes."""

from __future__ import annotations

import io
import json
import time
import uuid

import openai
import pytest
from llama_stack_client import LlamaStackClient

LLM = "mock/mock-llm"
EMBED = "mock/mock-embed"


def upload(client: openai.OpenAI, lines: list[dict] | str) -> str:
    text = lines if isinstance(lines, str) else "\n".join(json.dumps(line) for line in lines)
    f = io.BytesIO(text.encode())
    f.name = "input.jsonl"
    return client.files.create(file=f, purpose="batch").id


def chat_line(custom_id: str, text: str, model: str = LLM) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 20},
    }


def wait(client: openai.OpenAI, batch_id: str, timeout: float = 120.0, until=None):
    until = until or (lambda b: b.status in {"completed", "failed", "cancelled", "expired"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if until(batch):
            return batch
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} did not get there in {timeout} s: {client.batches.retrieve(batch_id)}")


def lines_of(client: openai.OpenAI, file_id: str) -> list[dict]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines() if line.strip()]


def batch_llm(server_url: str) -> str:
    """A chat model of the mock (it answers any name) under an id of its own, so the thousand
    completions this batch stores stay out of other tests' listings of mock/mock-llm's."""
    ls = LlamaStackClient(base_url=server_url, max_retries=0, timeout=30)
    if not any(m.identifier == "mock/batch-llm" for m in ls.models.list()):
        ls.models.register(model_id="batch-llm", provider_id="mock", provider_model_id="batch-llm", model_type="llm")
    return "mock/batch-llm"


def test_a_thousand_line_chat_batch_completes_and_reports_the_malformed_line(openai_client, stack):
    model = batch_llm(stack.url)
    lines = [chat_line(f"req-{i}", f"question {i}", model=model) for i in range(1000)]
    lines[500] = {"custom_id": "req-500", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": model, "messages": [{"rolez": "user", "contentz": "malformed"}]}}
    batch = openai_client.batches.create(input_file_id=upload(openai_client, lines), endpoint="/v1/chat/completions",
                                         completion_window="24h", metadata={"run": "e2e"})
    assert batch.status == "validating" and batch.metadata == {"run": "e2e"}
    done = wait(openai_client, batch.id)
    assert done.status == "completed", done
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (1000, 999, 1)
    assert done.completed_at and done.in_progress_at and done.finalizing_at
    assert done.usage is not None and done.usage.total_tokens > 0

    output = lines_of(openai_client, done.output_file_id)
    assert len(output) == 999
    assert [line["custom_id"] for line in output] == [f"req-{i}" for i in range(1000) if i != 500]
    first = output[0]
    assert first["response"]["status_code"] == 200 and first["error"] is None
    assert first["response"]["body"]["object"] == "chat.completion"
    assert first["response"]["body"]["choices"][0]["message"]["content"]
    assert openai_client.files.retrieve(done.output_file_id).purpose == "batch_output"

    errors = lines_of(openai_client, done.error_file_id)
    assert [e["custom_id"] for e in errors] == ["req-500"]
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["message"]
    assert errors[0]["error"]["message"]


def test_an_embeddings_batch_completes(openai_client):
    lines = [
        {"custom_id": "one", "method": "POST", "url": "/v1/embeddings", "body": {"model": EMBED, "input": "hello world"}},
        {"custom_id": "three", "method": "POST", "url": "/v1/embeddings", "body": {"model": EMBED, "input": ["a", "b", "c"]}},
    ]
    batch = openai_client.batches.create(input_file_id=upload(openai_client, lines), endpoint="/v1/embeddings",
                                         completion_window="24h")
    done = wait(openai_client, batch.id)
    assert done.status == "completed", done
    output = lines_of(openai_client, done.output_file_id)
    assert [len(line["response"]["body"]["data"]) for line in output] == [1, 3]
    assert len(output[0]["response"]["body"]["data"][0]["embedding"]) == 384
    assert done.error_file_id is None


def test_a_responses_batch_completes(openai_client):
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/responses",
              "body": {"model": LLM, "input": f"Say hello {i}"}} for i in range(3)]
    batch = openai_client.batches.create(input_file_id=upload(openai_client, lines), endpoint="/v1/responses",
                                         completion_window="24h")
    done = wait(openai_client, batch.id)
    assert done.status == "completed", done
    output = lines_of(openai_client, done.output_file_id)
    assert [line["custom_id"] for line in output] == ["r0", "r1", "r2"]
    body = output[0]["response"]["body"]
    assert body["object"] == "response" and body["status"] == "completed" and body["output"]


def test_invalid_input_fails_the_batch_with_line_errors(openai_client):
    text = "\n".join([json.dumps(chat_line("a", "hi")), "{not json", json.dumps(chat_line("b", "hi", model="mock/no-such-model"))])
    batch = openai_client.batches.create(input_file_id=upload(openai_client, text), endpoint="/v1/chat/completions",
                                         completion_window="24h")
    done = wait(openai_client, batch.id)
    assert done.status == "failed" and done.failed_at
    assert [(e.code, e.line) for e in done.errors.data] == [("invalid_json_line", 2), ("model_not_found", 3)]


def test_bad_requests_are_openai_errors(openai_client):
    file_id = upload(openai_client, [chat_line("a", "hi")])
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.batches.create(input_file_id=file_id, endpoint="/v1/nope", completion_window="24h")
    assert e.value.body["param"] == "endpoint" and e.value.body["code"] == "invalid_value"
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="1h")
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                                     metadata={"tags": ["x"]})  # type: ignore[dict-item]
    assert "metadata.tags" in str(e.value)
    with pytest.raises(openai.NotFoundError):
        openai_client.batches.retrieve("batch_nope")
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.list(limit=1000)
    # The same key and parameters: the same batch; other parameters: 409.
    key = f"key-{uuid.uuid4().hex}"
    a = openai_client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                                     extra_body={"idempotency_key": key})
    b = openai_client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                                     extra_body={"idempotency_key": key})
    assert a.id == b.id
    with pytest.raises(openai.ConflictError):
        openai_client.batches.create(input_file_id=file_id, endpoint="/v1/embeddings", completion_window="24h",
                                     extra_body={"idempotency_key": key})
    assert a.id in [x.id for x in openai_client.batches.list(limit=100).data]


def slow_model(server_url: str) -> str:
    """A model of the mock that answers after 30 ms (its `slow-<ms>` failure injection)."""
    ls = LlamaStackClient(base_url=server_url, max_retries=0, timeout=30)
    name = "slow-30"
    ls.models.register(model_id=name, provider_id="mock", provider_model_id=name, model_type="llm")
    return f"mock/{name}"


def test_cancel_ends_a_running_batch_with_partial_results(openai_client, stack):
    model = slow_model(stack.url)
    lines = [chat_line(f"c{i}", "hi", model=model) for i in range(300)]
    batch = openai_client.batches.create(input_file_id=upload(openai_client, lines), endpoint="/v1/chat/completions",
                                         completion_window="24h")
    wait(openai_client, batch.id, until=lambda b: b.request_counts and b.request_counts.completed >= 20)
    cancelling = openai_client.batches.cancel(batch.id)
    assert cancelling.status in {"cancelling", "cancelled"} and cancelling.cancelling_at
    done = wait(openai_client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    assert 20 <= done.request_counts.completed < 300
    assert len(lines_of(openai_client, done.output_file_id)) == done.request_counts.completed
    assert openai_client.batches.cancel(done.id).status == "cancelled", "cancelling a cancelled batch answers it"


def test_a_killed_server_resumes_its_batch_after_a_restart(storage, start_stack):
    state = storage.new_state()
    first = start_stack(state)
    oa = openai.OpenAI(base_url=f"{first.url}/v1", api_key="unused", max_retries=0, timeout=30)
    model = slow_model(first.url)
    lines = [chat_line(f"k{i}", f"n {i}", model=model) for i in range(400)]
    batch = oa.batches.create(input_file_id=upload(oa, lines), endpoint="/v1/chat/completions", completion_window="24h")
    mid = wait(oa, batch.id, until=lambda b: b.request_counts and b.request_counts.completed >= 60)
    first.process.proc.kill()
    first.process.proc.wait()
    assert mid.status == "in_progress", mid

    second = start_stack(state)
    oa = openai.OpenAI(base_url=f"{second.url}/v1", api_key="unused", max_retries=0, timeout=30)
    resumed = oa.batches.retrieve(batch.id)
    assert resumed.request_counts.completed >= mid.request_counts.completed, "flushed progress survived the kill"
    # The killed server's heartbeat expires (10 s), then the new one takes the batch over.
    done = wait(oa, batch.id, timeout=120)
    assert done.status == "completed", done
    assert done.request_counts.completed == 400
    ids = [line["custom_id"] for line in lines_of(oa, done.output_file_id)]
    assert ids == [f"k{i}" for i in range(400)], "each request once, in input order"
