// The playground's pages: chat (streamed, with tool calls), vector stores (upload, index,
// search), a Responses call with file_search, and lists of stores, files and stored chat
// completions. Everything goes through api.js; every failure lands in the error banner.

import { ApiError, call, setToken, stream, token, upload } from "./api.js";

const $ = (id) => document.getElementById(id);

const EXAMPLE_TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The current weather in a city.",
      parameters: {
        type: "object",
        properties: { city: { type: "string", description: "City name" } },
        required: ["city"],
      },
    },
  },
];

// ------------------------------------------------------------------ small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) node.append(child);
  return node;
}

function showError(e) {
  if (e && e.name === "AbortError") return;
  $("error-text").textContent = e instanceof ApiError ? e.message : String(e && e.message ? e.message : e);
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
}

// Runs an action, reporting its failure and disabling `button` meanwhile.
async function guarded(button, action) {
  clearError();
  if (button) button.disabled = true;
  try {
    await action();
  } catch (e) {
    showError(e);
  } finally {
    if (button) button.disabled = false;
  }
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

function jsonDetails(label, value) {
  return el("details", { class: "raw" }, el("summary", { text: label }), el("pre", { text: JSON.stringify(value, null, 2) }));
}

// ------------------------------------------------------------------ models

let models = [];

function modelId(m) {
  return m.identifier || m.id;
}

async function loadModels() {
  const page = await call("GET", "/v1/models");
  models = page.data || [];
  const fill = (cls, type, optional) => {
    for (const select of document.querySelectorAll(cls)) {
      const previous = select.value;
      select.replaceChildren();
      if (optional) select.append(el("option", { value: "", text: "default embedding model" }));
      for (const m of models.filter((m) => m.model_type === type)) {
        select.append(el("option", { value: modelId(m), text: modelId(m) }));
      }
      if (previous) select.value = previous;
    }
  };
  fill(".llm-models", "llm", false);
  fill(".embedding-models", "embedding", true);
}

// ------------------------------------------------------------------ chat

let history = [];
let controller = null;

function chatBubble(role) {
  const body = el("div", { class: "content" });
  const node = el("div", { class: `msg ${role}`, "data-role": role }, el("div", { class: "who", text: role }), body);
  $("chat-log").append(node);
  return { node, body };
}

function scrollChat() {
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
}

function renderToolCalls(bubble, calls) {
  for (const tc of calls) {
    const args = tc.function.arguments || "";
    const box = el("div", { class: "tool-call", "data-tool": tc.function.name });
    box.append(el("div", { text: `tool call ${tc.function.name}(${args})` }));
    const input = el("input", { placeholder: `result of ${tc.function.name} (as the tool)` });
    const reply = el("button", { type: "button", text: "Send result" });
    reply.addEventListener("click", () => {
      history.push({ role: "tool", tool_call_id: tc.id, content: input.value || "{}" });
      const shown = chatBubble("tool");
      shown.body.textContent = input.value || "{}";
      box.querySelectorAll("input,button").forEach((n) => (n.disabled = true));
      complete();
    });
    box.append(el("div", { class: "row" }, input, reply));
    bubble.node.append(box);
  }
}

function chatRequest() {
  const messages = [];
  const system = $("chat-system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...history);
  const request = { model: $("chat-model").value, messages };
  if ($("chat-tools-on").checked) {
    request.tools = JSON.parse($("chat-tools").value || "[]");
  }
  return request;
}

// One assistant turn over the history so far; streamed or not.
async function complete() {
  clearError();
  let request;
  try {
    request = chatRequest();
  } catch (e) {
    showError(`Tools are not valid JSON: ${e.message}`);
    return;
  }
  if (!request.model) {
    showError("No llm model: this server lists none in /v1/models.");
    return;
  }
  const bubble = chatBubble("assistant");
  bubble.node.classList.add("pending");
  controller = new AbortController();
  $("chat-send").disabled = true;
  $("chat-stop").disabled = false;
  try {
    const message = $("chat-stream").checked ? await streamTurn(request, bubble) : await plainTurn(request, bubble);
    history.push(message);
    if (message.tool_calls && message.tool_calls.length) renderToolCalls(bubble, message.tool_calls);
  } catch (e) {
    if (e.name !== "AbortError") {
      bubble.node.classList.add("failed");
      bubble.node.append(el("div", { class: "failure", text: e.message }));
    }
    showError(e);
  } finally {
    bubble.node.classList.remove("pending");
    $("chat-send").disabled = false;
    $("chat-stop").disabled = true;
    controller = null;
    scrollChat();
  }
}

async function plainTurn(request, bubble) {
  const answer = await call("POST", "/v1/chat/completions", request);
  const message = answer.choices[0].message;
  bubble.body.textContent = message.content || "";
  bubble.node.dataset.finish = answer.choices[0].finish_reason || "";
  return { role: "assistant", content: message.content || "", ...(message.tool_calls ? { tool_calls: message.tool_calls } : {}) };
}

async function streamTurn(request, bubble) {
  let content = "";
  const calls = [];
  for await (const chunk of stream("/v1/chat/completions", { ...request, stream: true }, controller.signal)) {
    for (const choice of chunk.choices || []) {
      const delta = choice.delta || {};
      if (delta.content) {
        content += delta.content;
        bubble.body.textContent = content;
        scrollChat();
      }
      for (const t of delta.tool_calls || []) {
        const slot = (calls[t.index || 0] ||= { id: "", type: "function", function: { name: "", arguments: "" } });
        if (t.id) slot.id = t.id;
        if (t.function && t.function.name) slot.function.name += t.function.name;
        if (t.function && t.function.arguments) slot.function.arguments += t.function.arguments;
      }
      if (choice.finish_reason) bubble.node.dataset.finish = choice.finish_reason;
    }
  }
  const message = { role: "assistant", content };
  if (calls.length) message.tool_calls = calls.filter(Boolean);
  return message;
}

function setupChat() {
  $("chat-tools").value = JSON.stringify(EXAMPLE_TOOLS, null, 2);
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-input").value.trim();
    if (!text || controller) return;
    history.push({ role: "user", content: text });
    chatBubble("user").body.textContent = text;
    $("chat-input").value = "";
    complete();
  });
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  $("chat-stop").addEventListener("click", () => controller && controller.abort());
  $("chat-clear").addEventListener("click", () => {
    history = [];
    $("chat-log").replaceChildren();
  });
}

// ------------------------------------------------------------------ vector stores

let stores = [];
let currentStore = null;

async function loadStores() {
  const page = await call("GET", "/v1/vector_stores?limit=100");
  stores = page.data || [];
  const list = $("store-list");
  list.replaceChildren();
  for (const s of stores) {
    const item = el("li", { "data-store": s.id }, el("button", { type: "button", text: `${s.name || s.id}` }));
    if (currentStore && s.id === currentStore.id) item.classList.add("selected");
    item.querySelector("button").addEventListener("click", () => guarded(null, () => selectStore(s)));
    list.append(item);
  }
  const checks = $("resp-stores");
  const checked = new Set([...checks.querySelectorAll("input:checked")].map((i) => i.value));
  checks.replaceChildren();
  for (const s of stores) {
    const box = el("input", { type: "checkbox", value: s.id, checked: checked.has(s.id) });
    checks.append(el("label", {}, box, ` ${s.name || s.id}`));
  }
  if (!stores.length) checks.append(el("span", { class: "note", text: "No vector stores yet: create one under Vector stores." }));
}

async function selectStore(store) {
  currentStore = store;
  $("store-current").textContent = `${store.name || ""} (${store.id})`;
  for (const li of $("store-list").children) li.classList.toggle("selected", li.dataset.store === store.id);
  await loadStoreFiles();
}

async function loadStoreFiles() {
  const body = $("store-files");
  body.replaceChildren();
  if (!currentStore) return;
  const page = await call("GET", `/v1/vector_stores/${currentStore.id}/files?limit=100`);
  for (const f of page.data || []) {
    const error = f.last_error ? `${f.last_error.code}: ${f.last_error.message}` : "";
    body.append(
      el("tr", { "data-file": f.id, "data-status": f.status },
        el("td", { text: f.id }), el("td", { text: (f.attributes && f.attributes.filename) || "" }),
        el("td", { class: "status", text: f.status }), el("td", { text: error })),
    );
  }
}

// Uploads one file, attaches it to the current store and waits until it is indexed (or failed).
async function uploadAndIndex(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("purpose", "assistants");
  const uploaded = await upload("/v1/files", form);
  const body = { file_id: uploaded.id, attributes: { filename: file.name } };
  let attached = await call("POST", `/v1/vector_stores/${currentStore.id}/files`, body);
  await loadStoreFiles();
  for (let i = 0; attached.status === "in_progress" && i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    attached = await call("GET", `/v1/vector_stores/${currentStore.id}/files/${uploaded.id}`);
  }
  await loadStoreFiles();
  if (attached.status === "failed") {
    const why = attached.last_error ? attached.last_error.message : "no reason given";
    throw new Error(`${file.name} could not be indexed: ${why}`);
  }
}

async function search(query, k) {
  const page = await call("POST", `/v1/vector_stores/${currentStore.id}/search`, { query, max_num_results: k });
  const list = $("search-results");
  list.replaceChildren();
  for (const hit of page.data || []) {
    const text = (hit.content || []).map((c) => c.text || "").join("\n");
    list.append(
      el("li", { class: "hit" },
        el("div", { class: "meta", text: `${hit.filename || hit.file_id} · score ${Number(hit.score).toFixed(3)}` }),
        el("div", { class: "text", text })),
    );
  }
  if (!(page.data || []).length) list.append(el("li", { class: "note", text: "No results." }));
}

function setupStores() {
  $("store-create").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(event.submitter, async () => {
      const body = { name: $("store-name").value.trim() };
      if ($("store-embedding").value) body.embedding_model = $("store-embedding").value;
      const store = await call("POST", "/v1/vector_stores", body);
      $("store-name").value = "";
      await loadStores();
      await selectStore(store);
    });
  });
  $("store-upload").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(event.submitter, async () => {
      if (!currentStore) throw new Error("Select or create a vector store first.");
      const files = [...$("store-file").files];
      if (!files.length) throw new Error("Choose a file to upload.");
      for (const file of files) await uploadAndIndex(file);
      $("store-file").value = "";
    });
  });
  $("store-search").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(event.submitter, async () => {
      if (!currentStore) throw new Error("Select or create a vector store first.");
      await search($("store-query").value, Number($("store-k").value) || 5);
    });
  });
}

// ------------------------------------------------------------------ responses

function renderResponse(response) {
  const out = $("resp-output");
  out.replaceChildren();
  for (const item of response.output || []) {
    if (item.type === "file_search_call") {
      const box = el("div", { class: "tool-call", "data-tool": "file_search" });
      box.append(el("div", { text: `file_search ${JSON.stringify(item.queries || [])} (${item.status})` }));
      const list = el("ol", { class: "results" });
      for (const r of item.results || []) {
        list.append(el("li", { class: "hit" },
          el("div", { class: "meta", text: `${r.filename || r.file_id} · score ${Number(r.score).toFixed(3)}` }),
          el("div", { class: "text", text: r.text || "" })));
      }
      box.append(list);
      out.append(box);
    } else if (item.type === "message") {
      const text = (item.content || []).map((c) => c.text || c.refusal || "").join("\n");
      out.append(el("div", { class: "msg assistant", "data-role": "assistant" },
        el("div", { class: "who", text: "assistant" }), el("div", { class: "content", text })));
    } else {
      out.append(jsonDetails(item.type, item));
    }
  }
  out.append(jsonDetails(`response ${response.id} (${response.status})`, response));
}

// Streams a Responses call: the answer's text as it arrives, then the whole response.
async function streamResponse(request) {
  const out = $("resp-output");
  const live = el("div", { class: "content" });
  out.replaceChildren(
    el("p", { class: "note", text: "Streaming…" }),
    el("div", { class: "msg assistant pending", "data-role": "assistant" }, el("div", { class: "who", text: "assistant" }), live),
  );
  for await (const event of stream("/v1/responses", { ...request, stream: true })) {
    if (event.type === "response.output_text.delta") {
      live.textContent += event.delta;
    } else if (event.type === "response.completed" || event.type === "response.incomplete") {
      renderResponse(event.response);
      return;
    } else if (event.type === "response.failed") {
      const error = event.response.error || {};
      throw new ApiError("POST", "/v1/responses", 0, `the response failed: ${error.message || error.code || "no reason given"}`);
    }
  }
  throw new ApiError("POST", "/v1/responses", 0, "the stream ended before the response completed");
}

function setupResponses() {
  $("resp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded($("resp-run"), async () => {
      const ids = [...$("resp-stores").querySelectorAll("input:checked")].map((i) => i.value);
      const request = { model: $("resp-model").value, input: $("resp-input").value };
      if (ids.length) {
        request.tools = [{ type: "file_search", vector_store_ids: ids }];
        request.include = ["file_search_call.results"];
      }
      $("resp-output").replaceChildren(el("p", { class: "note", text: "Running…" }));
      try {
        if ($("resp-stream").checked) await streamResponse(request);
        else renderResponse(await call("POST", "/v1/responses", request));
      } catch (e) {
        $("resp-output").replaceChildren();
        throw e;
      }
    });
  });
}

// ------------------------------------------------------------------ browse

function rows(body, items, cells) {
  body.replaceChildren();
  for (const item of items) {
    body.append(el("tr", { "data-id": item.id }, ...cells(item).map((c) => (c instanceof Node ? el("td", {}, c) : el("td", { text: String(c ?? "") })))));
  }
  if (!items.length) body.append(el("tr", {}, el("td", { class: "note", text: "none", colSpan: 5 })));
}

function firstUserText(completion) {
  const user = (completion.input_messages || []).filter((m) => m.role === "user").pop();
  if (!user) return "";
  return typeof user.content === "string" ? user.content : (user.content || []).map((p) => p.text || "").join(" ");
}

async function browse() {
  const [storePage, filePage, completionPage] = await Promise.all([
    call("GET", "/v1/vector_stores?limit=100"),
    call("GET", "/v1/files?limit=100"),
    call("GET", "/v1/chat/completions?limit=100&order=desc"),
  ]);
  rows($("browse-stores"), storePage.data || [], (s) => {
    const c = s.file_counts || {};
    return [s.id, s.name, `${c.completed ?? 0} / ${c.failed ?? 0} / ${c.in_progress ?? 0}`, when(s.created_at)];
  });
  rows($("browse-files"), filePage.data || [], (f) => [f.id, f.filename, f.bytes, f.purpose, when(f.created_at)]);
  rows($("browse-completions"), completionPage.data || [], (c) => {
    const answer = c.choices && c.choices[0] && c.choices[0].message ? c.choices[0].message.content || "(tool call)" : "";
    return [jsonDetails(c.id, c), c.model, when(c.created), firstUserText(c), answer];
  });
  const more = [["vector stores", storePage], ["files", filePage], ["chat completions", completionPage]]
    .filter(([, p]) => p.has_more)
    .map(([name]) => name);
  $("browse-more").textContent = more.length ? `Showing the newest 100; there are more ${more.join(", ")}.` : "";
}

// ------------------------------------------------------------------ tabs, token, start

function showTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `tab-${name}`;
  if (name === "stores" || name === "responses") guarded(null, loadStores);
  if (name === "browse") guarded(null, browse);
}

async function refreshAll() {
  await loadModels();
  await loadStores();
}

function start() {
  $("token").value = token();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("token").value.trim());
    guarded(null, refreshAll);
  });
  $("error-close").addEventListener("click", clearError);
  for (const b of document.querySelectorAll("[data-tab]")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("browse-refresh").addEventListener("click", (event) => guarded(event.target, browse));
  setupChat();
  setupStores();
  setupResponses();
  guarded(null, refreshAll).then(() => document.body.setAttribute("data-ready", "true"));
}

start();
