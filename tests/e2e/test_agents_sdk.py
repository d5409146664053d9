"""The OpenAI Agents SDK (`openai-agents`) against the server: an Agent with a function tool and
one with file_search, run through the SDK's Responses model and its Chat Completions model, and
llama-stack-client's agent helper. Runs once per storage flavour."""

from __future__ import annotations

import uuid

import pytest
from agents import Agent, FileSearchTool, OpenAIChatCompletionsModel, OpenAIResponsesModel, RunConfig, Runner, function_tool
from agents import set_tracing_disabled
from openai import AsyncOpenAI

LLM = "mock/mock-llm"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

set_tracing_disabled(True)

CALLS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    CALLS.append(city)
    return f"It is sunny in {city}."


def client(stack) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{stack.url}/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(params=["responses", "chat_completions"])
def model(request, stack):
    if request.param == "responses":
        return OpenAIResponsesModel(model=LLM, openai_client=client(stack))
    return OpenAIChatCompletionsModel(model=LLM, openai_client=client(stack))


def run(agent, text):
    return Runner.run_sync(agent, text, run_config=RunConfig(tracing_disabled=True))


def test_an_agent_calls_its_function_tool_and_answers(model):
    CALLS.clear()
    agent = Agent(name="weather", instructions="Answer with the weather.", model=model, tools=[get_weather])
    result = run(agent, "What is the weather in Paris?")
    assert CALLS, "the function tool was not called"
    assert "It is sunny in" in result.final_output


def test_an_agent_searches_files_through_the_responses_api(stack, openai_client):
    store = openai_client.vector_stores.create(
        name=f"agents-{uuid.uuid4().hex[:6]}",
        extra_body={"embedding_model": EMBEDDING_MODEL, "embedding_dimension": 384, "provider_id": "faiss"},
    )
    f = openai_client.files.create(file=("llamas.txt", b"Llamas hum to communicate with each other.", "text/plain"), purpose="assistants")
    openai_client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id)
    agent = Agent(
        name="librarian",
        instructions="Answer from the files.",
        model=OpenAIResponsesModel(model=LLM, openai_client=client(stack)),
        tools=[FileSearchTool(vector_store_ids=[store.id], include_search_results=True)],
    )
    result = run(agent, "How do llamas communicate?")
    assert "hum" in result.final_output


def test_llama_stack_client_agent_helper_runs_a_turn(ls_client):
    from llama_stack_client import Agent as LsAgent

    agent = LsAgent(ls_client, model=LLM, instructions="You are a helpful assistant.")
    session_id = agent.create_session(f"s-{uuid.uuid4().hex[:6]}")
    turn = agent.create_turn(messages=[{"role": "user", "content": "Say hello"}], session_id=session_id, stream=False)
    assert "hello" in turn.output_text.lower()
