"""Fixtures of the e2e suite: boot the real `llama-stack` binary against the deterministic mock
backend (`lls-mock-openai`) and talk to it over HTTP with the real `openai` and
`llama_stack_client` SDKs.

Session fixtures start one mock and, per storage flavour, one server with fresh state:
`sqlite` always, `postgres` at LLS_TEST_POSTGRES_URL (without it the postgres tests fail, unless
LLS_TEST_NO_POSTGRES=1, which skips them with a NOT RUN reason in the summary).
Binaries come from $LLS_BIN_DIR (default: $CARGO_TARGET_DIR/debug, with CARGO_TARGET_DIR
defaulting to ~/.cache/llama-stack-rs/target).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import unquote, urlparse

import httpx
import pytest

E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT_S = float(os.environ.get("LLS_E2E_STARTUP_TIMEOUT", "90"))
CLIENT_TIMEOUT_S = 30.0

T = TypeVar("T")


# --------------------------------------------------------------------------- binaries, ports


def bin_dir() -> Path:
    if os.environ.get("LLS_BIN_DIR"):
        return Path(os.environ["LLS_BIN_DIR"])
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/llama-stack-rs/target")
    return Path(target) / "debug"


def binary(name: str) -> Path:
    path = bin_dir() / name
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} not found: build it with "
            "`cargo build -p lls-distribution-starter -p lls-testkit --bins` "
            "or point LLS_BIN_DIR at the folder holding it",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.1) -> T:
    """Calls fn until it returns without raising (stores are written in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


# --------------------------------------------------------------------------- processes


class Process:
    """A child process whose output goes to a log file; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.log_offset = 0

    def start(self, ready_url: str | Callable[[], str | None], probe: Callable[[str], int] | None = None) -> None:
        """Starts the process and waits until `ready_url` (or the URL the callable finds, once it
        finds one) answers 200 to a GET, or to `probe` (a request that returns the status, for
        mocks that refuse unsigned requests)."""
        with open(self.log_path, "ab") as log:
            self.log_offset = log.tell()
            log.write(f"\n===== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(f"{self.name} exited with status {rc} while starting; log {self.log_path}:\n{self.tail()}")
            url = ready_url() if callable(ready_url) else ready_url
            try:
                if url and (probe(url) if probe else httpx.get(url, timeout=2).status_code) == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready at {url} after {STARTUP_TIMEOUT_S}s; log:\n{self.tail()}")
            time.sleep(0.1)

    def output(self) -> str:
        """What this run of the process has logged so far."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL after `timeout`. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def start_with_retry(make: Callable[[int], Process], ready_path: str, attempts: int = 3) -> tuple[Process, int]:
    """Starts a process on a free port; retries on another port if it dies (port taken meanwhile)."""
    last: Exception | None = None
    for _ in range(attempts):
        port = free_port()
        p = make(port)
        try:
            p.start(f"http://127.0.0.1:{port}{ready_path}")
            return p, port
        except RuntimeError as e:
            last = e
            p.stop()
    raise RuntimeError(str(last))


class AnnouncedMock:
    """A test kit binary that picks its own port and prints `listening on <url>`: started, and
    ready once `<url><ready_path>` answers."""

    def __init__(self, name: str, argv: list[str], workdir: Path, url_pattern: str, ready_path: str,
                 probe: Callable[[str], int] | None = None):
        self.process = Process(name, [str(binary(name)), *argv], dict(os.environ), workdir / f"{name}.log")
        self.url = ""

        def announced() -> str | None:
            m = re.search(rf"listening on ({url_pattern})", self.process.output())
            if m:
                self.url = m.group(1)
                return f"{self.url}{ready_path}"
            return None

        self.process.start(announced, probe)


def MockBackend(workdir: Path) -> AnnouncedMock:
    """`lls-mock-openai` (the OpenAI API, with the deterministic model)."""
    return AnnouncedMock("lls-mock-openai", ["--host", "127.0.0.1", "--port", "0"], workdir, r"http://\S+/v1", "/models")


def MockFms(workdir: Path) -> AnnouncedMock:
    """`lls-mock-fms` (the FMS guardrails detector and orchestrator APIs; detector `hap` flags
    "kidnap"); its URL is MOCK_FMS_URL for the servers."""
    return AnnouncedMock("lls-mock-fms", [], workdir, r"http://\S+", "/health")


def MockWebSearch(workdir: Path) -> AnnouncedMock:
    """`lls-mock-websearch` (the Tavily and Brave search APIs, key `mock-websearch-key`); its URL is
    MOCK_WEBSEARCH_URL for the servers."""
    return AnnouncedMock("lls-mock-websearch", [], workdir, r"http://\S+", "/health")


# --------------------------------------------------------------------------- storage flavours


class SqliteStorage:
    """Server state in SQLite files under a fresh temp dir (SQLITE_STORE_DIR) per state."""

    name = "sqlite"
    run_yaml = E2E_DIR / "run.yaml"

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def new_state(self) -> dict[str, str]:
        return {"SQLITE_STORE_DIR": tempfile.mkdtemp(prefix="state-", dir=self.workdir)}

    def close(self) -> None:
        pass


class PostgresStorage:
    """Server state in a fresh PostgreSQL database per state, created from LLS_TEST_POSTGRES_URL."""

    name = "postgres"
    run_yaml = E2E_DIR / "run-postgres.yaml"

    def __init__(self, url: str):
        self.url = url
        u = urlparse(url)
        self.host = u.hostname or "127.0.0.1"
        self.port = str(u.port or 5432)
        self.user = unquote(u.username or "postgres")
        self.password = unquote(u.password or "")
        self.databases: list[str] = []

    def _admin(self):
        import psycopg2

        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        return conn

    def new_state(self) -> dict[str, str]:
        db = f"lls_e2e_{uuid.uuid4().hex[:12]}"
        conn = self._admin()  # not `with conn`: psycopg2 would open a transaction, CREATE DATABASE refuses that
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{db}"')
        finally:
            conn.close()
        self.databases.append(db)
        env = {"POSTGRES_HOST": self.host, "POSTGRES_PORT": self.port, "POSTGRES_DB": db, "POSTGRES_USER": self.user}
        env["POSTGRES_PASSWORD"] = self.password
        return env

    def close(self) -> None:
        if not self.databases:
            return
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                for db in self.databases:
                    cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            conn.close()


# --------------------------------------------------------------------------- the server


class StackServer:
    """One `llama-stack run` process over a given storage state (and the storage flavour's
    run.yaml, unless given another, with `env` added to its environment)."""

    def __init__(
        self,
        storage,
        state: dict[str, str],
        mock_url: str,
        log_path: Path,
        run_yaml: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self.storage = storage
        self.state = state
        self.mock_url = mock_url
        self.log_path = log_path
        self.run_yaml = run_yaml or storage.run_yaml
        self.env = env or {}
        self.process: Process | None = None
        self.port = 0

    def start(self, attempts: int = 3) -> "StackServer":
        """Starts the server; `attempts` > 1 retries on another port when it exits while starting."""
        exe = str(binary("llama-stack"))
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.update(self.state)
        env.update(self.env)

        def make(port: int) -> Process:
            argv = [exe, "run", str(self.run_yaml), "--port", str(port), "--host", "127.0.0.1"]
            argv += ["--env", f"MOCK_OPENAI_URL={self.mock_url}"]
            return Process("llama-stack", argv, env, self.log_path)

        self.process, self.port = start_with_retry(make, "/v1/health", attempts)
        return self

    def stop(self) -> int | None:
        return self.process.stop() if self.process else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 40) -> str:
        return self.process.tail(lines) if self.process else "(not started)"


# --------------------------------------------------------------------------- authentication


class TestIssuer:
    """`lls-test-issuer`: an RS256 and an ES256 key, their JWKS at `jwks_uri`, and test-only
    `POST /mint` and `POST /rotate` (see crates/testkit/testkit/src/issuers/mint.rs)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, log_path: Path):
        exe = str(binary("lls-test-issuer"))
        self.process = Process("lls-test-issuer", [exe, "--host", "127.0.0.1", "--port", "0"], dict(os.environ), log_path)
        self.url = ""

        def announced() -> str | None:
            m = re.search(r"listening on (http://\S+)", self.process.output())
            if m:
                self.url = m.group(1)
                return f"{self.url}/jwks"
            return None

        self.process.start(announced)

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def jwks_uri(self) -> str:
        return f"{self.url}/jwks"

    def env(self) -> dict[str, str]:
        """What run-auth.yaml reads to trust this issuer."""
        return {"AUTH_ISSUER": self.issuer, "AUTH_JWKS_URI": self.jwks_uri, "AUTH_AUDIENCE": "llama-stack"}

    def mint(self, alg: str = "RS256", unpublished: bool = False, kid: str | None = None, **claims) -> str:
        """A JWT with these claims (`iss`, `aud`, `iat`, `exp` filled in when absent)."""
        body: dict = {"claims": claims, "alg": alg, "unpublished": unpublished}
        if kid is not None:
            body["kid"] = kid
        r = httpx.post(f"{self.url}/mint", json=body, timeout=CLIENT_TIMEOUT_S)
        r.raise_for_status()
        return r.json()["token"]

    def rotate(self) -> list[str]:
        """New keys replace the published ones; returns their key ids."""
        r = httpx.post(f"{self.url}/rotate", timeout=CLIENT_TIMEOUT_S)
        r.raise_for_status()
        return r.json()["kids"]

    def kids(self) -> list[str]:
        return [k["kid"] for k in httpx.get(self.jwks_uri, timeout=CLIENT_TIMEOUT_S).json()["keys"]]


def _merged(base: dict, overlay: dict) -> dict:
    """`overlay` over `base`: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def auth_run_yaml(storage, path: Path, access_policy: list | None = None, claims_mapping: dict | None = None) -> Path:
    """Writes the storage flavour's run.yaml with run-auth.yaml merged over it (and the given
    access policy and claims mapping) to `path`."""
    import yaml

    config = _merged(yaml.safe_load(storage.run_yaml.read_text()), yaml.safe_load((E2E_DIR / "run-auth.yaml").read_text()))
    if access_policy is not None:
        config["server"]["auth"]["access_policy"] = access_policy
    if claims_mapping is not None:
        config["server"]["auth"]["provider_config"]["claims_mapping"] = claims_mapping
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def mock_backend(workdir):
    mock = MockBackend(workdir)
    fms = MockFms(workdir)
    # Every server's run.yaml reads it (the trustyai_fms provider's orchestrator).
    os.environ["MOCK_FMS_URL"] = fms.url
    websearch = MockWebSearch(workdir)
    os.environ["MOCK_WEBSEARCH_URL"] = websearch.url
    yield mock
    websearch.process.stop()
    fms.process.stop()
    mock.process.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def storage(request, workdir):
    if request.param == "postgres":
        url = os.environ.get("LLS_TEST_POSTGRES_URL")
        if not url:
            if os.environ.get("LLS_TEST_NO_POSTGRES") == "1":
                pytest.skip("NOT RUN: the postgres flavour (LLS_TEST_NO_POSTGRES=1)")
            pytest.fail(
                "the postgres flavour needs LLS_TEST_POSTGRES_URL "
                "(`export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)`), "
                "or set LLS_TEST_NO_POSTGRES=1 to not run it",
                pytrace=False,
            )
        s = PostgresStorage(url)
    else:
        s = SqliteStorage(workdir)
    yield s
    s.close()


@pytest.fixture(scope="session")
def stack(storage, mock_backend, workdir):
    """The shared server of one storage flavour, with fresh state."""
    server = StackServer(storage, storage.new_state(), mock_backend.url, workdir / f"server-{storage.name}.log")
    server.start()
    yield server
    server.stop()


class StackStarter:
    """Starts extra servers of one storage flavour (e.g. to restart over the same state)."""

    def __init__(self, storage, mock_url: str, workdir: Path):
        self.storage = storage
        self.mock_url = mock_url
        self.workdir = workdir
        self.servers: list[StackServer] = []

    def __call__(self, state: dict[str, str] | None = None) -> StackServer:
        log = self.workdir / f"server-{self.storage.name}-{uuid.uuid4().hex[:6]}.log"
        server = StackServer(self.storage, state if state is not None else self.storage.new_state(), self.mock_url, log)
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def start_stack(storage, mock_backend, workdir):
    """`start_stack(state=None) -> StackServer`; every server started is stopped after the test."""
    starter = StackStarter(storage, mock_backend.url, workdir)
    yield starter
    starter.stop_all()


@pytest.fixture(scope="session")
def issuer(workdir):
    """The session's token issuer; tests that rotate keys start their own (`TestIssuer`)."""
    iss = TestIssuer(workdir / "issuer.log")
    yield iss
    iss.process.stop()


class AuthStackStarter:
    """Starts servers of one storage flavour with `server.auth` on (run-auth.yaml merged over
    the flavour's run.yaml), trusting a `TestIssuer`; all are stopped by `stop_all`."""

    def __init__(self, storage, mock_url: str, workdir: Path):
        self.storage = storage
        self.mock_url = mock_url
        self.workdir = workdir
        self.servers: list[StackServer] = []

    def __call__(
        self,
        issuer: TestIssuer,
        access_policy: list | None = None,
        claims_mapping: dict | None = None,
        env: dict[str, str] | None = None,
    ) -> StackServer:
        tag = f"{self.storage.name}-{uuid.uuid4().hex[:6]}"
        run_yaml = auth_run_yaml(self.storage, self.workdir / f"run-auth-{tag}.yaml", access_policy, claims_mapping)
        server_env = issuer.env() | (env or {})
        server = StackServer(self.storage, self.storage.new_state(), self.mock_url, self.workdir / f"server-auth-{tag}.log", run_yaml, server_env)
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="session")
def auth_starter(storage, mock_backend, workdir):
    """Session-wide `AuthStackStarter` of the storage flavour (servers stopped at the end)."""
    starter = AuthStackStarter(storage, mock_backend.url, workdir)
    yield starter
    starter.stop_all()


@pytest.fixture
def start_auth_stack(storage, mock_backend, workdir):
    """`start_auth_stack(issuer, access_policy=None, claims_mapping=None, env=None)`; every
    server started is stopped after the test."""
    starter = AuthStackStarter(storage, mock_backend.url, workdir)
    yield starter
    starter.stop_all()


@pytest.fixture
def openai_client(stack):
    import openai

    return openai.OpenAI(base_url=f"{stack.url}/v1", api_key="e2e-unused", max_retries=0, timeout=CLIENT_TIMEOUT_S)


@pytest.fixture
def ls_client(stack):
    from llama_stack_client import LlamaStackClient

    return LlamaStackClient(base_url=stack.url, max_retries=0, timeout=CLIENT_TIMEOUT_S)


@pytest.fixture
def http(stack):
    with httpx.Client(base_url=stack.url, timeout=CLIENT_TIMEOUT_S) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the last lines of the servers' and the mock's logs to the report."""
    report = yield
    if report.failed and report.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {})
        servers = []
        if isinstance(funcargs.get("stack"), StackServer):
            servers.append(funcargs["stack"])
        if isinstance(funcargs.get("start_stack"), StackStarter):
            servers += funcargs["start_stack"].servers
        for name in ("auth_stack", "admin_stack", "starter_policy_stack"):
            if isinstance(funcargs.get(name), StackServer):
                servers.append(funcargs[name])
        if isinstance(funcargs.get("start_auth_stack"), AuthStackStarter):
            servers += funcargs["start_auth_stack"].servers
        for server in servers:
            report.sections.append((f"llama-stack log ({server.log_path})", server.tail()))
        mock = funcargs.get("mock_backend")
        if isinstance(mock, AnnouncedMock):
            report.sections.append((f"mock log ({mock.process.log_path})", mock.process.tail(15)))
    return report


@pytest.fixture
def s3_endpoint() -> str:
    """The S3-compatible server at LLS_TEST_S3_ENDPOINT (moto, `scripts/s3.sh start`)."""
    url = os.environ.get("LLS_TEST_S3_ENDPOINT")
    if url:
        return url.rstrip("/")
    if os.environ.get("LLS_TEST_NO_S3") == "1":
        pytest.skip("NOT RUN: remote::s3 e2e (LLS_TEST_NO_S3=1)")
    pytest.fail(
        "remote::s3 e2e needs LLS_TEST_S3_ENDPOINT (`export LLS_TEST_S3_ENDPOINT=$(scripts/s3.sh start)`), "
        "or set LLS_TEST_NO_S3=1 to not run it",
        pytrace=False,
    )
