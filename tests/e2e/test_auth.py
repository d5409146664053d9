"""`server.auth` end to end: bearer JWTs from `lls-test-issuer` (RS256 and ES256 keys, a JWKS,
minted tokens) checked by the server (`oauth2_token` + `jwks`), and multi-tenant access control
through the real `openai` SDK and `llama-stack-client` (both send `Authorization: Bearer`).

- Authentication: 401 `{"error": {"message": ...}}` without a token, with a malformed header,
  an expired token, a wrong audience or issuer, a key the JWKS does not list, a forged
  signature; key rotation; `/v1/health` and `/v1/version` open.
- Isolation under the default policy (users with different `sub` share nothing they created):
  for files, vector stores (and their files, search), stored chat completions, models and tool
  groups, another tenant's object answers exactly as a missing one of the same kind (same status,
  same error class, same message with the id swapped), never 403, and stays intact. Unowned
  objects (run.yaml's, the providers' own models) are readable by everyone; under the starter's
  shipped policy deleting one is 403.
- An admin policy (`user with admin in roles` may do anything) sees and deletes everyone's.
"""

from __future__ import annotations

import time
import uuid

import httpx
import llama_stack_client
import openai
import pytest
from llama_stack_client import LlamaStackClient

from conftest import CLIENT_TIMEOUT_S, E2E_DIR, TestIssuer, eventually

REPO = E2E_DIR.parent.parent

LLM = "mock/mock-llm"
EMBED = "mock/mock-embed"  # run.yaml's, hashed embeddings of the mock: no weights needed
UNOWNED_MODEL = "mock/mock-embed"

# The admin server's policy: admins do anything; everyone creates; owners do the rest; everyone
# reads unowned resources. Its claims mapping also reads a `roles` claim.
ADMIN_POLICY = [
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user with admin in roles"},
    {"permit": {"actions": ["create"]}},
    {"permit": {"actions": ["read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners roles"},
]
ADMIN_CLAIMS = {"sub": "roles", "roles": "roles"}


# --------------------------------------------------------------------------- servers, tenants


@pytest.fixture(scope="session")
def auth_stack(auth_starter, issuer):
    """A server with the default access policy."""
    return auth_starter(issuer)


@pytest.fixture(scope="session")
def starter_policy_stack(auth_starter, issuer):
    """A server with the access policy distributions/starter/run.yaml ships."""
    import yaml

    starter = yaml.safe_load((REPO / "distributions/starter/run.yaml").read_text())
    return auth_starter(issuer, access_policy=starter["server"]["auth"]["access_policy"])


@pytest.fixture(scope="session")
def admin_stack(auth_starter, issuer):
    """A server with ADMIN_POLICY."""
    return auth_starter(issuer, access_policy=ADMIN_POLICY, claims_mapping=ADMIN_CLAIMS)


class Tenant:
    """One user's clients: the openai SDK, llama-stack-client and raw httpx, all with its token."""

    def __init__(self, server, token: str, name: str):
        self.name = name
        self.token = token
        self.oa = openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=CLIENT_TIMEOUT_S)
        self.ls = LlamaStackClient(base_url=server.url, api_key=token, max_retries=0, timeout=CLIENT_TIMEOUT_S)
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=CLIENT_TIMEOUT_S)


def tenant(server, issuer: TestIssuer, sub: str, **claims) -> Tenant:
    return Tenant(server, issuer.mint(sub=sub, **claims), sub)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def alice(auth_stack, issuer):
    return tenant(auth_stack, issuer, unique("alice"))


@pytest.fixture
def bob(auth_stack, issuer):
    return tenant(auth_stack, issuer, unique("bob"))


# --------------------------------------------------------------------------- "like a missing one"


def outcome(call):
    """What a call answers: ("ok", value) or ("error", exception class, status, message)."""
    try:
        return ("ok", call())
    except (openai.APIStatusError, llama_stack_client.APIStatusError) as e:
        return ("error", type(e), e.status_code, str(e))


def assert_like_missing(theirs, missing, their_id: str, missing_id: str) -> None:
    """`theirs()` (about another tenant's `their_id`) fails exactly as `missing()` (about the
    never-created `missing_id`): same exception class, same status, same message with the id
    swapped, and never a 403."""
    got, want = outcome(theirs), outcome(missing)
    assert got[0] == "error", f"another tenant's {their_id} answered {got}"
    assert want[0] == "error", f"a missing {missing_id} answered {want}"
    assert got[2] != 403, f"403 for another tenant's {their_id}: {got}"
    assert (got[1], got[2]) == (want[1], want[2]), f"{got} != {want}"
    assert got[3].replace(their_id, missing_id) == want[3], f"{got[3]!r} vs {want[3]!r}"


def assert_status(call, status: int) -> Exception:
    with pytest.raises((openai.APIStatusError, llama_stack_client.APIStatusError)) as e:
        call()
    assert e.value.status_code == status, e.value
    return e.value


def missing_file_id() -> str:
    return f"file-{uuid.uuid4().hex}"


def missing_store_id() -> str:
    return f"vs_{uuid.uuid4()}"


# --------------------------------------------------------------------------- authentication


def assert_401(r: httpx.Response) -> str:
    assert r.status_code == 401, (r.status_code, r.text)
    body = r.json()
    message = body["error"]["message"]
    assert isinstance(message, str) and message, body
    return message


def tampered(token: str) -> str:
    """`token` with one character in the middle of its signature changed."""
    head, payload, sig = token.split(".")
    i = len(sig) // 2
    return f"{head}.{payload}.{sig[:i]}{'A' if sig[i] != 'A' else 'B'}{sig[i + 1:]}"


def test_health_and_version_need_no_token(auth_stack):
    assert httpx.get(f"{auth_stack.url}/v1/health").json()["status"] == "OK"
    assert httpx.get(f"{auth_stack.url}/v1/version").status_code == 200
    ls = LlamaStackClient(base_url=auth_stack.url, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    assert ls.inspect.health().status == "OK"
    assert ls.inspect.version().version


def test_requests_without_a_valid_token_are_401(auth_stack, issuer):
    url = auth_stack.url
    sub = unique("carol")
    good = issuer.mint(sub=sub)
    assert httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {good}"}).status_code == 200

    assert_401(httpx.get(f"{url}/v1/models"))
    assert_401(httpx.post(f"{url}/v1/chat/completions", json={"model": LLM, "messages": [{"role": "user", "content": "hi"}]}))
    assert_401(httpx.get(f"{url}/v1/no-such-route"))  # unknown paths are authenticated too (0.3.5)
    for header in ("Basic eDp5", "Bearer", "bearer", good, f"Token {good}"):
        assert_401(httpx.get(f"{url}/v1/models", headers={"Authorization": header}))
    bad_tokens = {
        "not a JWT": "not-a-jwt",
        "expired": issuer.mint(sub=sub, exp=int(time.time()) - 60),
        "not yet valid": issuer.mint(sub=sub, nbf=int(time.time()) + 3600),
        "wrong audience": issuer.mint(sub=sub, aud="another-service"),
        "wrong issuer": issuer.mint(sub=sub, iss="https://someone-else.example"),
        "unknown key": issuer.mint(sub=sub, unpublished=True),
        "forged signature": issuer.mint(sub=sub, unpublished=True, kid=issuer.kids()[0]),
        "ES key named as the RS key": issuer.mint(sub=sub, alg="ES256", kid=issuer.kids()[0]),
        "tampered": tampered(good),
    }
    for why, token in bad_tokens.items():
        r = httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (why, r.status_code, r.text)
        assert_401(r)


def test_both_algorithms_are_accepted(auth_stack, issuer):
    for alg in ("RS256", "ES256"):
        t = Tenant(auth_stack, issuer.mint(sub=unique("dora"), alg=alg), alg)
        assert LLM in [m.identifier for m in t.ls.models.list()], alg
        assert t.oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": alg}]).choices
        assert t.ls.models.retrieve(LLM).identifier == LLM


def test_sdks_raise_authentication_errors(auth_stack, issuer):
    expired = issuer.mint(sub="eve", exp=int(time.time()) - 1)
    oa = openai.OpenAI(base_url=f"{auth_stack.url}/v1", api_key=expired, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    with pytest.raises(openai.AuthenticationError) as e:
        oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        oa.files.list()

    anonymous = LlamaStackClient(base_url=auth_stack.url, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    with pytest.raises(llama_stack_client.AuthenticationError):
        anonymous.models.list()
    ls = LlamaStackClient(base_url=auth_stack.url, api_key=expired, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    with pytest.raises(llama_stack_client.AuthenticationError):
        ls.vector_stores.list()


def test_key_rotation(start_auth_stack, workdir):
    """After the issuer rotates its keys, new tokens work (the server refetches the JWKS on an
    unknown key id) and tokens signed with the old keys are refused."""
    own = TestIssuer(workdir / f"issuer-{uuid.uuid4().hex[:6]}.log")
    try:
        server = start_auth_stack(own)
        before = Tenant(server, own.mint(sub="frank"), "frank")
        assert before.oa.files.list() is not None
        unused_old = own.mint(sub="frank", alg="ES256")  # signed before the rotation, never shown yet

        old_kids = own.kids()
        new_kids = own.rotate()
        assert set(new_kids) == set(own.kids()) and set(new_kids).isdisjoint(old_kids)
        after = Tenant(server, own.mint(sub="frank"), "frank")
        assert after.oa.files.list() is not None  # unknown kid → refetch → accepted
        es = Tenant(server, own.mint(sub="frank", alg="ES256"), "frank")
        assert es.ls.models.list() is not None
        r = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {unused_old}"})
        assert_401(r)
    finally:
        own.process.stop()


# --------------------------------------------------------------------------- files


def test_files_are_isolated(alice, bob):
    content = f"alice's secret {uuid.uuid4().hex}".encode()
    f = alice.oa.files.create(file=("secret.txt", content), purpose="assistants")
    missing = missing_file_id()

    assert f.id not in [x.id for x in bob.oa.files.list()]
    assert f.id not in [x.id for x in bob.ls.files.list()]
    assert_like_missing(lambda: bob.oa.files.retrieve(f.id), lambda: bob.oa.files.retrieve(missing), f.id, missing)
    assert_like_missing(lambda: bob.ls.files.retrieve(f.id), lambda: bob.ls.files.retrieve(missing), f.id, missing)
    assert_like_missing(lambda: bob.oa.files.content(f.id), lambda: bob.oa.files.content(missing), f.id, missing)
    assert_like_missing(lambda: bob.oa.files.delete(f.id), lambda: bob.oa.files.delete(missing), f.id, missing)
    assert_like_missing(lambda: bob.ls.files.delete(f.id), lambda: bob.ls.files.delete(missing), f.id, missing)

    # Bob's own file is his; Alice's is intact.
    mine = bob.oa.files.create(file=("mine.txt", b"bob's"), purpose="assistants")
    assert [x.id for x in bob.oa.files.list()] == [mine.id]
    assert f.id in [x.id for x in alice.oa.files.list()]
    assert mine.id not in [x.id for x in alice.oa.files.list()]
    assert alice.oa.files.content(f.id).content == content
    assert alice.ls.files.retrieve(f.id).id == f.id
    assert alice.oa.files.delete(f.id).deleted


# --------------------------------------------------------------------------- vector stores


def make_store(t: Tenant, file_ids: list[str]):
    store = t.oa.vector_stores.create(
        name=unique("store"), file_ids=file_ids, extra_body={"provider_id": "faiss", "embedding_model": EMBED}
    )

    def indexed():
        counts = t.oa.vector_stores.retrieve(store.id).file_counts
        assert counts.in_progress == 0, counts
        return counts

    counts = eventually(indexed, timeout=60)
    assert counts.completed == len(file_ids), counts
    return store


def test_vector_stores_are_isolated(alice, bob):
    text = "The lighthouse keeper polished the great lens every evening before dusk."
    f = alice.oa.files.create(file=("lighthouse.txt", text.encode()), purpose="assistants")
    store = make_store(alice, [f.id])
    missing = missing_store_id()
    vs = bob.oa.vector_stores

    assert store.id not in [s.id for s in vs.list()]
    assert store.id not in [s.id for s in bob.ls.vector_stores.list()]
    like = lambda theirs, absent: assert_like_missing(theirs, absent, store.id, missing)  # noqa: E731
    like(lambda: vs.retrieve(store.id), lambda: vs.retrieve(missing))
    like(lambda: bob.ls.vector_stores.retrieve(store.id), lambda: bob.ls.vector_stores.retrieve(missing))
    like(lambda: vs.update(store.id, name="bob was here"), lambda: vs.update(missing, name="bob was here"))
    like(lambda: vs.search(vector_store_id=store.id, query="lighthouse"), lambda: vs.search(vector_store_id=missing, query="lighthouse"))
    like(lambda: vs.files.list(vector_store_id=store.id), lambda: vs.files.list(vector_store_id=missing))
    like(lambda: vs.files.retrieve(vector_store_id=store.id, file_id=f.id), lambda: vs.files.retrieve(vector_store_id=missing, file_id=f.id))
    like(
        lambda: vs.files.content(vector_store_id=store.id, file_id=f.id),
        lambda: vs.files.content(vector_store_id=missing, file_id=f.id),
    )
    own = bob.oa.files.create(file=("bob.txt", b"Bob's notes about gardening."), purpose="assistants")
    like(lambda: vs.files.create(vector_store_id=store.id, file_id=own.id), lambda: vs.files.create(vector_store_id=missing, file_id=own.id))
    like(
        lambda: vs.files.delete(vector_store_id=store.id, file_id=f.id),
        lambda: vs.files.delete(vector_store_id=missing, file_id=f.id),
    )
    like(lambda: vs.delete(store.id), lambda: vs.delete(missing))

    # Alice's store is intact: name, file, search, contents.
    got = alice.oa.vector_stores.retrieve(store.id)
    assert got.name == store.name and got.file_counts.completed == 1
    hits = alice.oa.vector_stores.search(vector_store_id=store.id, query="lighthouse lens")
    assert hits.data and hits.data[0].file_id == f.id
    assert [x.id for x in alice.oa.vector_stores.files.list(vector_store_id=store.id)] == [f.id]
    body = alice.oa.vector_stores.files.content(vector_store_id=store.id, file_id=f.id).to_dict()
    assert "lighthouse" in " ".join(c["text"] for c in (body.get("data") or body.get("content") or []))
    assert alice.oa.vector_stores.update(store.id, name="renamed").name == "renamed"


def test_another_tenants_file_cannot_be_attached(alice, bob):
    """Bob attaching Alice's file to his own store goes as attaching a file that does not exist."""
    secret = alice.oa.files.create(file=("secret.txt", b"The vault code is 4-8-15-16-23-42."), purpose="assistants")
    store = make_store(bob, [])
    missing = missing_file_id()

    def attach(file_id):
        def call():
            bob.oa.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
            done = eventually(
                lambda: _settled(bob.oa.vector_stores.files.retrieve(vector_store_id=store.id, file_id=file_id)), timeout=60
            )
            return (done.status, done.last_error.code if done.last_error else None)

        return call

    theirs, absent = outcome(attach(secret.id)), outcome(attach(missing))
    assert theirs[0] == absent[0], (theirs, absent)
    if theirs[0] == "ok":
        assert theirs[1] == absent[1] and theirs[1][0] == "failed", (theirs, absent)
    else:
        assert theirs[1:3] == absent[1:3] and theirs[2] != 403, (theirs, absent)
        assert theirs[3].replace(secret.id, missing) == absent[3]
    hits = bob.oa.vector_stores.search(vector_store_id=store.id, query="vault code")
    assert not hits.data, "Alice's text reached Bob's store"


def _settled(vf):
    assert vf.status != "in_progress", vf
    return vf


# --------------------------------------------------------------------------- stored chat completions


def test_stored_chat_completions_are_isolated(alice, bob):
    marker = f"alice asks {uuid.uuid4().hex[:8]}"
    r = alice.oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": marker}], store=True)
    got = eventually(lambda: alice.oa.chat.completions.retrieve(r.id))
    assert got.id == r.id
    missing = f"chatcmpl-{uuid.uuid4().hex}"

    assert r.id not in [c.id for c in bob.oa.chat.completions.list(limit=100)]
    assert r.id not in [c.id for c in bob.oa.chat.completions.list(limit=100, model=LLM)]
    listing = bob.http.get("/v1/chat/completions", params={"limit": 100}).json()
    assert marker not in str(listing)
    assert_like_missing(
        lambda: bob.oa.chat.completions.retrieve(r.id), lambda: bob.oa.chat.completions.retrieve(missing), r.id, missing
    )
    assert_like_missing(
        lambda: bob.ls.chat.completions.retrieve(r.id), lambda: bob.ls.chat.completions.retrieve(missing), r.id, missing
    )

    mine = bob.oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": "bob asks"}], store=True)
    eventually(lambda: bob.oa.chat.completions.retrieve(mine.id))
    assert [c.id for c in bob.oa.chat.completions.list(limit=100)] == [mine.id]
    alice_ids = [c.id for c in alice.oa.chat.completions.list(limit=100)]
    assert r.id in alice_ids and mine.id not in alice_ids
    assert alice.ls.chat.completions.retrieve(r.id).id == r.id


def test_conversations_are_isolated(alice, bob):
    conv = alice.oa.conversations.create(metadata={"owner": "alice"}, items=[{"type": "message", "role": "user", "content": "secret"}])
    item = alice.oa.conversations.items.list(conv.id).data[0].id
    missing = "conv_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
    calls = [
        lambda c: bob.oa.conversations.retrieve(c),
        lambda c: bob.oa.conversations.update(c, metadata={"owner": "bob"}),
        lambda c: bob.oa.conversations.items.list(c),
        lambda c: bob.oa.conversations.items.create(c, items=[{"type": "message", "role": "user", "content": "x"}]),
        lambda c: bob.oa.conversations.items.retrieve(item, conversation_id=c),
        lambda c: bob.oa.conversations.items.delete(item, conversation_id=c),
        lambda c: bob.oa.conversations.delete(c),
    ]
    for call in calls:
        assert_like_missing(lambda: call(conv.id), lambda: call(missing), conv.id, missing)
    assert alice.oa.conversations.retrieve(conv.id).metadata == {"owner": "alice"}
    assert [i.id for i in alice.oa.conversations.items.list(conv.id).data] == [item]
    assert alice.oa.conversations.delete(conv.id).deleted is True


def test_responses_are_isolated(alice, bob):
    r = alice.oa.responses.create(model="mock/mock-llm", input="my secret plan")
    missing = "resp_" + str(uuid.uuid4())
    calls = [
        lambda i: bob.oa.responses.retrieve(i),
        lambda i: bob.oa.responses.input_items.list(i),
        lambda i: bob.oa.responses.delete(i),
        lambda i: bob.oa.responses.create(model="mock/mock-llm", input="continue", previous_response_id=i),
    ]
    for call in calls:
        assert_like_missing(lambda: call(r.id), lambda: call(missing), r.id, missing)
    listed = bob.http.get("/v1/responses").json()["data"]
    assert r.id not in [x["id"] for x in listed]
    assert alice.oa.responses.retrieve(r.id).id == r.id
    follow = alice.oa.responses.create(model="mock/mock-llm", input="continue", previous_response_id=r.id)
    assert follow.previous_response_id == r.id


# --------------------------------------------------------------------------- models


def test_models_are_isolated(alice, bob):
    name = unique("alice-model")
    m = alice.ls.models.register(model_id=name, provider_id="mock", model_type="llm")
    ident = m.identifier
    missing = f"mock/{unique('never-registered')}"

    assert ident not in [x.identifier for x in bob.ls.models.list()]
    assert ident not in [x["id"] for x in bob.http.get("/v1/openai/v1/models").json()["data"]]
    assert_like_missing(lambda: bob.ls.models.retrieve(ident), lambda: bob.ls.models.retrieve(missing), ident, missing)
    assert_like_missing(lambda: bob.ls.models.unregister(ident), lambda: bob.ls.models.unregister(missing), ident, missing)
    # Inference with it is refused as for a model that does not exist, and does not fall back to
    # the provider (0.3.5's RBAC fix of the fallback path): an unregistered `mock/...` id would.
    with pytest.raises(openai.NotFoundError) as e:
        bob.oa.chat.completions.create(model=ident, messages=[{"role": "user", "content": "borrow it"}])
    assert "Permission" not in str(e.value)

    assert alice.ls.models.retrieve(ident).identifier == ident
    assert ident in [x.identifier for x in alice.ls.models.list()]
    r = alice.oa.chat.completions.create(model=ident, messages=[{"role": "user", "content": "mine?"}])
    assert r.model == ident
    alice.ls.models.unregister(ident)
    with pytest.raises(llama_stack_client.NotFoundError):
        alice.ls.models.retrieve(ident)


def test_unowned_models_are_shared_and_not_deletable(starter_policy_stack, issuer):
    """With the starter's shipped policy (the default policy would let anyone delete an unowned
    resource: its conditions hold vacuously for resources without an owner)."""
    alice = tenant(starter_policy_stack, issuer, unique("alice"))
    bob = tenant(starter_policy_stack, issuer, unique("bob"))
    for t in (alice, bob):
        ids = [x.identifier for x in t.ls.models.list()]
        assert LLM in ids and UNOWNED_MODEL in ids, ids
        assert t.ls.models.retrieve(UNOWNED_MODEL).identifier == UNOWNED_MODEL
        assert t.oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": "hi"}]).choices
    e = assert_status(lambda: bob.ls.models.unregister(UNOWNED_MODEL), 403)
    assert "Permission denied" in str(e), e
    assert alice.ls.models.retrieve(UNOWNED_MODEL).identifier == UNOWNED_MODEL

    # Owned ones are the owner's, as with the default policy.
    m = alice.ls.models.register(model_id=unique("alice-model"), provider_id="mock", model_type="llm")
    missing = f"mock/{unique('never-registered')}"
    assert m.identifier not in [x.identifier for x in bob.ls.models.list()]
    assert_like_missing(lambda: bob.ls.models.unregister(m.identifier), lambda: bob.ls.models.unregister(missing), m.identifier, missing)
    alice.ls.models.unregister(m.identifier)


# --------------------------------------------------------------------------- tool groups


def test_tool_groups_are_isolated(alice, bob):
    group = f"mcp::{unique('alice')}"
    # Registering an MCP group does not reach its server; nothing listens on port 9.
    alice.ls.toolgroups.register(toolgroup_id=group, provider_id="model-context-protocol", mcp_endpoint={"uri": "http://127.0.0.1:9/sse"})
    missing = f"mcp::{unique('never')}"

    assert group not in [g.identifier for g in bob.ls.toolgroups.list()]
    assert_like_missing(lambda: bob.ls.toolgroups.get(group), lambda: bob.ls.toolgroups.get(missing), group, missing)
    assert_like_missing(lambda: bob.ls.toolgroups.unregister(group), lambda: bob.ls.toolgroups.unregister(missing), group, missing)

    assert alice.ls.toolgroups.get(group).identifier == group
    assert group in [g.identifier for g in alice.ls.toolgroups.list()]
    alice.ls.toolgroups.unregister(group)


# --------------------------------------------------------------------------- an admin policy


def test_admin_policy(admin_stack, issuer):
    alice = tenant(admin_stack, issuer, unique("alice"))
    bob = tenant(admin_stack, issuer, unique("bob"))
    admin = tenant(admin_stack, issuer, unique("root"), roles=["admin"])

    f = alice.oa.files.create(file=("a.txt", b"alice's file"), purpose="assistants")
    m = alice.ls.models.register(model_id=unique("alice-model"), provider_id="mock", model_type="llm")
    store = make_store(alice, [f.id])
    chat = alice.oa.chat.completions.create(model=LLM, messages=[{"role": "user", "content": "admin sees"}], store=True)
    eventually(lambda: alice.oa.chat.completions.retrieve(chat.id))

    # Bob still sees nothing of Alice's, and gets "not found".
    assert f.id not in [x.id for x in bob.oa.files.list()]
    missing = missing_file_id()
    assert_like_missing(lambda: bob.oa.files.retrieve(f.id), lambda: bob.oa.files.retrieve(missing), f.id, missing)
    assert m.identifier not in [x.identifier for x in bob.ls.models.list()]
    assert store.id not in [s.id for s in bob.oa.vector_stores.list()]
    assert chat.id not in [c.id for c in bob.oa.chat.completions.list(limit=100)]

    # The admin sees and reads everything.
    assert f.id in [x.id for x in admin.oa.files.list()]
    assert admin.oa.files.content(f.id).content == b"alice's file"
    assert admin.ls.models.retrieve(m.identifier).identifier == m.identifier
    assert m.identifier in [x.identifier for x in admin.ls.models.list()]
    assert admin.oa.vector_stores.retrieve(store.id).id == store.id
    assert store.id in [s.id for s in admin.oa.vector_stores.list()]
    assert admin.oa.vector_stores.search(vector_store_id=store.id, query="alice").data
    assert admin.oa.chat.completions.retrieve(chat.id).id == chat.id
    assert chat.id in [c.id for c in admin.oa.chat.completions.list(limit=100)]

    # ... updates and deletes it; Alice then finds it gone.
    assert admin.oa.vector_stores.update(store.id, name="by admin").name == "by admin"
    assert admin.oa.vector_stores.delete(store.id).deleted
    assert admin.oa.files.delete(f.id).deleted
    admin.ls.models.unregister(m.identifier)
    with pytest.raises(openai.NotFoundError):
        alice.oa.files.retrieve(f.id)
    with pytest.raises(llama_stack_client.NotFoundError):
        alice.ls.models.retrieve(m.identifier)
    assert store.id not in [s.id for s in alice.oa.vector_stores.list()]

    # Unowned models: everyone reads them; only the admin may delete (not tried: shared state).
    assert bob.ls.models.retrieve(UNOWNED_MODEL).identifier == UNOWNED_MODEL
    e = assert_status(lambda: bob.ls.models.unregister(UNOWNED_MODEL), 403)
    assert "Permission denied" in str(e)
