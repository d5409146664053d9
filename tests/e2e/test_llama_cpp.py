"""The embedded chat model (`inline::llama-cpp` with Qwen2.5-Coder-0.5B-Instruct from
scripts/models.sh) through the real SDKs: a tool call whose arguments fit the tool's schema, and
a Responses call whose model searches an uploaded document with file_search. Structure is
asserted (tool called, arguments valid, the document found, the loop terminates, the document's
fact in the answer), not prose. Runs once per storage flavour."""

from __future__ import annotations

import json
import uuid

QWEN = "llama-cpp/qwen2.5-coder-0.5b-instruct"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_the_embedded_model_is_listed(ls_client):
    models = {m.identifier: m.model_type for m in ls_client.models.list()}
    assert models.get(QWEN) == "llm", models


def test_a_tool_call_fits_the_schema(openai_client):
    r = openai_client.chat.completions.create(
        model=QWEN,
        messages=[{"role": "user", "content": "What is the weather like in Paris today?"}],
        tools=[WEATHER],
        max_tokens=96,
        temperature=0,
        timeout=120,
    )
    calls = r.choices[0].message.tool_calls
    assert calls, r.choices[0].message
    assert calls[0].function.name == "get_weather"
    arguments = json.loads(calls[0].function.arguments)
    assert isinstance(arguments.get("city"), str) and arguments["city"]
    assert r.choices[0].finish_reason == "tool_calls"


def test_file_search_answers_from_the_uploaded_document(openai_client):
    store = openai_client.vector_stores.create(
        name=f"offline-{uuid.uuid4().hex[:6]}",
        extra_body={"embedding_model": EMBEDDING_MODEL, "embedding_dimension": 384, "provider_id": "faiss"},
    )
    doc = b"Project Zebra internal memo. The launch code of Project Zebra is 4417. Keep it private."
    f = openai_client.files.create(file=("zebra.txt", doc, "text/plain"), purpose="assistants")
    assert openai_client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id).status == "completed"
    r = openai_client.responses.create(
        model=QWEN,
        input="What is the launch code of Project Zebra?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        tool_choice="required",
        include=["file_search_call.results"],
        extra_body={"max_infer_iters": 3},
        temperature=0,
        timeout=300,
    )
    # The model searched the store with a query, the document was found, and after the search
    # (which this model tends to repeat: the engine then has it answer) the answer is the
    # document's fact.
    assert r.status == "completed", (r.status, r.incomplete_details, [o.type for o in r.output])
    assert [o.type for o in r.output] == ["file_search_call", "message"], [o.type for o in r.output]
    search = r.output[0]
    assert search.status == "completed" and search.queries and "Zebra" in search.queries[0], search
    hit = [res for res in search.results if res.file_id == f.id]
    assert hit and hit[0].filename == "zebra.txt" and "4417" in hit[0].text, search.results
    assert "4417" in r.output_text, r.output_text
    assert not r.output_text.lstrip().startswith(("{", "<", "`")), r.output_text
