"""The legacy v1alpha Agents API (`/v1alpha/agents…`) with llama-stack-client's `alpha.agents`:
agents, sessions, a streamed turn that waits for a client tool, resuming it with the tool's
result, turns and steps read back, a RAG agent over a vector store, and deletes. Runs once per
storage flavour."""

from __future__ import annotations

import uuid

import pytest
from llama_stack_client import BadRequestError, NotFoundError

LLM = "mock/mock-llm"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

BOILING = {
    "name": "get_boiling_point",
    "description": "Boiling point of a liquid",
    "input_schema": {"type": "object", "properties": {"liquid_name": {"type": "string"}}, "required": ["liquid_name"]},
}


def agent_config(**extra):
    config = {"model": LLM, "instructions": "You are a helpful assistant.", "enable_session_persistence": True}
    config.update(extra)
    return config


def test_a_turn_waits_for_a_client_tool_and_resumes(ls_client):
    agents = ls_client.alpha.agents
    agent_id = agents.create(agent_config=agent_config(client_tools=[BOILING])).agent_id
    assert agent_id in [a["agent_id"] for a in agents.list().data]
    session_id = agents.session.create(agent_id, session_name=f"s-{uuid.uuid4().hex[:6]}").session_id
    chunks = list(
        agents.turn.create(
            session_id,
            agent_id=agent_id,
            messages=[{"role": "user", "content": "What is the boiling point of polyjuice?"}],
            stream=True,
        )
    )
    kinds = [c.event.payload.event_type for c in chunks]
    assert kinds[-1] == "turn_awaiting_input", kinds
    turn = chunks[-1].event.payload.turn
    call = turn.output_message.tool_calls[0]
    assert call.tool_name == "get_boiling_point"
    resumed = list(
        agents.turn.resume(
            turn.turn_id,
            agent_id=agent_id,
            session_id=session_id,
            tool_responses=[{"call_id": call.call_id, "tool_name": "get_boiling_point", "content": "-100 degrees"}],
            stream=True,
        )
    )
    done = resumed[-1].event.payload
    assert done.event_type == "turn_complete", [c.event.payload.event_type for c in resumed]
    assert "-100 degrees" in done.turn.output_message.content
    back = agents.turn.retrieve(turn.turn_id, agent_id=agent_id, session_id=session_id)
    assert back.turn_id == turn.turn_id and back.steps
    step = back.steps[0]
    assert agents.steps.retrieve(step.step_id, agent_id=agent_id, session_id=session_id, turn_id=turn.turn_id).step.step_id == step.step_id
    session = agents.session.retrieve(session_id, agent_id=agent_id)
    assert [t.turn_id for t in session.turns] == [turn.turn_id]
    agents.session.delete(session_id, agent_id=agent_id)
    with pytest.raises(NotFoundError, match="not found"):
        agents.session.retrieve(session_id, agent_id=agent_id)
    agents.delete(agent_id)
    # An unknown agent is a 400 with 0.3.5's text, as its clients expect.
    with pytest.raises(BadRequestError, match="Could not find agent info"):
        agents.retrieve(agent_id)


def test_a_rag_agent_searches_its_vector_store(ls_client, openai_client):
    store = openai_client.vector_stores.create(
        name=f"legacy-{uuid.uuid4().hex[:6]}",
        extra_body={"embedding_model": EMBEDDING_MODEL, "embedding_dimension": 384, "provider_id": "faiss"},
    )
    f = openai_client.files.create(file=("llamas.txt", b"Llamas hum to communicate with each other.", "text/plain"), purpose="assistants")
    openai_client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id)
    agents = ls_client.alpha.agents
    rag = {"name": "builtin::rag/knowledge_search", "args": {"vector_db_ids": [store.id]}}
    agent_id = agents.create(agent_config=agent_config(toolgroups=[rag])).agent_id
    session_id = agents.session.create(agent_id, session_name="rag").session_id
    turn = agents.turn.create(session_id, agent_id=agent_id, messages=[{"role": "user", "content": "How do llamas communicate?"}], stream=False)
    assert "hum" in turn.output_message.content
    assert any(s.step_type == "tool_execution" for s in turn.steps), [s.step_type for s in turn.steps]
