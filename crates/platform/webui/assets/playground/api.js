// The playground's HTTP client: every call goes to this server (same origin) with the bearer
// token from sessionStorage when one is set, and every failure becomes an ApiError whose
// message reads as a sentence (the server's OpenAI-shaped `error.message`, or its `detail`).

const TOKEN_KEY = "lls-token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(method, path, status, message) {
    super(status ? `${method} ${path}: ${status} ${message}` : `${method} ${path}: ${message}`);
    this.status = status;
  }
}

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

// The readable part of an error body: OpenAI's error.message, FastAPI's detail (a string or a
// list of validation errors), else the text itself.
export function errorMessage(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (_) {
    return text.trim() || "(empty body)";
  }
  if (body && body.error && body.error.message) return body.error.message;
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  }
  return text;
}

async function send(method, path, init) {
  let response;
  try {
    response = await fetch(path, { method, ...init });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(method, path, 0, `the server could not be reached (${e.message})`);
  }
  if (!response.ok) {
    const text = await response.text();
    let message = errorMessage(text);
    if (response.status === 401) message += " (enter a bearer token at the top right)";
    throw new ApiError(method, path, response.status, message);
  }
  return response;
}

// A JSON call; `body` is sent as JSON when given.
export async function call(method, path, body) {
  const init = { headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await send(method, path, init);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// A multipart upload (the browser sets the boundary).
export async function upload(path, form) {
  const response = await send("POST", path, { headers: headers(), body: form });
  return response.json();
}

// A streamed call: yields each SSE event's JSON until `[DONE]` or the end of the body. An event
// carrying an `error` object (how the server ends a stream that fails midway) is thrown.
export async function* stream(path, body, signal) {
  const init = {
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify(body),
    signal,
  };
  const response = await send("POST", path, init);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      const event = JSON.parse(data);
      if (event && event.error) {
        throw new ApiError("POST", path, 0, `the stream failed: ${event.error.message || JSON.stringify(event.error)}`);
      }
      yield event;
    }
  }
}
