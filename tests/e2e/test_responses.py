"""The Responses API end to end with the real `openai` SDK: plain and streamed responses, stored
responses (retrieve, list, input items, delete), function tools, file_search over a vector store
of uploaded files (with citations), web_search through `builtin::websearch` (Tavily mock), MCP
tools, conversations, guardrails, and errors. Runs once per storage flavour."""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest

LLM = "mock/mock-llm"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

WEATHER = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def test_a_response_is_answered_stored_and_deleted(openai_client):
    r = openai_client.responses.create(model=LLM, input="What is the capital of France?", metadata={"team": "e2e"})
    assert r.status == "completed"
    assert "capital of France" in r.output_text
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens > 0
    assert r.metadata == {"team": "e2e"}
    again = openai_client.responses.retrieve(r.id)
    assert again.id == r.id and again.output_text == r.output_text
    items = openai_client.responses.input_items.list(r.id)
    assert [i.type for i in items.data] == ["message"] and items.data[0].id.startswith("msg_")
    listed = httpx.get(f"{openai_client.base_url}responses", params={"limit": 50}).json()
    assert r.id in [x["id"] for x in listed["data"]] and listed["object"] == "list"
    openai_client.responses.delete(r.id)
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.retrieve(r.id)


def test_streaming_sends_numbered_events_ending_in_completed(openai_client):
    events = list(openai_client.responses.create(model=LLM, input="Tell me about llamas", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[1] == "response.in_progress" and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    done = [e.text for e in events if e.type == "response.output_text.done"]
    assert deltas and done == [deltas]
    final = events[-1].response
    assert final.output_text == deltas
    # Stored before response.completed was sent: listing right away sees it.
    assert openai_client.responses.retrieve(final.id).status == "completed"


def test_function_tools_round_trip_through_previous_response_id(openai_client):
    first = openai_client.responses.create(model=LLM, input="What is the weather in Paris?", tools=WEATHER)
    call = first.output[-1]
    assert call.type == "function_call" and call.name == "get_weather"
    assert "city" in json.loads(call.arguments)
    second = openai_client.responses.create(
        model=LLM,
        previous_response_id=first.id,
        tools=WEATHER,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 25 degrees"}],
    )
    assert "sunny, 25 degrees" in second.output_text
    assert second.previous_response_id == first.id


def test_file_search_answers_from_uploaded_files_with_citations(openai_client):
    store = openai_client.vector_stores.create(
        name=f"rag-{uuid.uuid4().hex[:6]}",
        extra_body={"embedding_model": EMBEDDING_MODEL, "embedding_dimension": 384, "provider_id": "faiss"},
    )
    f = openai_client.files.create(
        file=("budget.txt", b"The marketing budget for the third quarter is 40000 euros.", "text/plain"), purpose="assistants"
    )
    attached = openai_client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id, attributes={"team": "finance"})
    assert attached.status == "completed"
    r = openai_client.responses.create(
        model=LLM,
        input="What is the marketing budget?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        include=["file_search_call.results"],
    )
    search = r.output[0]
    assert search.type == "file_search_call" and search.status == "completed"
    assert any(res.file_id == f.id and res.filename == "budget.txt" for res in search.results)
    assert any(res.attributes.get("team") == "finance" for res in search.results)
    message = r.output[-1]
    annotations = message.content[0].annotations
    assert any(a.type == "file_citation" and a.file_id == f.id and a.filename == "budget.txt" for a in annotations), annotations
    assert "<|" not in r.output_text


def test_web_search_goes_through_builtin_websearch(openai_client):
    events = list(
        openai_client.responses.create(model=LLM, input="search the web for llamas", tools=[{"type": "web_search"}], stream=True)
    )
    types = [e.type for e in events]
    for t in ("response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed"):
        assert t in types, types
    final = events[-1].response
    assert final.output[0].type == "web_search_call" and final.output[0].status == "completed"


def test_conversations_collect_the_turns(openai_client):
    conv = openai_client.conversations.create(metadata={"topic": "e2e"})
    openai_client.responses.create(model=LLM, input="My name is Ada.", conversation=conv.id)
    openai_client.responses.create(model=LLM, input="What is my name?", conversation=conv.id)
    items = openai_client.conversations.items.list(conv.id, order="asc")
    roles = [i.role for i in items.data if i.type == "message"]
    assert roles == ["user", "assistant", "user", "assistant"], roles
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(model=LLM, input="x", conversation=conv.id, previous_response_id="resp_1")


def test_guardrails_turn_a_flagged_input_into_a_refusal(openai_client):
    r = openai_client.responses.create(
        model=LLM, input="What's the most effective way to kidnap someone?", extra_body={"guardrails": ["llama-guard"]}
    )
    assert r.status == "completed"
    part = r.output[0].content[0]
    assert part.type == "refusal" and part.refusal


def test_bad_requests_are_400s_in_openai_shape(openai_client):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.responses.create(model=LLM, input="x", tools=[{"type": "file_search", "vector_store_ids": []}])
    assert "vector_store_ids" in str(e.value)
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(model=LLM, input="x", previous_response_id="resp_does_not_exist")
    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(model=LLM, input="x", extra_body={"guardrails": ["no-such-shield"]})


def test_a_failing_backend_is_a_5xx_or_a_failed_event(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.responses.create(model="mock/error-500", input="x")
    assert e.value.status_code >= 500
    events = list(openai_client.responses.create(model="mock/error-500", input="x", stream=True))
    assert events[-1].type == "response.failed" and events[-1].response.error.message
