"""AWS's official boto3 against the test kit's Amazon Bedrock mock (`lls-mock-bedrock`).

Run by scripts/bedrock-mock-compat.sh:  python bedrock_against_mock.py MOCK_URL ACCESS_KEY_ID SECRET

boto3 builds, signs (SigV4, service `bedrock`, region us-west-2) and parses everything itself;
`endpoint_url` points both clients at the mock, which recomputes every signature. Retries are
off so that a throttled call shows the mock's own answer.
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MOCK, KEY_ID, SECRET = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
REGION = "us-west-2"
LLM = "meta.llama3-1-8b-instruct-v1:0"
CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(service, key_id=KEY_ID, secret=SECRET):
    return boto3.client(service, region_name=REGION, endpoint_url=MOCK, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=CONFIG)


def refused(call, code):
    try:
        call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
        return e.response
    raise AssertionError(f"expected {code}")


runtime = client("bedrock-runtime")
hello = [{"role": "user", "content": [{"text": "Say hello to boto3"}]}]

answer = runtime.converse(modelId=LLM, messages=hello, system=[{"text": "Be brief."}],
                          inferenceConfig={"maxTokens": 64, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]})
text = answer["output"]["message"]["content"][0]["text"]
assert "boto3" in text, answer
assert answer["stopReason"] == "end_turn", answer
assert answer["usage"]["totalTokens"] == answer["usage"]["inputTokens"] + answer["usage"]["outputTokens"]

tools = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                                 "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}],
         "toolChoice": {"tool": {"name": "get_weather"}}}
weather = [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]
called = runtime.converse(modelId=LLM, messages=weather, toolConfig=tools)
use = called["output"]["message"]["content"][0]["toolUse"]
assert called["stopReason"] == "tool_use" and use["name"] == "get_weather" and isinstance(use["input"], dict), called
followup = weather + [called["output"]["message"],
                      {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "sunny"}]}}]}]
done = runtime.converse(modelId=LLM, messages=followup, toolConfig={"tools": tools["tools"]})
assert "sunny" in done["output"]["message"]["content"][0]["text"], done

events = list(runtime.converse_stream(modelId=LLM, messages=hello)["stream"])
kinds = [next(iter(e)) for e in events]
assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"], kinds
streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
assert streamed == text, (streamed, text)
assert events[-1]["metadata"]["usage"]["outputTokens"] > 0

tool_events = list(runtime.converse_stream(modelId=LLM, messages=weather, toolConfig=tools)["stream"])
start = next(e["contentBlockStart"]["start"]["toolUse"] for e in tool_events if "contentBlockStart" in e)
arguments = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in tool_events if "contentBlockDelta" in e)
assert start["name"] == "get_weather" and isinstance(json.loads(arguments), dict), tool_events

broken = runtime.converse_stream(modelId="midstream-error", messages=hello)["stream"]
try:
    list(broken)
    raise AssertionError("midstream-error did not fail")
except ClientError as e:
    assert e.response["Error"]["Code"] == "modelStreamErrorException", e.response

titan = runtime.invoke_model(modelId="amazon.titan-embed-text-v2:0", contentType="application/json", accept="application/json",
                             body=json.dumps({"inputText": "hello", "dimensions": 256}))
vector = json.loads(titan["body"].read())
assert len(vector["embedding"]) == 256 and vector["inputTextTokenCount"] > 0, vector
cohere = runtime.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps({"texts": ["a", "b c"], "input_type": "search_document"}))
assert len(json.loads(cohere["body"].read())["embeddings"]) == 2

refused(lambda: runtime.converse(modelId="error-429", messages=hello), "ThrottlingException")
refused(lambda: runtime.converse(modelId="no.such-model-v1:0", messages=hello), "ValidationException")
overflow = refused(lambda: runtime.converse(modelId="mock.tiny-context-v1:0", messages=[{"role": "user", "content": [{"text": "word " * 40}]}]),
                   "ValidationException")
assert "too long" in overflow["Error"]["Message"], overflow
refused(lambda: client("bedrock-runtime", secret="wrong").converse(modelId=LLM, messages=hello), "InvalidSignatureException")
refused(lambda: client("bedrock-runtime", key_id="AKIDNOBODY").converse(modelId=LLM, messages=hello), "UnrecognizedClientException")
# A signature scoped to another region is refused as AWS refuses it.
refused(lambda: boto3.client("bedrock", region_name="eu-west-1", endpoint_url=MOCK, aws_access_key_id=KEY_ID,
                     aws_secret_access_key=SECRET, config=CONFIG).list_foundation_models(), "InvalidSignatureException")

control = client("bedrock")
summaries = control.list_foundation_models()["modelSummaries"]
assert {"meta.llama3-1-8b-instruct-v1:0", "amazon.titan-embed-text-v2:0"} <= {s["modelId"] for s in summaries}, summaries
embedders = control.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
assert embedders and all(s["outputModalities"] == ["EMBEDDING"] for s in embedders), embedders

print("bedrock compat: boto3 " + boto3.__version__ + " against the mock: all checks passed")
