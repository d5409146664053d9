"""Hosted inference vendors, through their own clients and through the server.

1. The test kit's vendor mocks against the vendors' official clients: `openai.AzureOpenAI`
   (deployments API, `api-key`, `api-version`) and `openai.OpenAI` on Azure's v1 API against
   `lls-mock-azure` — chat, streaming (Azure's `prompt_filter_results` chunk), embeddings and
   Azure's errors as the SDK reads them (content filter, bad key, unknown deployment, 429 with
   Retry-After). If the official client cannot use a mock, the mock is not faithful. The
   `openai` client against `lls-mock-ollama` (Ollama's OpenAI API under /v1, `/api/tags`).
2. The `openai` SDK through the server to each vendor provider (`remote::azure`, ...), switched
   on in run.yaml by the mock's URL (MOCK_AZURE_URL, ..., MOCK_BEDROCK_URL for `remote::bedrock`
   on `lls-mock-bedrock`, which checks every request's SigV4 signature).
"""

from __future__ import annotations

import hashlib
import hmac
import httpx
import json
import time
from datetime import datetime, timezone
from urllib.parse import quote

import openai
import pytest

from conftest import CLIENT_TIMEOUT_S, AnnouncedMock, StackServer

AZURE_KEY = "mock-azure-key"  # lls-mock-azure's default key
AZURE_VERSION = "2024-10-21"
PROMPT_FILTER_TRIGGER = "azure-filtered-prompt"  # lls_testkit::azure_mock::PROMPT_FILTER_TRIGGER
COMPLETION_FILTER_TRIGGER = "azure-filtered-answer"
BEDROCK_KEY_ID = "AKIDLLSMOCKBEDROCK01"  # lls_testkit::bedrock_mock::ACCESS_KEY_ID (and run.yaml's)
BEDROCK_SECRET = "lls-mock-bedrock-secret-access-key"  # ::SECRET_ACCESS_KEY


def bedrock_get(url: str, key_id: str = BEDROCK_KEY_ID, secret: str = BEDROCK_SECRET, region: str = "us-east-1") -> httpx.Response:
    """A GET signed with AWS Signature Version 4 (service bedrock) as botocore signs it: host and
    x-amz-date signed, the empty body's hash in the canonical request."""
    u = httpx.URL(url)
    now = datetime.now(timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    host = u.netloc.decode()
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(u.params.multi_items()))
    canonical = "\n".join(["GET", quote(u.path, safe="/-_.~"), query, f"host:{host}", f"x-amz-date:{amz_date}", "",
                           "host;x-amz-date", hashlib.sha256(b"").hexdigest()])
    scope = f"{day}/{region}/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = f"AWS4{secret}".encode()
    for part in (day, region, "bedrock", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders=host;x-amz-date, Signature={signature}"
    return httpx.get(url, headers={"x-amz-date": amz_date, "authorization": auth}, timeout=CLIENT_TIMEOUT_S)


@pytest.fixture(scope="module")
def azure_mock(workdir):
    mock = AnnouncedMock("lls-mock-azure", [], workdir, r"http://\S+", "/health")
    yield mock.url
    mock.process.stop()


@pytest.fixture(scope="module")
def ollama_mock(workdir):
    mock = AnnouncedMock("lls-mock-ollama", [], workdir, r"http://\S+", "/api/version")
    yield mock.url
    mock.process.stop()


@pytest.fixture(scope="module")
def watsonx_mock(workdir):
    """`lls-mock-watsonx`: watsonx.ai and IBM Cloud IAM on one port (key wx-test-key, project
    wx-test-project); 3-second tokens, so the server's token cache renews during the module."""
    mock = AnnouncedMock("lls-mock-watsonx", ["--token-ttl", "3"], workdir, r"http://\S+", "/ml/v1/foundation_model_specs?version=2025-02-11")
    yield mock.url
    mock.process.stop()


@pytest.fixture(scope="module")
def vertex_mock(workdir):
    """`lls-mock-vertex`: Vertex AI (project vertex-test-project, us-central1), Google's token
    endpoint and the metadata server on one port; it writes its service account's key file.
    3-second tokens, so the server's token cache renews during the module."""
    key_file = workdir / "vertex-service-account.json"
    mock = AnnouncedMock("lls-mock-vertex", ["--key-file", str(key_file), "--token-ttl-s", "3"], workdir, r"http://\S+", "/health")
    yield mock.url, key_file
    mock.process.stop()


@pytest.fixture(scope="module")
def bedrock_mock(workdir):
    """`lls-mock-bedrock`: bedrock-runtime and bedrock on one port, every request SigV4-checked
    (keys BEDROCK_KEY_ID/BEDROCK_SECRET, us-east-1); ready once a signed model listing answers."""
    mock = AnnouncedMock("lls-mock-bedrock", [], workdir, r"http://\S+", "/foundation-models",
                         probe=lambda url: bedrock_get(url).status_code)
    yield mock.url
    mock.process.stop()


@pytest.fixture(scope="module")
def vendor_stack(storage, mock_backend, azure_mock, ollama_mock, watsonx_mock, vertex_mock, bedrock_mock, workdir):
    """A server whose run.yaml switches on the vendor providers, pointed at their mocks."""
    env = {"MOCK_AZURE_URL": azure_mock, "MOCK_OLLAMA_URL": ollama_mock, "MOCK_WATSONX_URL": watsonx_mock,
           "MOCK_VERTEX_URL": vertex_mock[0], "MOCK_VERTEX_KEY_FILE": str(vertex_mock[1]),
           "MOCK_BEDROCK_URL": bedrock_mock}
    server = StackServer(storage, storage.new_state(), mock_backend.url, workdir / f"server-vendors-{storage.name}.log", env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def vendor_client(vendor_stack):
    return openai.OpenAI(base_url=f"{vendor_stack.url}/v1", api_key="none", timeout=CLIENT_TIMEOUT_S, max_retries=0)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------- the official clients


def azure_client(url: str, key: str = AZURE_KEY) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=url, api_key=key, api_version=AZURE_VERSION, max_retries=0, timeout=CLIENT_TIMEOUT_S)


def test_azure_openai_client_chats_streams_and_embeds(azure_mock):
    client = azure_client(azure_mock)
    answer = client.chat.completions.create(model="gpt-4o", messages=user("Say hello"))
    assert answer.choices[0].message.content
    assert answer.model_extra["prompt_filter_results"][0]["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    assert answer.choices[0].model_extra["content_filter_results"]["violence"]["severity"] == "safe"

    chunks = list(client.chat.completions.create(model="gpt-4o", messages=user("Say hello"), stream=True))
    assert chunks[0].choices == [] and chunks[0].id == ""
    assert "prompt_filter_results" in chunks[0].model_extra
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == answer.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"

    embedded = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(embedded.data) == 2 and len(embedded.data[0].embedding) == 1536

    # The v1 API, as 0.3.5 calls it: the plain OpenAI client under /openai/v1.
    v1 = openai.OpenAI(base_url=f"{azure_mock}/openai/v1", api_key=AZURE_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    assert v1.chat.completions.create(model="gpt-4o", messages=user("Say hello")).choices[0].message.content == answer.choices[0].message.content
    assert "text-embedding-3-small" in [m.id for m in v1.models.list()]


def test_azure_openai_client_reads_azure_errors(azure_mock):
    client = azure_client(azure_mock)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user(f"please {PROMPT_FILTER_TRIGGER}"))
    assert e.value.code == "content_filter" and e.value.param == "prompt"
    assert e.value.body["innererror"]["content_filter_result"]["violence"] == {"filtered": True, "severity": "high"}

    cut = client.chat.completions.create(model="gpt-4o", messages=user(COMPLETION_FILTER_TRIGGER))
    assert cut.choices[0].finish_reason == "content_filter"

    with pytest.raises(openai.AuthenticationError):
        azure_client(azure_mock, key="wrong").chat.completions.create(model="gpt-4o", messages=user("hi"))
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-deployment", messages=user("hi"))
    assert e.value.code == "DeploymentNotFound"
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="error-429", messages=user("hi"))
    assert e.value.response.headers["retry-after"] == "6"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user("x" * 20_000))
    assert e.value.code == "context_length_exceeded"
    bad_version = openai.AzureOpenAI(azure_endpoint=azure_mock, api_key=AZURE_KEY, api_version="someday", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="API version not supported"):
        bad_version.chat.completions.create(model="gpt-4o", messages=user("hi"))


def test_openai_client_against_the_ollama_mock(ollama_mock):
    client = openai.OpenAI(base_url=f"{ollama_mock}/v1", api_key="ollama", max_retries=0, timeout=CLIENT_TIMEOUT_S)
    assert {m.id for m in client.models.list()} == {"llama3.2:3b", "nomic-embed-text:latest"}
    answer = client.chat.completions.create(model="llama3.2:3b", messages=user("Say hello"))
    streamed = client.chat.completions.create(model="llama3.2:3b", messages=user("Say hello"), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == answer.choices[0].message.content
    assert len(client.embeddings.create(model="nomic-embed-text:latest", input="a").data[0].embedding) == 768
    tags = httpx.get(f"{ollama_mock}/api/tags").json()["models"]
    assert [t["name"] for t in tags] == ["llama3.2:3b", "nomic-embed-text:latest"]


# --------------------------------------------------------------------------- through the server


def test_chat_stream_and_embeddings_through_remote_azure(vendor_client):
    answer = vendor_client.chat.completions.create(model="azure/gpt-4o", messages=user("Say hello"))
    assert answer.model == "azure/gpt-4o" and answer.choices[0].message.content
    assert answer.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    chunks = list(vendor_client.chat.completions.create(model="azure/gpt-4o", messages=user("Say hello"), stream=True))
    assert "prompt_filter_results" in chunks[0].model_extra
    assert len({c.id for c in chunks}) == 1, [c.id for c in chunks]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    embedded = vendor_client.embeddings.create(model="azure/text-embedding-3-small", input="a")
    assert len(embedded.data[0].embedding) == 1536
    listed = {m.model_extra["identifier"]: m.model_extra for m in vendor_client.models.list()}  # 0.3.5's native shape
    assert listed["azure/gpt-4o"]["model_type"] == "llm"
    assert listed["azure/text-embedding-3-small"]["metadata"]["embedding_dimension"] == 1536


def test_remote_azure_errors_reach_the_client(vendor_client):
    with pytest.raises(openai.BadRequestError) as e:
        vendor_client.chat.completions.create(model="azure/gpt-4o", messages=user(f"please {PROMPT_FILTER_TRIGGER}"))
    assert e.value.code == "content_filter" and "violence (high)" in str(e.value)
    with pytest.raises(openai.RateLimitError, match="Retry-After: 6") as limited:
        vendor_client.chat.completions.create(model="azure/error-429", messages=user("hi"))
    assert limited.value.response.headers["retry-after"] == "6", "the server passes Azure's Retry-After on"
    with pytest.raises(openai.NotFoundError):
        vendor_client.chat.completions.create(model="azure/no-such-deployment", messages=user("hi"))


def test_chat_stream_and_embeddings_through_remote_ollama(vendor_client):
    answer = vendor_client.chat.completions.create(model="ollama/llama3.2:3b", messages=user("Say hello"))
    assert answer.model == "ollama/llama3.2:3b" and answer.choices[0].message.content
    chunks = list(vendor_client.chat.completions.create(model="ollama/llama3.2:3b", messages=user("Say hello"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert len(vendor_client.embeddings.create(model="ollama/nomic-embed-text:latest", input="a").data[0].embedding) == 768
    listed = {m.model_extra["identifier"]: m.model_extra for m in vendor_client.models.list()}
    assert listed["ollama/nomic-embed-text:latest"]["metadata"] == {"embedding_dimension": 768, "context_length": 8192}


def test_chat_tools_stream_and_embeddings_through_remote_watsonx(vendor_client):
    llm, embed = "watsonx/ibm/granite-3-3-8b-instruct", "watsonx/ibm/granite-embedding-278m-multilingual"
    answer = vendor_client.chat.completions.create(model=llm, messages=[{"role": "system", "content": "Be brief."}, *user("Say hello")])
    assert answer.model == llm and "Say hello" in answer.choices[0].message.content
    assert answer.usage.total_tokens > 0 and answer.choices[0].finish_reason == "stop"
    chunks = list(vendor_client.chat.completions.create(model=llm, messages=user("Say hello"), stream=True,
                                                        stream_options={"include_usage": True}))
    assert len({c.id for c in chunks}) == 1
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    called = vendor_client.chat.completions.create(model=llm, messages=user("Weather in Paris?"), tools=tools,
                                                   tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert called.choices[0].message.tool_calls[0].function.name == "get_weather"
    completion = vendor_client.completions.create(model=llm, prompt="The capital of France is", max_tokens=3)
    assert completion.choices[0].text and completion.choices[0].finish_reason == "length"
    embedded = vendor_client.embeddings.create(model=embed, input=["a", "b"])
    assert len(embedded.data) == 2 and len(embedded.data[0].embedding) == 768
    listed = {m.model_extra["identifier"]: m.model_extra for m in vendor_client.models.list()}
    assert listed[llm]["model_type"] == "llm"
    assert listed[embed]["metadata"] == {"embedding_dimension": 768, "context_length": 512}
    time.sleep(3.2)  # past the first IAM token's lifetime: the provider renews it
    assert vendor_client.chat.completions.create(model=llm, messages=user("Again")).choices[0].message.content


def test_remote_watsonx_errors_reach_the_client(vendor_client):
    with pytest.raises(openai.RateLimitError, match="Retry-After: 2") as limited:
        vendor_client.chat.completions.create(model="watsonx/error-429", messages=user("hi"))
    assert limited.value.response.headers["retry-after"] == "2", "the server passes watsonx's Retry-After on"
    with pytest.raises(openai.BadRequestError) as e:
        vendor_client.chat.completions.create(model="watsonx/ibm/granite-tiny-context", messages=user("word " * 40))
    assert e.value.code == "context_length_exceeded"
    with pytest.raises(openai.AuthenticationError):
        vendor_client.chat.completions.create(model="watsonx/ibm/granite-3-3-8b-instruct", messages=user("hi"),
                                              extra_headers={"X-LlamaStack-Provider-Data": '{"watsonx_api_key": "wrong"}'})


# --------------------------------------------------------------------------- Vertex AI

VERTEX_BASE = "/v1/projects/vertex-test-project/locations/us-central1/endpoints/openapi"


def test_openai_client_on_the_vertex_mock_with_a_metadata_server_token(vertex_mock):
    """Google's documented way: the openai client on Vertex AI's OpenAI-compatible path with an
    access token (here the metadata server's; google-auth's own flows are checked by
    scripts/vertex-mock-compat.sh)."""
    url, _ = vertex_mock
    token = httpx.get(f"{url}/computeMetadata/v1/instance/service-accounts/default/token", headers={"Metadata-Flavor": "Google"}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3
    client = openai.OpenAI(base_url=f"{url}{VERTEX_BASE}", api_key=token["access_token"], max_retries=0, timeout=CLIENT_TIMEOUT_S)
    answer = client.chat.completions.create(model="google/gemini-2.5-flash", messages=user("Say hello"))
    assert answer.choices[0].message.content
    with pytest.raises(openai.NotFoundError, match="Publisher Model"):
        client.chat.completions.create(model="google/gemini-9", messages=user("hi"))
    with pytest.raises(openai.AuthenticationError, match="UNAUTHENTICATED"):
        openai.OpenAI(base_url=f"{url}{VERTEX_BASE}", api_key="ya29.forged", max_retries=0).chat.completions.create(model="google/gemini-2.5-flash", messages=user("hi"))


def test_chat_and_stream_through_remote_vertexai(vendor_client):
    listed = {m.model_extra["identifier"]: m.model_extra for m in vendor_client.models.list()}  # 0.3.5's native shape
    assert listed["vertexai/google/gemini-2.5-flash"]["model_type"] == "llm", sorted(listed)
    answer = vendor_client.chat.completions.create(model="vertexai/google/gemini-2.5-flash", messages=user("Say hello"))
    assert answer.model == "vertexai/google/gemini-2.5-flash" and answer.choices[0].message.content
    chunks = list(vendor_client.chat.completions.create(model="vertexai/google/gemini-2.5-pro", messages=user("Say hello"), stream=True))
    assert any(c.choices and c.choices[0].delta.content for c in chunks)
    # The mock's tokens live 3 s: the provider renews its token and the call goes through.
    time.sleep(3.5)
    again = vendor_client.chat.completions.create(model="vertexai/google/gemini-2.0-flash", messages=user("Say hello"))
    assert again.choices[0].message.content


def test_remote_vertexai_errors_reach_the_client(vendor_client):
    with pytest.raises(openai.RateLimitError, match="RESOURCE_EXHAUSTED|Resource exhausted"):
        vendor_client.chat.completions.create(model="vertexai/error-429", messages=user("hi"))
    with pytest.raises(openai.BadRequestError, match="exceeds the maximum number of tokens"):
        vendor_client.chat.completions.create(model="vertexai/google/gemini-2.5-flash", messages=user("word " * 5000))
    with pytest.raises(openai.NotFoundError):
        vendor_client.chat.completions.create(model="vertexai/google/gemini-9", messages=user("hi"))
    with pytest.raises(openai.BadRequestError):
        vendor_client.embeddings.create(model="vertexai/google/gemini-2.5-flash", input="a")


# --------------------------------------------------------------------------- Amazon Bedrock

BEDROCK_LLM = "bedrock/meta.llama3-1-8b-instruct-v1:0"
# lls_testkit::bedrock_mock::default_models: id -> (model_type, embedding dimension)
BEDROCK_MODELS = {
    "meta.llama3-1-8b-instruct-v1:0": ("llm", None),
    "anthropic.claude-3-haiku-20240307-v1:0": ("llm", None),
    "mock.tiny-context-v1:0": ("llm", None),
    "amazon.titan-embed-text-v2:0": ("embedding", 1024),
    "amazon.titan-embed-text-v1": ("embedding", 1536),
    "cohere.embed-english-v3": ("embedding", 1024),
}
WEATHER_TOOL = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
                                                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                                  "required": ["city"]}}}]


def test_the_bedrock_mock_checks_sigv4(bedrock_mock):
    """The mock takes a standard SigV4 signature by its test keys and refuses others as AWS does
    (boto3 itself: scripts/bedrock-mock-compat.sh)."""
    listed = bedrock_get(f"{bedrock_mock}/foundation-models?byOutputModality=EMBEDDING")
    assert listed.status_code == 200, listed.text
    assert {m["modelId"] for m in listed.json()["modelSummaries"]} == {k for k, (t, _) in BEDROCK_MODELS.items() if t == "embedding"}
    wrong = bedrock_get(f"{bedrock_mock}/foundation-models", secret="not-the-secret")
    assert wrong.status_code == 403 and wrong.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    unknown = bedrock_get(f"{bedrock_mock}/foundation-models", key_id="AKIDUNKNOWN")
    assert unknown.status_code == 403 and unknown.headers["x-amzn-errortype"].startswith("UnrecognizedClientException")
    assert httpx.get(f"{bedrock_mock}/foundation-models").status_code == 403


def test_models_of_remote_bedrock_are_listed(vendor_client):
    listed = {m.model_extra["identifier"]: m.model_extra for m in vendor_client.models.list()}  # 0.3.5's native shape
    bedrock = {i: m for i, m in listed.items() if m["provider_id"] == "bedrock"}
    assert set(bedrock) == {f"bedrock/{k}" for k in BEDROCK_MODELS}, sorted(listed)
    for model_id, (model_type, dimension) in BEDROCK_MODELS.items():
        m = bedrock[f"bedrock/{model_id}"]
        assert m["model_type"] == model_type and m["provider_resource_id"] == model_id, m
        if dimension:
            assert m["metadata"]["embedding_dimension"] == dimension, m


def test_chat_stream_and_tools_through_remote_bedrock(vendor_client):
    answer = vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=[{"role": "system", "content": "Be brief."}, *user("Say hello")])
    assert answer.model == BEDROCK_LLM and "Say hello" in answer.choices[0].message.content
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens

    chunks = list(vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=[{"role": "system", "content": "Be brief."}, *user("Say hello")],
                                                        stream=True, stream_options={"include_usage": True}))
    assert len({c.id for c in chunks}) == 1 and all(c.model == BEDROCK_LLM for c in chunks)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed, not one piece
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (answer.usage.prompt_tokens, answer.usage.completion_tokens)

    short = vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=user("Tell me a long story about the sea"), max_tokens=2)
    assert short.choices[0].finish_reason == "length"

    # A tool call (Converse toolUse), its result sent back (toolResult), and the model's answer.
    choice = {"type": "function", "function": {"name": "get_weather"}}
    called = vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=user("Weather in Paris?"), tools=WEATHER_TOOL, tool_choice=choice)
    call = called.choices[0].message.tool_calls[0]
    assert called.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and call.id
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments, dict)
    streamed = list(vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=user("Weather in Paris?"), tools=WEATHER_TOOL,
                                                          tool_choice=choice, stream=True))
    deltas = [tc for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == arguments
    assert [c.choices[0].finish_reason for c in streamed if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    followed = vendor_client.chat.completions.create(model=BEDROCK_LLM, tools=WEATHER_TOOL, messages=[
        *user("Weather in Paris?"),
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function",
                                                                "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
    ])
    assert followed.choices[0].message.content and followed.choices[0].finish_reason == "stop"


def test_embeddings_through_remote_bedrock(vendor_client):
    titan = vendor_client.embeddings.create(model="bedrock/amazon.titan-embed-text-v2:0", input=["first text", "second text"])
    assert titan.model == "bedrock/amazon.titan-embed-text-v2:0"
    assert [d.index for d in titan.data] == [0, 1] and [len(d.embedding) for d in titan.data] == [1024, 1024]
    assert titan.data[0].embedding != titan.data[1].embedding and titan.usage.prompt_tokens > 0
    again = vendor_client.embeddings.create(model="bedrock/amazon.titan-embed-text-v2:0", input="first text")
    assert again.data[0].embedding == titan.data[0].embedding  # deterministic, one text a call
    small = vendor_client.embeddings.create(model="bedrock/amazon.titan-embed-text-v2:0", input="first text", dimensions=256)
    assert len(small.data[0].embedding) == 256
    assert len(vendor_client.embeddings.create(model="bedrock/amazon.titan-embed-text-v1", input="a").data[0].embedding) == 1536
    cohere = vendor_client.embeddings.create(model="bedrock/cohere.embed-english-v3", input=["a", "b", "c"])
    assert [len(d.embedding) for d in cohere.data] == [1024, 1024, 1024]
    with pytest.raises(openai.BadRequestError):
        vendor_client.embeddings.create(model="bedrock/amazon.titan-embed-text-v2:0", input="a", dimensions=300)


def test_remote_bedrock_errors_reach_the_client(vendor_client):
    with pytest.raises(openai.RateLimitError, match="ThrottlingException"):
        vendor_client.chat.completions.create(model="bedrock/error-429", messages=user("hi"))
    with pytest.raises(openai.NotFoundError):
        vendor_client.chat.completions.create(model="bedrock/meta.llama9-no-such-model-v1:0", messages=user("hi"))
    with pytest.raises(openai.BadRequestError) as e:
        vendor_client.chat.completions.create(model="bedrock/mock.tiny-context-v1:0", messages=user("word " * 40))
    assert e.value.code == "context_length_exceeded", e.value.body
    with pytest.raises(openai.BadRequestError):
        vendor_client.embeddings.create(model=BEDROCK_LLM, input="a")
    with pytest.raises(openai.APIError, match="modelStreamErrorException"):
        list(vendor_client.chat.completions.create(model="bedrock/midstream-error", messages=user("Say hello"), stream=True))
    # Keys in the caller's provider data are the caller's: refused keys are the caller's 401.
    with pytest.raises(openai.AuthenticationError):
        vendor_client.chat.completions.create(model=BEDROCK_LLM, messages=user("hi"), extra_headers={
            "X-LlamaStack-Provider-Data": json.dumps({"aws_access_key_id": "AKIDUNKNOWN", "aws_secret_access_key": "nope"})})
