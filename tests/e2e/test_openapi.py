"""The OpenAPI document: docs/openapi.json and the served /openapi.json are valid OpenAPI 3.1
(openapi-spec-validator), and what the server answers matches the schemas the document gives
for those answers (JSON Schema 2020-12 through `jsonschema`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOC_URI = "urn:llama-stack-rs:openapi"


def spec_errors(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in OpenAPIV31SpecValidator(doc).iter_errors()]


def test_committed_document_is_valid_openapi_3_1():
    doc = json.loads(COMMITTED.read_text())
    assert doc["openapi"].startswith("3.1")
    errors = spec_errors(doc)
    assert not errors, "\n".join(errors[:20])


def test_served_document_is_valid_and_a_part_of_the_committed_one(http):
    served = http.get("/openapi.json").json()
    errors = spec_errors(served)
    assert not errors, "\n".join(errors[:20])
    committed = json.loads(COMMITTED.read_text())
    for path, ops in served["paths"].items():
        assert path in committed["paths"], path
        for method, op in ops.items():
            assert committed["paths"][path][method]["operationId"] == op["operationId"], (path, method)


def test_every_operation_declares_its_answers():
    doc = json.loads(COMMITTED.read_text())
    assert sum(len(ops) for ops in doc["paths"].values()) >= 60, "the document lost operations"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert ok, f"{method} {path} has no success response"
            assert {"4XX", "5XX"} <= set(op["responses"]), f"{method} {path} lacks the error responses"
            if method == "post" and not path.endswith("/cancel"):
                assert "requestBody" in op, f"POST {path} declares no body"
            for status in ok:
                for media in op["responses"][status].get("content", {}).values():
                    assert media.get("schema") not in (None, {}, {"type": "object"}), f"{method} {path} {status}: no real schema"


class Conformance:
    """Validates answers against the schema the document gives for (method, path, status)."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.registry = Registry().with_resource(DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012))

    def check(self, method: str, path: str, response, media: str = "application/json") -> None:
        responses = self.doc["paths"][path][method.lower()]["responses"]
        status = str(response.status_code)
        if status not in responses:
            status = f"{status[0]}XX"
        assert status in responses, f"{method} {path} answered {status}, not documented: {response.text[:300]}"
        answer, where = responses[status], ["paths", path, method.lower(), "responses", status]
        if "$ref" in answer:
            name = answer["$ref"].rsplit("/", 1)[-1]
            answer, where = self.doc["components"]["responses"][name], ["components", "responses", name]
        assert media in answer.get("content", {}), f"{method} {path} {status}: no {media} answer documented"
        pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in [*where, "content", media, "schema"])
        validator = Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=self.registry)
        errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.absolute_path))
        assert not errors, f"{method} {path}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def conformance(http):
    return Conformance(http.get("/openapi.json").json())


def test_answers_match_the_documented_schemas(http, conformance):
    c = conformance
    for path in ["/v1/health", "/v1/version", "/v1/inspect/routes", "/v1/providers", "/v1/models", "/v1/openai/v1/models"]:
        c.check("GET", path, http.get(path))
    c.check("GET", "/v1/providers/{provider_id}", http.get("/v1/providers/mock"))
    c.check("GET", "/v1/models/{model_id}", http.get("/v1/models/mock/mock-llm"))

    chat = http.post("/v1/chat/completions", json={"model": "mock/mock-llm", "messages": [{"role": "user", "content": "hi"}]})
    c.check("POST", "/v1/chat/completions", chat)
    c.check("GET", "/v1/chat/completions/{completion_id}", http.get(f"/v1/chat/completions/{chat.json()['id']}"))
    c.check("GET", "/v1/chat/completions", http.get("/v1/chat/completions", params={"limit": 2}))
    c.check("POST", "/v1/completions", http.post("/v1/completions", json={"model": "mock/mock-llm", "prompt": "hi", "max_tokens": 4}))
    c.check("POST", "/v1/embeddings", http.post("/v1/embeddings", json={"model": "mock/mock-embed", "input": ["a", "b"]}))

    upload = http.post("/v1/files", files={"file": ("doc.txt", b"The sky is blue.\n")}, data={"purpose": "assistants"})
    c.check("POST", "/v1/files", upload)
    file_id = upload.json()["id"]
    c.check("GET", "/v1/files", http.get("/v1/files"))
    c.check("GET", "/v1/files/{file_id}", http.get(f"/v1/files/{file_id}"))

    store = http.post("/v1/vector_stores", json={"name": "openapi", "file_ids": [file_id]})
    c.check("POST", "/v1/vector_stores", store)
    sid = store.json()["id"]
    c.check("GET", "/v1/vector_stores", http.get("/v1/vector_stores"))
    c.check("POST", "/v1/vector_stores/{vector_store_id}/search", http.post(f"/v1/vector_stores/{sid}/search", json={"query": "sky"}))
    c.check("GET", "/v1/vector_stores/{vector_store_id}/files", http.get(f"/v1/vector_stores/{sid}/files"))
    c.check(
        "GET",
        "/v1/vector_stores/{vector_store_id}/files/{file_id}/content",
        http.get(f"/v1/vector_stores/{sid}/files/{file_id}/content"),
    )
    batch = http.post(f"/v1/vector_stores/{sid}/file_batches", json={"file_ids": [file_id]})
    c.check("POST", "/v1/vector_stores/{vector_store_id}/file_batches", batch)
    c.check(
        "GET",
        "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/files",
        http.get(f"/v1/vector_stores/{sid}/file_batches/{batch.json()['id']}/files"),
    )
    insert = http.post("/v1/vector-io/insert", json={"vector_db_id": sid, "chunks": [{"content": "grass is green", "metadata": {"document_id": "d1"}}]})
    c.check("POST", "/v1/vector-io/insert", insert)
    c.check("POST", "/v1/vector-io/query", http.post("/v1/vector-io/query", json={"vector_db_id": sid, "query": "grass"}))
    c.check("DELETE", "/v1/vector_stores/{vector_store_id}/files/{file_id}", http.delete(f"/v1/vector_stores/{sid}/files/{file_id}"))
    c.check("DELETE", "/v1/vector_stores/{vector_store_id}", http.delete(f"/v1/vector_stores/{sid}"))
    c.check("DELETE", "/v1/files/{file_id}", http.delete(f"/v1/files/{file_id}"))


def test_errors_match_the_documented_schema(http, conformance):
    c = conformance
    c.check("GET", "/v1/files/{file_id}", http.get("/v1/files/file-missing"))
    c.check("POST", "/v1/chat/completions", http.post("/v1/chat/completions", json={"model": "mock/mock-llm", "messages": []}))
    c.check("GET", "/v1/vector_stores", http.get("/v1/vector_stores", params={"limit": 0}))
