// Swagger UI over this server's /openapi.json. The document is fetched here (with the bearer
// token from sessionStorage, shared with the playground) so that an auth-on server works, and
// its `servers` is pointed at this page's origin so "Try it out" calls this server.
"use strict";

const TOKEN_KEY = "lls-token";

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

function showError(message) {
  const box = document.getElementById("load-error");
  box.textContent = message;
  box.hidden = !message;
}

async function load() {
  showError("");
  let response;
  try {
    response = await fetch("/openapi.json", { headers: authHeaders() });
  } catch (e) {
    showError(`Could not reach the server: ${e}`);
    return;
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      const body = JSON.parse(text);
      message = (body.error && body.error.message) || body.detail || text;
    } catch (_) { /* not JSON: show the text */ }
    const hint = response.status === 401 ? "\nThis server has authentication on: enter a bearer token above." : "";
    showError(`GET /openapi.json: ${response.status} ${message}${hint}`);
    return;
  }
  const spec = JSON.parse(text);
  spec.servers = [{ url: window.location.origin }];
  window.ui = SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    requestInterceptor: (request) => {
      const t = token();
      if (t && !request.headers.Authorization) {
        request.headers.Authorization = `Bearer ${t}`;
      }
      return request;
    },
  });
}

document.getElementById("token").value = token();
document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  load();
});
load();
