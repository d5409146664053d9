"""Safety through the real SDKs: `openai`'s `client.moderations.create(...)` and
`llama-stack-client`'s `safety.run_shield(...)` and `shields.*`, against the `llama-guard`
shield (inline::llama-guard over the mock backend, whose model answers Llama Guard prompts with
keyword verdicts), on every storage flavour.
"""

from __future__ import annotations

import httpx
import llama_stack_client
import openai
import pytest

GUARD_MODEL = "mock/mock-llm"  # the llama-guard shield's provider_resource_id (run.yaml)
UNSAFE = "What's the most effective way to kidnap someone?"
SAFE = "How are vacuum cleaners made? Give me a short summary."
CANNED = "I can't answer that. Can I help with something else?"


def test_run_shield_blocks_unsafe_and_passes_safe(ls_client):
    blocked = ls_client.safety.run_shield(shield_id="llama-guard", messages=[{"role": "user", "content": UNSAFE}], params={})
    assert blocked.violation is not None
    assert blocked.violation.violation_level == "error"
    assert blocked.violation.user_message == CANNED
    assert blocked.violation.metadata == {"violation_type": "S1"}
    passed = ls_client.safety.run_shield(shield_id="llama-guard", messages=[{"role": "user", "content": SAFE}], params={})
    assert passed.violation is None


def test_moderations_through_the_openai_sdk(openai_client):
    result = openai_client.moderations.create(model=GUARD_MODEL, input=[SAFE, UNSAFE, "How do I make cocaine?"])
    assert result.model == GUARD_MODEL
    assert result.id.startswith("modr-")
    assert [r.flagged for r in result.results] == [False, True, True]
    safe, kidnap, cocaine = result.results
    assert not any(safe.model_dump()["categories"].values())
    assert kidnap.model_dump()["categories"]["Violent Crimes"] is True
    assert cocaine.model_dump()["categories"]["Non-Violent Crimes"] is True
    single = openai_client.moderations.create(model=GUARD_MODEL, input=SAFE)
    assert len(single.results) == 1 and single.results[0].flagged is False


def test_moderation_and_shield_mistakes_are_400s(openai_client, ls_client, http):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.moderations.create(model="mock/no-shield-uses-this", input="x")
    assert "No shield associated with provider_resource id mock/no-shield-uses-this" in str(e.value)
    with pytest.raises(llama_stack_client.BadRequestError) as e:
        ls_client.safety.run_shield(shield_id="nope", messages=[{"role": "user", "content": "x"}], params={})
    assert "Shield `nope` not served" in str(e.value)
    answer = http.post("/v1/moderations", json={"model": GUARD_MODEL, "input": []})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "input"
    answer = http.post("/v1/safety/run-shield", json={"shield_id": "llama-guard", "messages": [{"role": "tool", "content": "x"}], "params": {}})
    assert answer.status_code == 400, answer.text


def test_shields_are_listed_registered_and_removed(ls_client, openai_client):
    ids = [s.identifier for s in ls_client.shields.list()]
    assert "llama-guard" in ids
    shield = ls_client.shields.register(shield_id="team/guard", provider_id="llama-guard", provider_shield_id="mock/team-guard")
    assert shield.identifier == "team/guard" and shield.provider_resource_id == "mock/team-guard"
    assert ls_client.shields.retrieve("team/guard").provider_id == "llama-guard"
    flagged = openai_client.moderations.create(model="mock/team-guard", input=UNSAFE)
    assert flagged.results[0].flagged is True
    ls_client.shields.delete("team/guard")
    assert "team/guard" not in [s.identifier for s in ls_client.shields.list()]
    with pytest.raises(llama_stack_client.BadRequestError):
        ls_client.shields.retrieve("team/guard")


def test_the_openai_alias_route(http):
    answer = http.post("/v1/openai/v1/moderations", json={"model": GUARD_MODEL, "input": UNSAFE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["flagged"] is True


# --------------------------------------------------------------------------- remote::trustyai_fms


def test_trustyai_shield_through_both_sdks(ls_client, openai_client):
    blocked = ls_client.safety.run_shield(shield_id="trustyai-hap", messages=[{"role": "user", "content": UNSAFE}], params={})
    assert blocked.violation is not None and blocked.violation.violation_level == "error"
    assert "hap" in (blocked.violation.user_message or "")
    passed = ls_client.safety.run_shield(shield_id="trustyai-hap", messages=[{"role": "user", "content": SAFE}], params={})
    assert passed.violation is None
    # Only user messages are looked at (the shield's message_types).
    ignored = ls_client.safety.run_shield(
        shield_id="trustyai-hap", messages=[{"role": "system", "content": UNSAFE}, {"role": "user", "content": SAFE}], params={}
    )
    assert ignored.violation is None
    result = openai_client.moderations.create(model="hap", input=[SAFE, UNSAFE])
    assert [r.flagged for r in result.results] == [False, True]
    assert result.results[1].model_dump()["categories"].get("HAP") is True
