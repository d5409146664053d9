"""The browser pages in a real headless Chromium (Debian's `chromium`, driven by Playwright):
`/playground` chats with a streamed answer and shows tool calls, uploads a file into a vector
store and sees it indexed and found, runs a Responses call with file_search, lists stores,
files and stored completions, shows API errors readably and works with `server.auth` on;
`/docs` renders the OpenAPI document's operations. No page may request another origin, and no
page may log an error to the console. Screenshots go to
$CARGO_TARGET_DIR/test-logs/playground/ (CARGO_TARGET_DIR defaults to
~/.cache/llama-stack-rs/target)."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from conftest import CLIENT_TIMEOUT_S

CHROMIUM = os.environ.get("LLS_CHROMIUM", "/usr/bin/chromium")
LLM = "mock/mock-llm"
TIMEOUT_MS = 60_000

VOLCANOES = (
    "Volcanoes form where magma from the Earth's mantle reaches the surface. "
    "Eruptions release lava, ash and gases such as sulfur dioxide."
)


def shots_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/llama-stack-rs/target")
    path = Path(target) / "test-logs" / "playground"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run scripts/install-deps.sh (apt-get install chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # As root Chromium refuses to start with its sandbox on; containers often have a small /dev/shm.
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


class Page:
    """A browser tab on one server that records every request it makes and every console
    error; `check()` fails the test on a request to another origin or on a console error."""

    def __init__(self, browser, base_url: str, name: str):
        self.base_url = base_url
        self.name = name
        self.context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def shot(self, what: str, full_page: bool = True) -> Path:
        path = shots_dir() / f"{self.name}-{what}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def check(self, expected_errors: tuple[str, ...] = ()) -> None:
        foreign = [u for u in self.requests if not (u.startswith(self.base_url + "/") or u.startswith("data:"))]
        assert not foreign, f"requests to other origins: {foreign}"
        unexpected = [e for e in self.console_errors if not any(x in e for x in expected_errors)]
        assert not unexpected, f"console errors: {unexpected}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, stack, storage, request):
    t = Page(browser, stack.url, f"{request.node.name.split('[')[0]}-{storage.name}")
    yield t
    t.close()


def open_playground(t: Page) -> None:
    t.page.goto("/playground")
    t.page.wait_for_selector("body[data-ready=true]")
    assert t.page.is_hidden("#error"), t.page.inner_text("#error")


def deterministic_answer(url: str, messages: list[dict]) -> str:
    r = httpx.post(f"{url}/v1/chat/completions", json={"model": LLM, "messages": messages}, timeout=CLIENT_TIMEOUT_S)
    r.raise_for_status()
    return r.json()["choices"][0]["message"]["content"]


# --------------------------------------------------------------------------- chat


def test_chat_streams_the_answer_and_shows_tool_calls(tab, stack):
    page = tab.page
    open_playground(tab)
    llms = page.eval_on_selector_all("#chat-model option", "os => os.map(o => o.value)")
    assert LLM in llms, llms
    page.select_option("#chat-model", LLM)

    with page.expect_response(lambda r: r.url.endswith("/v1/chat/completions") and r.request.method == "POST") as sent:
        page.fill("#chat-input", "Tell me about the ocean")
        page.press("#chat-input", "Enter")
    assert sent.value.request.post_data_json["stream"] is True
    assert sent.value.headers["content-type"].startswith("text/event-stream")
    answer = page.locator(".msg.assistant").last
    page.wait_for_selector(".msg.assistant:not(.pending)")
    want = deterministic_answer(stack.url, [{"role": "user", "content": "Tell me about the ocean"}])
    assert answer.locator(".content").inner_text() == want
    assert answer.get_attribute("data-finish") == "stop"

    # Offered the example tool, the model calls it; the call is shown with its arguments.
    page.check("#chat-tools-on")
    page.fill("#chat-input", "What is the weather in Paris?")
    page.press("#chat-input", "Enter")
    call = page.wait_for_selector(".tool-call[data-tool=get_weather]")
    assert re.search(r"get_weather\(\{.*\"city\"", call.inner_text()), call.inner_text()
    assert page.locator(".msg.assistant").last.get_attribute("data-finish") == "tool_calls"

    # Answering as the tool sends the result back; the model answers from it.
    page.fill(".tool-call input", '{"forecast": "sunny"}')
    page.click(".tool-call button")
    page.wait_for_selector(".msg.tool")
    expect(page.locator(".msg.assistant")).to_have_count(3, timeout=TIMEOUT_MS)
    page.wait_for_selector(".msg.pending", state="detached")
    assert page.is_hidden("#error"), page.inner_text("#error")
    assert page.locator(".msg.assistant").last.locator(".content").inner_text()
    path = tab.shot("chat")
    assert path.stat().st_size > 10_000

    # The stored completions are listed under Browse.
    page.click("[data-tab=browse]")
    row = page.wait_for_selector("#browse-completions tr:has-text('Tell me about the ocean')")
    assert LLM in row.inner_text()
    tab.shot("browse")
    tab.check()


def test_errors_are_shown_readably(tab):
    page = tab.page
    open_playground(tab)
    page.eval_on_selector("#chat-model", "s => s.append(new Option('no-such-model', 'no-such-model', true, true))")
    page.fill("#chat-input", "hello")
    page.press("#chat-input", "Enter")
    banner = page.wait_for_selector("#error:not([hidden])")
    text = banner.inner_text()
    assert "POST /v1/chat/completions: 4" in text and "no-such-model" in text, text
    assert "{" not in text, f"raw JSON in the banner: {text}"
    assert "no-such-model" in page.inner_text(".msg.assistant.failed .failure")
    tab.shot("error")

    # A stream that fails after its first chunks ends with an error event: shown the same way.
    page.click("#error-close")
    page.eval_on_selector("#chat-model", "s => s.append(new Option('mock/midstream-error', 'mock/midstream-error', true, true))")
    page.fill("#chat-input", "hello again")
    page.press("#chat-input", "Enter")
    text = page.wait_for_selector("#error:not([hidden])").inner_text()
    assert "the stream failed" in text and "{" not in text, text
    assert page.locator(".msg.assistant.failed").count() == 2  # this one and the unknown model's
    # The browser logs the failed request itself; nothing else may be logged.
    tab.check(expected_errors=("Failed to load resource",))


# --------------------------------------------------------------------------- vector stores, Responses


def test_upload_index_search_and_file_search(tab, tmp_path):
    page = tab.page
    open_playground(tab)
    page.click("[data-tab=stores]")
    name = f"pg-{uuid.uuid4().hex[:6]}"
    page.fill("#store-name", name)
    page.click("#store-create button[type=submit]")
    page.wait_for_selector(f"#store-list li.selected:has-text('{name}')")

    doc = tmp_path / "volcanoes.txt"
    doc.write_text(VOLCANOES)
    page.set_input_files("#store-file", str(doc))
    page.click("#store-upload button[type=submit]")
    row = page.wait_for_selector("#store-files tr[data-status=completed]")
    assert row.get_attribute("data-file").startswith("file-")
    assert "volcanoes.txt" in row.inner_text(), row.inner_text()
    assert page.is_hidden("#error"), page.inner_text("#error")

    page.fill("#store-query", "Which mountains erupt molten rock?")
    page.click("#store-search button[type=submit]")
    hit = page.wait_for_selector("#search-results .hit")
    assert "volcanoes.txt" in hit.inner_text() and "magma" in hit.inner_text(), hit.inner_text()
    tab.shot("vector-store")

    page.click("[data-tab=responses]")
    page.select_option("#resp-model", LLM)
    page.check(f"#resp-stores label:has-text('{name}') input")
    page.fill("#resp-input", "How do volcanoes form?")
    page.click("#resp-run")
    search = page.wait_for_selector("#resp-output .tool-call[data-tool=file_search]")
    assert "volcanoes.txt" in search.inner_text(), search.inner_text()
    answer = page.wait_for_selector("#resp-output .msg.assistant .content")
    assert answer.inner_text().strip()
    assert page.is_hidden("#error"), page.inner_text("#error")
    tab.shot("responses")
    plain = answer.inner_text()

    # The same call streamed: the answer arrives as events and ends rendered the same way.
    page.check("#resp-stream")
    with page.expect_response(lambda r: r.url.endswith("/v1/responses") and r.request.method == "POST") as sent:
        page.click("#resp-run")
    assert sent.value.request.post_data_json["stream"] is True
    assert sent.value.headers["content-type"].startswith("text/event-stream")
    page.wait_for_selector("#resp-output .raw")
    assert "volcanoes.txt" in page.inner_text("#resp-output .tool-call[data-tool=file_search]")
    assert page.inner_text("#resp-output .msg.assistant .content") == plain
    assert page.is_hidden("#error"), page.inner_text("#error")

    page.click("[data-tab=browse]")
    page.wait_for_selector(f"#browse-stores tr:has-text('{name}')")
    assert "1 / 0 / 0" in page.inner_text(f"#browse-stores tr:has-text('{name}')")
    page.wait_for_selector("#browse-files tr:has-text('volcanoes.txt')")
    tab.check()


# --------------------------------------------------------------------------- docs


def test_docs_render_the_operations(tab):
    page = tab.page
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    paths = page.eval_on_selector_all(".opblock-summary-path", "ps => ps.map(p => p.getAttribute('data-path'))")
    for path in ["/v1/chat/completions", "/v1/models", "/v1/vector_stores/{vector_store_id}/search", "/v1/responses"]:
        assert path in paths, f"{path} not rendered (got {len(paths)} operations)"
    assert "/docs" not in paths and "/playground" not in paths
    # An operation opens, and "Try it out" calls this server.
    page.click(".opblock-summary-path[data-path='/v1/health']")
    page.click("button.try-out__btn")
    with page.expect_response(lambda r: r.url == f"{tab.base_url}/v1/health") as health:
        page.click("button.execute")
    assert health.value.status == 200
    tab.shot("docs", full_page=False)
    tab.check()


# --------------------------------------------------------------------------- server.auth on


def test_pages_work_with_auth_on(browser, issuer, start_auth_stack, storage):
    server = start_auth_stack(issuer)
    t = Page(browser, server.url, f"auth-{storage.name}")
    try:
        page = t.page
        page.goto("/playground")
        page.wait_for_selector("body[data-ready=true]")
        banner = page.inner_text("#error")
        assert "GET /v1/models: 401" in banner and "bearer token" in banner, banner
        page.fill("#token", issuer.mint(sub=f"pg-{uuid.uuid4().hex[:6]}"))
        page.click("#token-form button")
        page.wait_for_selector(f"#chat-model option[value='{LLM}']", state="attached")
        assert page.is_hidden("#error"), page.inner_text("#error")
        page.select_option("#chat-model", LLM)
        page.fill("#chat-input", "hello with a token")
        page.press("#chat-input", "Enter")
        page.wait_for_selector(".msg.assistant:not(.pending) .content:not(:empty)")
        assert page.is_hidden("#error"), page.inner_text("#error")

        # The token stays with the tab: /docs reads it and loads the document.
        page.goto("/docs")
        page.wait_for_selector(".opblock")
        assert page.is_hidden("#load-error")
        t.shot("docs", full_page=False)
        t.check(expected_errors=("Failed to load resource",))
    finally:
        t.close()

    # Without a token /docs says why it cannot show the document.
    t = Page(browser, server.url, f"auth-anonymous-{storage.name}")
    try:
        t.page.goto("/docs")
        message = t.page.wait_for_selector("#load-error:not([hidden])").inner_text()
        assert "401" in message and "bearer token" in message, message
    finally:
        t.close()
