"""The files API (`inline::localfs`) through the real SDKs: upload, list, retrieve, content and
delete with `openai` and `llama-stack-client`, `expires_after` in both form spellings, the
upload size cap (413, run.yaml sets 4 MiB), bad input, and files surviving a restart."""

from __future__ import annotations

import io
import uuid

import openai
import pytest
from llama_stack_client import LlamaStackClient
from llama_stack_client import NotFoundError as LsNotFoundError

MAX_UPLOAD = 4 * 1024 * 1024  # max_file_size_bytes in run.yaml / run-postgres.yaml


def named(content: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(content)
    buf.name = name
    return buf


def not_found(file_id: str) -> str:
    return f"File '{file_id}' not found. Use 'client.files.list()' to list available Files."


def test_openai_sdk_round_trip(openai_client):
    content = f"files test content {uuid.uuid4().hex}".encode()
    f = openai_client.files.create(file=named(content, "openai_test.txt"), purpose="assistants")
    assert f.id.startswith("file-") and len(f.id) == 37
    assert (f.object, f.filename, f.bytes, f.purpose) == ("file", "openai_test.txt", len(content), "assistants")
    assert f.expires_at == f.created_at + 365 * 24 * 3600

    assert f.id in [x.id for x in openai_client.files.list()]
    assert openai_client.files.retrieve(f.id) == f
    assert openai_client.files.content(f.id).content == content

    deleted = openai_client.files.delete(f.id)
    assert (deleted.id, deleted.deleted) == (f.id, True)
    with pytest.raises(openai.NotFoundError, match="not found") as e:
        openai_client.files.retrieve(f.id)
    assert e.value.body["message"] == not_found(f.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.files.content(f.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.files.delete(f.id)
    assert f.id not in [x.id for x in openai_client.files.list()]


def test_binary_content_and_headers(openai_client, http):
    content = bytes(range(256)) * 1000
    f = openai_client.files.create(file=named(content, "résumé.pdf"), purpose="batch")
    r = http.get(f"/v1/files/{f.id}/content")
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    # The deprecated alias serves the same bytes.
    assert http.get(f"/v1/openai/v1/files/{f.id}/content").content == content
    openai_client.files.delete(f.id)


def test_list_order_pagination_and_purpose(openai_client):
    tag = uuid.uuid4().hex[:8]
    ids = [openai_client.files.create(file=named(b"x", f"{tag}-{i}.jsonl"), purpose="batch").id for i in range(3)]
    try:
        newest_first = [x.id for x in openai_client.files.list(purpose="batch", limit=10000).data]
        mine = [i for i in newest_first if i in ids]
        assert mine == ids[::-1], "newest first, upload order kept within a second"

        page = openai_client.files.list(purpose="batch", order="asc", limit=1, after=ids[0])
        assert [x.id for x in page.data] == [ids[1]]
        assert page.has_more is True
        # The SDK's auto-pagination walks every page with `after`.
        walked = [x.id for x in openai_client.files.list(purpose="batch", order="asc", limit=1)]
        assert [i for i in walked if i in ids] == ids

        assistants = [x.purpose for x in openai_client.files.list(purpose="assistants").data]
        assert all(p == "assistants" for p in assistants)
    finally:
        for i in ids:
            openai_client.files.delete(i)


def test_expires_after_with_the_sdk_and_bracket_fields(openai_client, http):
    f = openai_client.files.create(
        file=named(b"expires_after test", "expires_after.txt"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 4545},
    )
    assert f.expires_at == f.created_at + 4545
    assert openai_client.files.retrieve(f.id).expires_at == f.expires_at

    r = http.post(
        "/v1/files",
        files={"file": ("brackets.txt", b"via httpx")},
        data={"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "7200"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires_at"] == body["created_at"] + 7200

    r = http.post("/v1/files", files={"file": ("json.txt", b"x")}, data={"purpose": "batch", "expires_after": '{"anchor": "created_at", "seconds": 3600}'})
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"] == r.json()["created_at"] + 3600

    with pytest.raises(openai.BadRequestError, match="between 3600 and 2592000"):
        openai_client.files.create(file=named(b"x", "short.txt"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 60})
    for i in (f.id, body["id"], r.json()["id"]):
        openai_client.files.delete(i)


def test_llama_stack_client(ls_client):
    content = b"Anonymous file content"
    f = ls_client.files.create(file=named(content, "anonymous_file.txt"), purpose="assistants")
    assert f.filename == "anonymous_file.txt"
    assert f.id in [x.id for x in ls_client.files.list()]
    assert ls_client.files.retrieve(f.id).id == f.id
    got = ls_client.files.content(f.id)
    assert (got.encode() if isinstance(got, str) else got.content) == content
    assert ls_client.files.delete(f.id).deleted is True
    with pytest.raises(LsNotFoundError, match="not found"):
        ls_client.files.retrieve(f.id)


def test_bad_uploads_are_client_errors(openai_client, http):
    r = http.post("/v1/files", files={"file": ("a.txt", b"a")}, data={"purpose": "fine-tune"})
    assert r.status_code == 400
    assert "Invalid purpose 'fine-tune'" in r.json()["detail"]
    r = http.post("/v1/files", data={"purpose": "assistants"}, files={"other": ("a.txt", b"a")})
    assert r.status_code == 400
    assert "no 'file' part" in r.json()["detail"]
    r = http.post("/v1/files", json={"purpose": "assistants"})
    assert r.status_code == 400
    assert "multipart/form-data" in r.json()["detail"]

    with pytest.raises(openai.APIStatusError) as e:
        openai_client.files.create(file=named(b"z" * (MAX_UPLOAD + 1), "big.bin"), purpose="batch")
    assert e.value.status_code == 413
    assert "maximum upload size is 4194304 bytes (4 MiB)" in e.value.message
    fits = openai_client.files.create(file=named(b"z" * MAX_UPLOAD, "fits.bin"), purpose="batch")
    assert fits.bytes == MAX_UPLOAD
    openai_client.files.delete(fits.id)


def test_ids_never_escape_the_storage_dir(openai_client, http):
    # The SDK keeps only a name's last component; a raw form sends it whole.
    r = http.post("/v1/files", files={"file": ("../../etc/passwd", b"not really")}, data={"purpose": "assistants"})
    assert r.status_code == 200, r.text
    f = openai_client.files.retrieve(r.json()["id"])
    assert f.filename == "../../etc/passwd"
    assert openai_client.files.content(f.id).content == b"not really"
    for raw, decoded in [("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"), ("%2E%2E", ".."), ("file-..%2Ffiles", "file-../files")]:
        for method, path in [("GET", f"/v1/files/{raw}"), ("GET", f"/v1/files/{raw}/content"), ("DELETE", f"/v1/files/{raw}")]:
            r = http.request(method, path)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["detail"] == not_found(decoded)
    assert openai_client.files.retrieve(f.id).id == f.id
    openai_client.files.delete(f.id)


def test_files_survive_a_restart(storage, start_stack):
    state = storage.new_state()
    first = start_stack(state)
    oa = openai.OpenAI(base_url=f"{first.url}/v1", api_key="unused", max_retries=0, timeout=30)
    f = oa.files.create(file=named(b"kept across restarts", "kept.txt"), purpose="assistants")
    assert first.stop() == 0, first.tail()

    second = start_stack(state)
    ls = LlamaStackClient(base_url=second.url, max_retries=0, timeout=30)
    assert ls.files.retrieve(f.id).filename == "kept.txt"
    oa = openai.OpenAI(base_url=f"{second.url}/v1", api_key="unused", max_retries=0, timeout=30)
    assert oa.files.content(f.id).content == b"kept across restarts"
