"""The files API on `remote::s3` (ENABLE_S3, listed after inline::localfs in the flavour's
run.yaml) through the `openai` SDK, against the S3-compatible server at LLS_TEST_S3_ENDPOINT
(moto, `scripts/s3.sh start`): the bytes land in the bucket under the file id, a file larger
than a part streams as a multipart upload and reads back byte-exact, delete removes the object.
Without LLS_TEST_S3_ENDPOINT the test fails, unless LLS_TEST_NO_S3=1 (NOT RUN)."""

from __future__ import annotations

import io
import os
import re
import urllib.request
import uuid

import openai
import pytest

from conftest import CLIENT_TIMEOUT_S, StackServer


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """The keys in `bucket` (moto answers unsigned requests)."""
    with urllib.request.urlopen(f"{endpoint}/{bucket}?list-type=2", timeout=CLIENT_TIMEOUT_S) as r:
        return sorted(re.findall(r"<Key>([^<]+)</Key>", r.read().decode()))


def named(content: bytes, name: str) -> io.BytesIO:
    buf = io.BytesIO(content)
    buf.name = name
    return buf


def test_openai_sdk_round_trip_on_s3(storage, mock_backend, workdir, s3_endpoint):
    bucket = f"lls-e2e-{uuid.uuid4().hex[:16]}"
    env = {
        "ENABLE_S3": "1",
        "S3_BUCKET_NAME": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_AUTO_CREATE_BUCKET": "true",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing",
    }
    log = workdir / f"server-{storage.name}-s3.log"
    server = StackServer(storage, storage.new_state(), mock_backend.url, log, env=env).start()
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="e2e-unused", max_retries=0, timeout=CLIENT_TIMEOUT_S)
        small = f"s3 test {uuid.uuid4().hex}".encode()
        f = client.files.create(file=named(small, "small.txt"), purpose="assistants")
        assert (f.filename, f.bytes, f.purpose) == ("small.txt", len(small), "assistants")
        assert bucket_keys(s3_endpoint, bucket) == [f.id], "the bytes are in the bucket, keyed by id"
        assert client.files.retrieve(f.id) == f
        assert client.files.content(f.id).content == small

        # Two parts and a bit (part size 5 MiB in run.yaml): a streamed multipart upload.
        big = bytes(i % 251 for i in range(11 * 1024 * 1024 + 7))
        g = client.files.create(file=named(big, "big.bin"), purpose="batch")
        assert g.bytes == len(big)
        assert client.files.content(g.id).content == big
        assert [x.id for x in client.files.list(purpose="batch")] == [g.id]

        assert client.files.delete(f.id).deleted
        assert bucket_keys(s3_endpoint, bucket) == [g.id], "delete removes the object"
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(f.id)
    except Exception:
        print(server.tail())
        raise
    finally:
        server.stop()
