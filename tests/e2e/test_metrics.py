"""`GET /metrics` of the real binary, read with the Prometheus client's own text-format parser,
after a chat completion (plain and streamed), an embedding, a vector store built from a file and
a search: request counts by route template, provider calls, time to first token, tokens in and
out, ingestion and search per provider; and the access log line of a request, in both log
formats. A fresh server per test, so the counts are exact."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import CLIENT_TIMEOUT_S

CHAT = "mock/mock-llm"
EMBED = "mock/mock-embed"  # the mock's hashed embeddings: no weights needed


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of `GET /metrics`, by (sample name, labels)."""
    response = httpx.get(f"{url}/metrics", timeout=CLIENT_TIMEOUT_S)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def test_metrics_after_chat_embeddings_and_a_vector_store_search(start_stack):
    server = start_stack()
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=CLIENT_TIMEOUT_S)

    answer = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "count my tokens"}])
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "stream it"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    streamed_usage = next(c.usage for c in chunks if c.usage)
    embedded = client.embeddings.create(model=EMBED, input=["metrics", "prometheus"])
    assert embedded.usage.prompt_tokens > 0

    f = client.files.create(file=("scrape.txt", b"Prometheus scrapes metrics. Histograms count observations in buckets."), purpose="assistants")
    store = client.vector_stores.create(
        name=f"metrics-{uuid.uuid4().hex[:6]}", file_ids=[f.id], extra_body={"provider_id": "faiss", "embedding_model": EMBED}
    )
    assert store.file_counts.completed == 1
    assert client.vector_stores.search(vector_store_id=store.id, query="what counts observations?").data

    m = scrape(server.url)

    # Requests by route template: never the raw path with its ids.
    assert value(m, "llama_stack_http_requests_total", method="POST", route="/v1/chat/completions", status="200") == 2
    search_route = "/v1/vector_stores/{vector_store_id}/search"
    assert value(m, "llama_stack_http_requests_total", route=search_route, status="200") == 1
    assert value(m, "llama_stack_http_request_duration_seconds_count", route=search_route, status="200") == 1
    assert not [ls for (_, ls) in m if any(k == "route" and (store.id in v or f.id in v) for k, v in ls)]

    # Provider calls through the call layers.
    assert value(m, "llama_stack_provider_calls_total", api="inference", provider="mock", method="chat_completion") == 2
    assert value(m, "llama_stack_provider_call_duration_seconds_count", api="inference", provider="mock", method="chat_completion") == 2
    assert value(m, "llama_stack_provider_calls_total", api="vector_io", provider="faiss") >= 2  # insert, query

    # Inference: time to first token of the stream, tokens in and out from usage.
    assert value(m, "llama_stack_inference_time_to_first_token_seconds_count", provider="mock", model=CHAT) == 1
    assert value(m, "llama_stack_inference_time_to_first_token_seconds_sum", provider="mock", model=CHAT) > 0
    tokens = "llama_stack_inference_tokens_total"
    assert value(m, tokens, model=CHAT, type="input") == answer.usage.prompt_tokens + streamed_usage.prompt_tokens
    assert value(m, tokens, model=CHAT, type="output") == answer.usage.completion_tokens + streamed_usage.completion_tokens
    assert value(m, tokens, model=EMBED, type="input") >= embedded.usage.prompt_tokens  # and the store's embeddings
    assert value(m, "llama_stack_inference_streams_in_flight", model=CHAT) == 0

    # Ingestion and search, per vector_io provider.
    assert value(m, "llama_stack_vector_io_ingested_files_total", provider="faiss", status="completed") == 1
    assert value(m, "llama_stack_vector_io_ingested_files_total", provider="faiss", status="failed") == 0
    assert value(m, "llama_stack_vector_io_ingested_chunks_total", provider="faiss") >= 1
    assert value(m, "llama_stack_vector_io_search_duration_seconds_count", provider="faiss", mode="vector", status="ok") == 1

    # The inference store's queued writer: both completions queued and written, none dropped.
    assert value(m, "llama_stack_store_dropped_rows_total", table="inference_store") == 0
    assert ("llama_stack_store_queue_depth", frozenset({("table", "inference_store")})) in m


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_each_request_has_one_access_line(start_stack, monkeypatch, log_format):
    monkeypatch.setenv("LLAMA_STACK_LOG_FORMAT", log_format)
    server = start_stack()
    request_id = f"e2e-access-{uuid.uuid4().hex[:8]}"
    response = httpx.get(f"{server.url}/v1/models", headers={"x-request-id": request_id}, timeout=CLIENT_TIMEOUT_S)
    assert response.status_code == 200
    httpx.get(f"{server.url}/v1/health", timeout=CLIENT_TIMEOUT_S)  # the line is written before the next request ends

    lines = [line for line in server.log_path.read_text().splitlines() if request_id in line]
    assert len(lines) == 1, lines
    fields = access_fields(lines[0])
    assert lines[0].lstrip().startswith("{") == (log_format == "json"), lines[0]
    assert fields["method"] == "GET" and fields["route"] == "/v1/models" and fields["path"] == "/v1/models", fields
    assert fields["status"] == "200" and fields["request_id"] == request_id and float(fields["duration_ms"]) >= 0, fields
    assert "principal" not in fields, "auth is off"


def access_fields(line: str) -> dict[str, str]:
    """The fields of an access line, in the text log format or the JSON one."""
    if line.lstrip().startswith("{"):
        event = json.loads(line)
        assert event.get("target") == "lls_server::access" and event.get("level") == "INFO", event
        fields = event.get("fields", event)
        return {k: str(v) for k, v in fields.items()}
    assert " INFO lls_server::access: " in line, line
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}


def test_with_auth_on_the_scrape_is_open_and_access_lines_name_the_principal(start_auth_stack, issuer):
    server = start_auth_stack(issuer)
    principal = f"metrics-{uuid.uuid4().hex[:8]}"
    token = issuer.mint(sub=principal)
    ok_id, refused_id = f"e2e-ok-{uuid.uuid4().hex[:8]}", f"e2e-refused-{uuid.uuid4().hex[:8]}"
    ok = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {token}", "x-request-id": ok_id})
    assert ok.status_code == 200, ok.text
    refused = httpx.get(f"{server.url}/v1/models", headers={"x-request-id": refused_id})
    assert refused.status_code == 401

    m = scrape(server.url)  # no token
    assert value(m, "llama_stack_http_requests_total", route="/v1/models", status="200") == 1
    assert value(m, "llama_stack_http_requests_total", route="/v1/models", status="401") == 1

    log = server.log_path.read_text()
    assert token not in log and token.split(".")[2] not in log, "a token reached the log"
    [ok_line] = [access_fields(line) for line in log.splitlines() if ok_id in line]
    assert ok_line["principal"] == principal and ok_line["status"] == "200", ok_line
    [refused_line] = [access_fields(line) for line in log.splitlines() if refused_id in line]
    assert "principal" not in refused_line and refused_line["status"] == "401", refused_line
