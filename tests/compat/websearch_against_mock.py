"""The test kit's web search mock (`lls-mock-websearch`) against the official Tavily client and
0.3.5's own result cleaning. Run by scripts/websearch-mock-compat.sh with the mock's URL and key.

1. `tavily-python`'s `TavilyClient` (bearer key) searches the mock, honours `max_results`, and
   reads a wrong key's 401 body as `InvalidAPIKeyError`, as it does Tavily's.
2. 0.3.5's `_clean_tavily_response` / `_clean_brave_response` (copied below from
   llama_stack/providers/remote/tool_runtime/{tavily,brave}_search at v0.3.5) applied to the
   mock's answers give exactly the texts the Rust providers' tests expect.
"""

import json
import sys

import httpx
from tavily import TavilyClient
from tavily.errors import InvalidAPIKeyError

URL, KEY = sys.argv[1], sys.argv[2]


# --- 0.3.5, verbatim (TavilySearchToolRuntimeImpl / BraveSearchToolRuntimeImpl) -------------
def _clean_tavily_response(search_response, top_k=3):
    return {"query": search_response["query"], "top_k": search_response["results"]}


def _clean_brave_response(search_response, max_results=3):
    clean_response = []
    if "mixed" in search_response:
        mixed_results = search_response["mixed"]
        for m in mixed_results["main"][:max_results]:
            r_type = m["type"]
            results = search_response[r_type]["results"]
            cleaned = _clean_result_by_type(r_type, results, m.get("index"))
            clean_response.append(cleaned)
    return clean_response


def _clean_result_by_type(r_type, results, idx=None):
    type_cleaners = {
        "web": (["type", "title", "url", "description", "date", "extra_snippets"], lambda x: x[idx]),
        "faq": (["type", "question", "answer", "title", "url"], lambda x: x),
        "infobox": (["type", "title", "url", "description", "long_desc"], lambda x: x[idx]),
        "videos": (["type", "url", "title", "description", "date"], lambda x: x),
        "locations": (
            ["type", "title", "url", "description", "coordinates", "postal_address", "contact", "rating", "distance", "zoom_level"],
            lambda x: x,
        ),
        "news": (["type", "title", "url", "description"], lambda x: x),
    }
    if r_type not in type_cleaners:
        return ""
    selected_keys, result_selector = type_cleaners[r_type]
    results = result_selector(results)
    if isinstance(results, list):
        cleaned = [{k: v for k, v in item.items() if k in selected_keys} for item in results]
    else:
        cleaned = {k: v for k, v in results.items() if k in selected_keys}
    return str(cleaned)


# --- 1. the official Tavily client ---------------------------------------------------------
client = TavilyClient(api_key=KEY, api_base_url=URL)
answer = client.search("rust", max_results=2)
assert answer["query"] == "rust", answer
assert [r["title"] for r in answer["results"]] == ["rust: result 1", "rust: result 2"], answer
try:
    TavilyClient(api_key="tvly-wrong", api_base_url=URL).search("rust")
    raise AssertionError("a wrong key was accepted")
except InvalidAPIKeyError as e:
    assert "Unauthorized: missing or invalid API key." in str(e), e
print("ok: tavily-python searches the mock and reads its 401")

# --- 2. 0.3.5's result texts ---------------------------------------------------------------
# What remote-tavily-search sends (0.3.5 sent no max_results; the text shape is the same).
tavily = httpx.post(f"{URL}/search", json={"api_key": KEY, "query": "rust", "max_results": 3}).json()
text = json.dumps(_clean_tavily_response(tavily))
# providers/tool-runtime/remote-tavily-search/tests/search.rs expects exactly this text.
want = (
    '{"query": "rust", "top_k": ['
    + ", ".join(
        f'{{"title": "rust: result {i}", "url": "https://example.com/rust/{i}", '
        f'"content": "Result {i} of the web search for \\"rust\\".", "score": {s}, "raw_content": null}}'
        for i, s in [(1, 0.99), (2, 0.95), (3, 0.91)]
    )
    + "]}"
)
assert text == want, (text, want)

brave = httpx.get(f"{URL}/res/v1/web/search", params={"q": "rust lang"}, headers={"X-Subscription-Token": KEY}).json()
lines = "\n".join([str(r) for r in _clean_brave_response(brave)]).split("\n")
# providers/tool-runtime/remote-brave-search/tests/search.rs expects exactly this first line.
want = (
    "{'title': 'rust lang: result 1', 'url': 'https://example.com/rust-lang/1', "
    "'description': 'Result 1 of the web search for \"rust lang\".', 'type': 'search_result', "
    "'extra_snippets': ['More about rust lang, part 1.']}"
)
assert len(lines) == 3 and lines[0] == want, lines
bad = httpx.get(f"{URL}/res/v1/web/search", params={"q": "x"}, headers={"X-Subscription-Token": "wrong"})
assert bad.status_code == 401 and bad.json()["error"]["code"] == "SUBSCRIPTION_TOKEN_INVALID", bad.text
print("ok: 0.3.5's cleaning of the mock's answers gives the texts the providers answer")
