"""schemathesis hooks for scripts/schemathesis.sh: pins the `model` of inference requests to
models the e2e setup serves, so generated requests reach the providers instead of stopping at
"model not found" (other fields are still generated from the document)."""

import schemathesis

# Served by tests/e2e/run.yaml (the mock backend behind `mock` and `vllm`).
CHAT_MODELS = ["mock/mock-llm", "vllm/mock-llm"]
EMBEDDING_MODELS = ["mock/mock-embed"]


@schemathesis.hook
def before_load_schema(context, raw_schema):
    schemas = raw_schema.get("components", {}).get("schemas", {})
    for name, models in [
        ("ChatCompletionRequest", CHAT_MODELS),
        ("CompletionRequest", CHAT_MODELS),
        ("EmbeddingsRequest", EMBEDDING_MODELS),
    ]:
        if name in schemas:
            schemas[name]["properties"]["model"] = {"type": "string", "enum": models}
