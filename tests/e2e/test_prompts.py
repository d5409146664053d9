"""Prompts (`/v1/prompts`, built in as in 0.3.5) through `llama-stack-client` (0.3.5 has no
prompts resource, so its generic calls with a typed answer): create, update to v2, stale updates
(409), versions, default version, reads by version, delete, the 400s and 404s; answers checked
against docs/openapi.json; and a stored prompt used by the Responses API through the `openai`
SDK's `prompt`, its rendered text reaching the model. Runs once per storage flavour."""

from __future__ import annotations

import json
from typing import List, Optional

import llama_stack_client
import openai
import pytest
from llama_stack_client._models import BaseModel

from test_openapi import COMMITTED, Conformance

LLM = "mock/mock-llm"
FIELDS = {"prompt", "version", "prompt_id", "variables", "is_default"}


class Prompt(BaseModel):
    prompt: Optional[str] = None
    version: int
    prompt_id: str
    variables: List[str]
    is_default: bool


class PromptList(BaseModel):
    data: List[Prompt]


def create(client, prompt: str, variables: list[str] | None = None) -> Prompt:
    return client.post("/v1/prompts", cast_to=Prompt, body={"prompt": prompt, "variables": variables})


def get(client, prompt_id: str, version: int | None = None) -> Prompt:
    params = {} if version is None else {"version": version}
    return client.get(f"/v1/prompts/{prompt_id}", cast_to=Prompt, options={"params": params})


def update(client, prompt_id: str, prompt: str, version: int, **more) -> Prompt:
    return client.post(f"/v1/prompts/{prompt_id}", cast_to=Prompt, body={"prompt": prompt, "version": version, **more})


def versions(client, prompt_id: str) -> list[Prompt]:
    return client.get(f"/v1/prompts/{prompt_id}/versions", cast_to=PromptList).data


def test_prompt_lifecycle(ls_client):
    p = create(ls_client, "You are {{ role }}.", ["role"])
    assert p.prompt_id.startswith("pmpt_") and len(p.prompt_id) == len("pmpt_") + 48
    assert (p.version, p.prompt, p.variables, p.is_default) == (1, "You are {{ role }}.", ["role"], True)

    v2 = update(ls_client, p.prompt_id, "You are {{ role }}; answer in {{ language }}.", 1, variables=["role", "language"])
    assert (v2.version, v2.is_default, v2.variables) == (2, True, ["role", "language"])
    with pytest.raises(llama_stack_client.ConflictError):
        update(ls_client, p.prompt_id, "stale", 1)

    assert [(v.version, v.is_default) for v in versions(ls_client, p.prompt_id)] == [(1, False), (2, True)]
    assert get(ls_client, p.prompt_id).version == 2

    chosen = ls_client.post(f"/v1/prompts/{p.prompt_id}/set-default-version", cast_to=Prompt, body={"version": 1})
    assert (chosen.version, chosen.is_default) == (1, True)
    assert get(ls_client, p.prompt_id).prompt == "You are {{ role }}."
    by_version = get(ls_client, p.prompt_id, version=2)
    assert (by_version.prompt, by_version.is_default) == ("You are {{ role }}; answer in {{ language }}.", False)
    listed = ls_client.get("/v1/prompts", cast_to=PromptList).data
    assert [(x.version, x.is_default) for x in listed if x.prompt_id == p.prompt_id] == [(1, True)]

    # A version that is not the default: the default stays.
    v3 = update(ls_client, p.prompt_id, "Third", 2, set_as_default=False)
    assert (v3.version, v3.is_default) == (3, False)
    assert get(ls_client, p.prompt_id).version == 1

    ls_client.delete(f"/v1/prompts/{p.prompt_id}", cast_to=type(None))
    with pytest.raises(llama_stack_client.NotFoundError):
        get(ls_client, p.prompt_id)
    with pytest.raises(llama_stack_client.NotFoundError):
        versions(ls_client, p.prompt_id)
    assert p.prompt_id not in [x.prompt_id for x in ls_client.get("/v1/prompts", cast_to=PromptList).data]


def test_bad_requests_are_400s_and_unknown_prompts_404s(ls_client, http):
    with pytest.raises(llama_stack_client.BadRequestError) as undeclared:
        create(ls_client, "Hello {{ name }} from {{ city }}", ["name"])
    assert "undeclared variables: ['city']" in str(undeclared.value)
    with pytest.raises(llama_stack_client.BadRequestError):
        get(ls_client, "invalid_id")
    with pytest.raises(llama_stack_client.NotFoundError):
        get(ls_client, "pmpt_" + "0" * 48)
    p = create(ls_client, "V1")
    with pytest.raises(llama_stack_client.BadRequestError):
        get(ls_client, p.prompt_id, version=0)
    with pytest.raises(llama_stack_client.NotFoundError):
        get(ls_client, p.prompt_id, version=5)
    with pytest.raises(llama_stack_client.BadRequestError):
        ls_client.post(f"/v1/prompts/{p.prompt_id}", cast_to=Prompt, body={"prompt": "no version"})
    with pytest.raises(llama_stack_client.NotFoundError):
        ls_client.post(f"/v1/prompts/{p.prompt_id}/set-default-version", cast_to=Prompt, body={"version": 9})
    r = http.get(f"/v1/prompts/{p.prompt_id}", params={"version": "abc"})
    assert r.status_code == 400 and isinstance(r.json()["detail"], str)


def test_answers_have_0_3_5_shapes_and_match_the_document(http):
    c = Conformance(json.loads(COMMITTED.read_text()))
    created = http.post("/v1/prompts", json={"prompt": "Hi {{ who }}", "variables": ["who"]})
    c.check("POST", "/v1/prompts", created)
    body = created.json()
    assert set(body) == FIELDS
    one = f"/v1/prompts/{body['prompt_id']}"
    c.check("POST", "/v1/prompts/{prompt_id}", http.post(one, json={"prompt": "Hello {{ who }}", "version": 1, "variables": ["who"]}))
    c.check("GET", "/v1/prompts/{prompt_id}", http.get(one, params={"version": 1}))
    listed = http.get("/v1/prompts")
    c.check("GET", "/v1/prompts", listed)
    assert set(listed.json()) == {"data"}
    c.check("GET", "/v1/prompts/{prompt_id}/versions", http.get(f"{one}/versions"))
    c.check("POST", "/v1/prompts/{prompt_id}/set-default-version", http.post(f"{one}/set-default-version", json={"version": 1}))
    c.check("POST", "/v1/prompts/{prompt_id}", http.post(one, json={"prompt": "stale", "version": 1}))
    deleted = http.delete(one)
    assert deleted.status_code == 204 and deleted.content == b""
    c.check("GET", "/v1/prompts/{prompt_id}", http.get(one))


def test_a_response_reads_the_rendered_prompt_first(ls_client, openai_client):
    p = create(ls_client, "You are {{ role }}.", ["role"])
    update(ls_client, p.prompt_id, "You are {{ role }}; you answer in {{ language }} and never in haste.", 1, variables=["role", "language"])
    question = "What do llamas eat?"
    plain = openai_client.responses.create(model=LLM, input=question)

    # The default version (2), its variables as a string and an input_text part.
    variables = {"role": "a very patient teacher of llamas", "language": {"type": "input_text", "text": "plain English"}}
    rendered = "You are a very patient teacher of llamas; you answer in plain English and never in haste."
    r = openai_client.responses.create(model=LLM, input=question, prompt={"id": p.prompt_id, "variables": variables})
    assert r.status == "completed" and question in r.output_text
    assert r.prompt.id == p.prompt_id and r.prompt.variables["role"] == variables["role"]
    assert openai_client.responses.retrieve(r.id).prompt.id == p.prompt_id
    # The model read exactly the rendered text (the mock counts words of every message).
    assert r.usage.input_tokens - plain.usage.input_tokens == len(rendered.split())
    same = openai_client.responses.create(model=LLM, input=question, instructions=rendered)
    assert same.usage.input_tokens == r.usage.input_tokens

    # Version 1 by number, before the request's own instructions.
    v1 = openai_client.responses.create(
        model=LLM, input=question, instructions="Be brief.", prompt={"id": p.prompt_id, "version": "1", "variables": {"role": "a guide"}}
    )
    assert v1.usage.input_tokens - plain.usage.input_tokens == len("You are a guide.".split()) + len("Be brief.".split())
    assert v1.instructions == "Be brief." and v1.prompt.version == "1"

    with pytest.raises(openai.BadRequestError, match="planet"):
        openai_client.responses.create(model=LLM, input=question, prompt={"id": p.prompt_id, "variables": {"planet": "Mars"}})
    with pytest.raises(openai.BadRequestError, match="language"):
        openai_client.responses.create(model=LLM, input=question, prompt={"id": p.prompt_id, "variables": {"role": "x"}})
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.create(model=LLM, input=question, prompt={"id": "pmpt_" + "1" * 48})
