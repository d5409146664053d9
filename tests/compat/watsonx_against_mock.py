"""The official `ibm-watsonx-ai` SDK against the test kit's watsonx.ai + IAM mock (`lls-mock-watsonx`).

Run by scripts/watsonx-mock-compat.sh:  python watsonx_against_mock.py MOCK_URL API_KEY PROJECT_ID

The SDK only talks to IBM Cloud hosts over https (it refuses other URLs, and picks the IAM
endpoint from the region URL), so the client is given IBM's real Dallas URL and an httpx
transport that sends every request to the mock instead, as a hosts-file entry would: the SDK
builds every URL, header, query and body itself. `scope_validation=False` skips the one call
that is not watsonx.ai's (the Cloud Pak / dataplatform projects API the SDK uses to look up a
project's storage type). The mock runs with a 2-second token lifetime, so the SDK, which reads
`exp` from the token, exchanges its API key again before calls, and an old token is refused.
"""

import sys
import time

import httpx
from ibm_watsonx_ai import APIClient, Credentials
from ibm_watsonx_ai.foundation_models import Embeddings, ModelInference
from ibm_watsonx_ai.wml_client_error import ApiRequestFailure, WMLClientError

MOCK, KEY, PROJECT = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
REGION = "https://us-south.ml.cloud.ibm.com"
CHAT_MODEL = "ibm/granite-3-3-8b-instruct"
EMBED_MODEL = "ibm/granite-embedding-278m-multilingual"
seen_hosts = set()


def to_mock(request: httpx.Request) -> None:
    seen_hosts.add(request.url.host)
    target = httpx.URL(MOCK)
    request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
    request.headers["host"] = f"{target.host}:{target.port}"


class ToMock(httpx.HTTPTransport):
    def handle_request(self, request):
        to_mock(request)
        return super().handle_request(request)


class AsyncToMock(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request):
        to_mock(request)
        return await super().handle_async_request(request)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


client = APIClient(
    Credentials(url=REGION, api_key=KEY),
    project_id=PROJECT,
    httpx_client=httpx.Client(transport=ToMock(), timeout=30),
    async_httpx_client=httpx.AsyncClient(transport=AsyncToMock(), timeout=30),
    scope_validation=False,
)
check("iam.cloud.ibm.com" in seen_hosts, "the SDK exchanged its API key at IAM (iam.cloud.ibm.com, answered by the mock)")
first_token = client.token
check(first_token.count(".") == 2, "IAM answered a JWT-shaped token the SDK could read")

specs = client.foundation_models.get_model_specs()
ids = [s["model_id"] for s in specs["resources"]]
check(CHAT_MODEL in ids and EMBED_MODEL in ids, f"foundation_model_specs lists the models: {ids}")
embed_spec = client.foundation_models.get_model_specs(model_id=EMBED_MODEL)
check(embed_spec["model_limits"]["embedding_dimension"] == 768, "an embedding model's spec carries its dimension")

model = ModelInference(model_id=CHAT_MODEL, api_client=client)  # validates the id against the specs
answer = model.chat(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello to watsonx."}],
                    params={"max_tokens": 64, "temperature": 0})
message = answer["choices"][0]["message"]
check(message["role"] == "assistant" and "hello to watsonx" in message["content"], f"chat answers: {message['content']!r}")
check(answer["choices"][0]["finish_reason"] == "stop" and answer["usage"]["total_tokens"] > 0, "chat has a finish reason and usage")

tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
called = model.chat(messages=[{"role": "user", "content": "What is the weather in Paris?"}], tools=tools,
                    tool_choice={"type": "function", "function": {"name": "get_weather"}})
call = called["choices"][0]["message"]["tool_calls"][0]
check(call["function"]["name"] == "get_weather" and call["id"], "chat with a named tool_choice calls the tool")
result = model.chat(messages=[{"role": "user", "content": "What is the weather in Paris?"},
                              {"role": "assistant", "tool_calls": [call]},
                              {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}], tools=tools, tool_choice_option="auto")
check("sunny" in result["choices"][0]["message"]["content"], "a tool message's result reaches the model")

chunks = list(model.chat_stream(messages=[{"role": "user", "content": "Stream a greeting."}], params={"max_tokens": 64}))
text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
check(len(chunks) > 2 and "Stream a greeting" in text, f"chat_stream yields chunks that add up: {text!r}")
check(chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["usage"]["total_tokens"] > 0,
      "the last chat_stream chunk has the finish reason and usage")

generated = model.generate_text(prompt="The capital of France is", params={"max_new_tokens": 5})
check(isinstance(generated, str) and generated, f"generate_text answers: {generated!r}")
pieces = list(model.generate_text_stream(prompt="The capital of France is", params={"max_new_tokens": 5}))
check(len(pieces) > 1 and "".join(pieces) == generated, "generate_text_stream's pieces add up to generate_text's answer")

embeddings = Embeddings(model_id=EMBED_MODEL, api_client=client)
vectors = embeddings.embed_documents(texts=["the quick brown fox", "jumps over the lazy dog"])
check(len(vectors) == 2 and all(len(v) == 768 for v in vectors), "embed_documents gives one 768-long vector per text")
check(embeddings.embed_query("the quick brown fox") == vectors[0], "embeddings are deterministic")

time.sleep(2.2)  # past the first token's lifetime
again = model.chat(messages=[{"role": "user", "content": "Still there?"}])
check("Still there?" in again["choices"][0]["message"]["content"], "a call after the first token expired succeeds")
check(client.token != first_token, "the SDK exchanged its key again for a fresh token")
stale = httpx.post(f"{MOCK}/ml/v1/text/chat", params={"version": "2025-02-11"}, headers={"Authorization": f"Bearer {first_token}"},
                   json={"model_id": CHAT_MODEL, "project_id": PROJECT, "messages": [{"role": "user", "content": "x"}]})
check(stale.status_code == 401 and stale.json()["errors"][0]["code"] == "authentication_token_expired", "the mock refuses the expired token")

unchecked = ModelInference(model_id="error-429", api_client=client, validate=False, max_retries=0)
try:
    unchecked.chat(messages=[{"role": "user", "content": "x"}])
    raise AssertionError("error-429 succeeded")
except (ApiRequestFailure, WMLClientError) as e:
    check("429" in str(e) and "too_many_requests" in str(e), "an injected 429 reaches the SDK in watsonx's error shape")
try:
    ModelInference(model_id="no/such-model", api_client=client)
    raise AssertionError("an unknown model passed the SDK's check")
except WMLClientError as e:
    check("not supported" in str(e), "the SDK refuses a model the specs do not list")
broken = ModelInference(model_id="midstream-error", api_client=client, validate=False)
got = []
try:
    for c in broken.chat_stream(messages=[{"role": "user", "content": "Tell me a story."}]):
        got.append(c)
    raise AssertionError("midstream-error streamed to the end")
except WMLClientError as e:
    check(len(got) == 2 and "Error event" in str(e), "an error event mid-stream reaches the SDK after two chunks")
try:
    APIClient(Credentials(url=REGION, api_key="wrong-key"), project_id=PROJECT,
              httpx_client=httpx.Client(transport=ToMock()), scope_validation=False)
    raise AssertionError("a wrong API key was accepted")
except WMLClientError as e:
    check("BXNIM0415E" in str(e) or "could not be found" in str(e), "IAM refuses an unknown API key")
print("watsonx compat: all checks passed")
