"""The test kit's Vertex AI mock (lls-mock-vertex) against Google's own auth library and the
openai client, as Google documents calling Vertex AI with the OpenAI library: tokens from
google-auth (service account, authorized user, metadata server), then chat with them.

Usage: vertex_against_mock.py MOCK_URL SERVICE_ACCOUNT_KEY_FILE AUTHORIZED_USER_FILE
(scripts/vertex-mock-compat.sh starts the mock and runs this).
"""

import json
import os
import sys
import time
from urllib.parse import urlparse

MOCK, KEY_FILE, USER_FILE = sys.argv[1:4]
# google.auth.compute_engine reads the metadata host when it is imported.
os.environ["GCE_METADATA_HOST"] = urlparse(MOCK).netloc
os.environ.pop("GCE_METADATA_IP", None)

import google.auth.transport.requests  # noqa: E402
import openai  # noqa: E402
from google.auth import compute_engine, exceptions  # noqa: E402
from google.oauth2 import credentials as user_credentials  # noqa: E402
from google.oauth2 import service_account  # noqa: E402

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
PROJECT, LOCATION = "vertex-compat", "us-central1"
BASE = f"{MOCK}/v1/projects/{PROJECT}/locations/{LOCATION}/endpoints/openapi"
MODEL = "google/gemini-2.5-flash"
REQUEST = google.auth.transport.requests.Request()


def client(token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=BASE, api_key=token, max_retries=0, timeout=30)


def hello(token: str) -> str:
    answer = client(token).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello"}])
    assert answer.choices[0].message.content, answer
    return answer.choices[0].message.content


def expect(error_type, call, *needles):
    try:
        call()
    except error_type as e:
        text = str(e)
        for needle in needles:
            assert needle in text, f"{needle!r} not in {text!r}"
        return e
    raise AssertionError(f"expected {error_type.__name__}")


def service_account_flow():
    with open(KEY_FILE) as f:
        info = json.load(f)
    creds = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    creds.refresh(REQUEST)
    assert creds.token.startswith("ya29.mock-"), creds.token
    assert creds.expiry is not None
    hello(creds.token)
    chunks = list(client(creds.token).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))
    assert len(chunks) > 1 and any(c.choices and c.choices[0].delta.content for c in chunks), chunks
    # The mock's tokens live 3 s: google-auth sees it expired, the old one is refused, a refresh works.
    old = creds.token
    time.sleep(3.2)
    assert not creds.valid
    expect(openai.AuthenticationError, lambda: hello(old), "UNAUTHENTICATED")
    creds.refresh(REQUEST)
    assert creds.token != old
    hello(creds.token)
    # Google's error bodies as the openai client reads them.
    c = client(creds.token)
    expect(openai.NotFoundError, lambda: c.chat.completions.create(model="google/gemini-9", messages=[{"role": "user", "content": "x"}]), "Publisher Model")
    e = expect(openai.RateLimitError, lambda: c.chat.completions.create(model="error-429", messages=[{"role": "user", "content": "x"}]), "RESOURCE_EXHAUSTED")
    assert e.response.headers.get("retry-after") == "5", e.response.headers
    expect(openai.BadRequestError, lambda: c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "word " * 5000}]), "exceeds the maximum number of tokens")
    other = openai.OpenAI(base_url=BASE.replace(PROJECT, "someone-elses"), api_key=creds.token, max_retries=0)
    expect(openai.PermissionDeniedError, lambda: other.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}]), "PERMISSION_DENIED")
    # A key the token endpoint does not know is refused as Google refuses it.
    forged = dict(info, client_email="someone@else.iam.gserviceaccount.com")
    forged_creds = service_account.Credentials.from_service_account_info(forged, scopes=[SCOPE])
    expect(exceptions.RefreshError, lambda: forged_creds.refresh(REQUEST), "invalid_grant")
    print("service account: ok")


def authorized_user_flow():
    with open(USER_FILE) as f:
        info = json.load(f)
    # google-auth always sends authorized users to Google's own token endpoint; pointed at the mock's.
    creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE]).with_token_uri(info["token_uri"])
    creds.refresh(REQUEST)
    hello(creds.token)
    print("authorized user: ok")


def metadata_flow():
    creds = compute_engine.Credentials(scopes=[SCOPE])
    creds.refresh(REQUEST)
    assert creds.service_account_email.endswith(".iam.gserviceaccount.com"), creds.service_account_email
    hello(creds.token)
    print("metadata server: ok")


service_account_flow()
authorized_user_flow()
metadata_flow()
print("vertex compat: all passed")
