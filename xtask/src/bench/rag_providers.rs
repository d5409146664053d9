//! The vector_io providers `bench rag` compares: each one's `providers.vector_io` entry in the
//! run.yaml, and what it needs besides the server — a fresh PostgreSQL database for
//! `remote::pgvector`, a Milvus Lite server for `remote::milvus` — made before its run and
//! removed after. A provider that cannot be had is reported NOT RUN with the reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// A vector_io provider under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Faiss,
    SqliteVec,
    Pgvector,
    Milvus,
}

impl Provider {
    pub const ALL: [Provider; 4] = [Provider::Faiss, Provider::SqliteVec, Provider::Pgvector, Provider::Milvus];

    pub fn provider_type(self) -> &'static str {
        match self {
            Provider::Faiss => "inline::faiss",
            Provider::SqliteVec => "inline::sqlite-vec",
            Provider::Pgvector => "remote::pgvector",
            Provider::Milvus => "remote::milvus",
        }
    }

    /// Its `provider_id` in the run.yaml and its name on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Provider::Faiss => "faiss",
            Provider::SqliteVec => "sqlite-vec",
            Provider::Pgvector => "pgvector",
            Provider::Milvus => "milvus",
        }
    }
}

/// remote::pgvector's HNSW parameters in the bench (the provider's defaults, written out so the
/// report can name them): `m`, `ef_construction`, `ef_search`, and `hnsw_min_chunks` (the
/// store size at which its index is built; exact search below).
pub const PGVECTOR_HNSW: (u32, u32, u32, u64) = (16, 64, 500, 10_000);

/// A PostgreSQL address, from a `postgres://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgAddress {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub db: String,
}

impl PgAddress {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("the PostgreSQL URL {url:?} is invalid"))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            bail!("the PostgreSQL URL {url:?} is not postgres://");
        }
        let db = parsed.path().trim_start_matches('/');
        Ok(PgAddress {
            host: parsed.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: parsed.port().unwrap_or(5432),
            user: if parsed.username().is_empty() { "postgres".to_owned() } else { percent_decoded(parsed.username()) },
            password: parsed.password().map(percent_decoded),
            db: if db.is_empty() { "postgres".to_owned() } else { percent_decoded(db) },
        })
    }

    /// The same server, database `db`.
    pub fn with_db(&self, db: &str) -> Self {
        PgAddress { db: db.to_owned(), ..self.clone() }
    }

    /// libpq's key/value connection string (what psql takes as its database).
    fn conninfo(&self) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        let password = self.password.as_deref().map(|p| format!(" password={}", quote(p))).unwrap_or_default();
        format!(
            "host={} port={} user={} dbname={}{password} connect_timeout=5",
            quote(&self.host),
            self.port,
            quote(&self.user),
            quote(&self.db)
        )
    }
}

/// `%XX` escapes of a URL part decoded (what `postgres://` URLs use for odd characters).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a provider's vectors live for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Under the run's state directory (faiss: the kv store; sqlite-vec: its own file).
    Local,
    /// A database made for the run.
    Postgres(PgAddress),
    /// A Milvus server.
    Milvus(String),
}

/// A YAML scalar: JSON's quoting is valid YAML.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The provider's entry under `providers.vector_io`, indented as the run.yaml lists it.
pub fn vector_io_yaml(provider: Provider, backend: &Backend, state: &Path, probe_fraction: Option<f64>) -> anyhow::Result<String> {
    let head = format!("  - provider_id: {}\n    provider_type: {}\n    config:\n", provider.id(), provider.provider_type());
    let config = match (provider, backend) {
        (Provider::Faiss, Backend::Local) => {
            let probe = probe_fraction.map(|f| format!("      ivf_probe_fraction: {f}\n")).unwrap_or_default();
            format!("      persistence:\n        namespace: vector_io::faiss\n        backend: kv_default\n{probe}")
        }
        (Provider::SqliteVec, Backend::Local) => {
            format!("      db_path: {}\n", quoted(&state.join("sqlite_vec.db").display().to_string()))
        }
        (Provider::Pgvector, Backend::Postgres(pg)) => {
            let (m, ef_construction, ef_search, min_chunks) = PGVECTOR_HNSW;
            format!(
                "      host: {}\n      port: {}\n      db: {}\n      user: {}\n      password: {}\n      distance_metric: cosine\n      \
                 hnsw_m: {m}\n      hnsw_ef_construction: {ef_construction}\n      hnsw_ef_search: {ef_search}\n      \
                 hnsw_min_chunks: {min_chunks}\n",
                quoted(&pg.host),
                pg.port,
                quoted(&pg.db),
                quoted(&pg.user),
                quoted(pg.password.as_deref().unwrap_or("")),
            )
        }
        (Provider::Milvus, Backend::Milvus(uri)) => format!("      uri: {}\n      index_type: FLAT\n      metric_type: COSINE\n", quoted(uri)),
        (provider, backend) => bail!("{} cannot run on {backend:?}", provider.provider_type()),
    };
    Ok(head + &config)
}

/// The index each provider searches, for the report. faiss names the IVF index it moved to in
/// its log (`server_log`), with the number of lists; pgvector logs the HNSW index it built, and
/// whether over `halfvec` (a pgvector before 0.7, or values beyond its range, give `vector`).
pub fn index_description(provider: Provider, server_log: &str, probe_fraction: Option<f64>) -> String {
    match provider {
        Provider::Faiss => {
            let moved = server_log.lines().rev().find(|l| l.contains("moved a vector store to an IVF index"));
            let Some(line) = moved else {
                return "flat, exact".to_owned();
            };
            let lists = field(line, "nlist").map(|n| format!(", {n} lists")).unwrap_or_default();
            let probed = probe_fraction.map_or_else(|| "1/16".to_owned(), |f| f.to_string());
            format!("IVF{lists}, {probed} probed")
        }
        Provider::SqliteVec => "vec0, exact (L2 scan)".to_owned(),
        Provider::Pgvector => {
            let (m, ef_construction, ef_search, min_chunks) = PGVECTOR_HNSW;
            let built = server_log.lines().rev().find(|l| l.contains("built a vector store's HNSW index"));
            let Some(line) = built else {
                return format!("exact scan (no HNSW index was built; due at {min_chunks} chunks)");
            };
            let rows = field(line, "rows").map_or_else(String::new, |n| format!("built in one pass over {n} chunks, "));
            let settings = format!("(m {m}, ef_construction {ef_construction}, ef_search {ef_search}; {rows}first due at {min_chunks}), cosine");
            if field(line, "half_precision") == Some("true") {
                format!("HNSW over `halfvec` {settings}, candidates re-ranked at full precision")
            } else {
                format!("HNSW over `vector` {settings}")
            }
        }
        Provider::Milvus => "FLAT, exact (0.3.5's and the provider's default), COSINE".to_owned(),
    }
}

/// A `name=value` field of a log line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

/// The most rows `store`'s HNSW index has covered, per pgvector's log (`None`: none built): a
/// build's rows, or the rows after pending ones were folded in. Bulk writes wait outside the
/// index until one of those takes them in.
pub fn pgvector_indexed_rows(server_log: &str, store: &str) -> Option<u64> {
    server_log
        .lines()
        .filter(|l| field(l, "vector_store_id") == Some(store))
        .filter_map(|l| {
            let rows = if l.contains("built a vector store's HNSW index") {
                field(l, "rows")
            } else if l.contains("wrote a vector store's pending rows into its HNSW index") {
                field(l, "indexed_rows")
            } else {
                None
            };
            rows?.parse().ok()
        })
        .max()
}

/// Where the remote providers' servers come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// A PostgreSQL server with pgvector installed; the bench makes a database on it per run.
    pub postgres_url: Option<String>,
    /// A Milvus server; without it the bench starts its own Milvus Lite (`scripts/milvus.sh`).
    pub milvus_uri: Option<String>,
}

/// What the bench made for a provider's run, removed when dropped (on errors and Ctrl-C too).
pub struct Held {
    pub backend: Backend,
    release: Release,
}

enum Release {
    Nothing,
    /// Drop database `db` through `admin` (the server's database the URL named).
    Database { admin: PgAddress, db: String },
    /// Stop the Milvus Lite that `scripts/milvus.sh` started with this directory and port.
    Milvus { dir: PathBuf, port: u16 },
}

impl Drop for Held {
    fn drop(&mut self) {
        match &self.release {
            Release::Nothing => {}
            Release::Database { admin, db } => {
                if let Err(e) = psql(admin, &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")) {
                    eprintln!("could not drop the bench database {db}: {e:#}");
                }
            }
            Release::Milvus { dir, port } => {
                if let Err(e) = milvus_script("stop", dir, *port) {
                    eprintln!("could not stop the bench's Milvus Lite: {e:#}");
                }
            }
        }
    }
}

/// The provider's backend for one run, or why it cannot run (the NOT RUN line). `linked` is the
/// server binary's `list-providers vector_io`; `state` is the run's own directory.
pub fn acquire(provider: Provider, linked: &str, sources: &Sources, state: &Path) -> Result<Held, String> {
    if !linked.lines().any(|l| l.split_whitespace().nth(1) == Some(provider.provider_type())) {
        let types: Vec<&str> = linked.lines().skip(1).filter_map(|l| l.split_whitespace().nth(1)).collect();
        return Err(format!(
            "this server build does not link {}; `llama-stack list-providers vector_io` lists {}",
            provider.provider_type(),
            types.join(", ")
        ));
    }
    match provider {
        Provider::Faiss | Provider::SqliteVec => Ok(Held { backend: Backend::Local, release: Release::Nothing }),
        Provider::Pgvector => {
            let url = postgres_url(sources)?;
            let admin = PgAddress::parse(&url).map_err(|e| format!("{e:#}"))?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let db = format!("lls_bench_rag_{now}_{}", std::process::id());
            psql(&admin, &format!("CREATE DATABASE \"{db}\"")).map_err(|e| format!("creating a database on {url}: {e:#}"))?;
            eprintln!("pgvector: database {db} on {}:{}", admin.host, admin.port);
            Ok(Held { backend: Backend::Postgres(admin.with_db(&db)), release: Release::Database { admin, db } })
        }
        Provider::Milvus => {
            if let Some(uri) = sources.milvus_uri.as_ref().filter(|u| !u.is_empty()) {
                return Ok(Held { backend: Backend::Milvus(uri.clone()), release: Release::Nothing });
            }
            let dir = state.join("milvus");
            let port = super::procs::free_port().map_err(|e| format!("{e:#}"))?;
            let uri = milvus_script("start", &dir, port).map_err(|e| format!("starting Milvus Lite with scripts/milvus.sh: {e:#}"))?;
            eprintln!("milvus: Milvus Lite at {uri}");
            Ok(Held { backend: Backend::Milvus(uri), release: Release::Milvus { dir, port } })
        }
    }
}

/// The PostgreSQL URL: given, `LLS_TEST_POSTGRES_URL`, else what `scripts/postgres.sh start`
/// prints (it starts one, or answers the running one's).
fn postgres_url(sources: &Sources) -> Result<String, String> {
    if let Some(url) = sources.postgres_url.clone().or_else(|| std::env::var("LLS_TEST_POSTGRES_URL").ok()).filter(|u| !u.is_empty()) {
        return Ok(url);
    }
    eprintln!("pgvector: no PostgreSQL URL given (--postgres-url, LLS_BENCH_POSTGRES_URL, LLS_TEST_POSTGRES_URL): scripts/postgres.sh start");
    script(Command::new("bash").arg(crate::workspace_root().join("scripts/postgres.sh")).arg("start"))
        .map_err(|e| format!("no PostgreSQL URL given and scripts/postgres.sh start failed: {e:#}"))
}

/// `scripts/milvus.sh what` with the bench's own data directory and port; its stdout.
fn milvus_script(what: &str, dir: &Path, port: u16) -> anyhow::Result<String> {
    let path = crate::workspace_root().join("scripts/milvus.sh");
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    script(Command::new("bash").arg(path).arg(what).env("LLS_MILVUS_DIR", dir).env("LLS_MILVUS_PORT", port.to_string()))
}

/// Runs a helper script, its stderr passed through; its trimmed stdout.
fn script(command: &mut Command) -> anyhow::Result<String> {
    let output = command.stderr(Stdio::inherit()).output().context("running bash")?;
    if !output.status.success() {
        bail!("exited with {}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// One SQL statement through psql (no transaction: CREATE/DROP DATABASE refuse one).
fn psql(address: &PgAddress, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &address.conninfo(), "-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("running psql (apt-get install postgresql-client)")?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_gets_its_own_entry() {
        let state = Path::new("/tmp/state");
        let faiss = vector_io_yaml(Provider::Faiss, &Backend::Local, state, Some(0.02)).unwrap();
        assert_eq!(
            faiss,
            "  - provider_id: faiss\n    provider_type: inline::faiss\n    config:\n      persistence:\n        namespace: vector_io::faiss\n        \
             backend: kv_default\n      ivf_probe_fraction: 0.02\n"
        );
        let sqlite = vector_io_yaml(Provider::SqliteVec, &Backend::Local, state, None).unwrap();
        assert!(sqlite.ends_with("    provider_type: inline::sqlite-vec\n    config:\n      db_path: \"/tmp/state/sqlite_vec.db\"\n"), "{sqlite}");
        let pg = PgAddress::parse("postgres://postgres@127.0.0.1:54329/llamastack").unwrap().with_db("lls_bench_rag_1_2");
        let pgvector = vector_io_yaml(Provider::Pgvector, &Backend::Postgres(pg), state, Some(0.5)).unwrap();
        assert_eq!(
            pgvector,
            "  - provider_id: pgvector\n    provider_type: remote::pgvector\n    config:\n      host: \"127.0.0.1\"\n      port: 54329\n      \
             db: \"lls_bench_rag_1_2\"\n      user: \"postgres\"\n      password: \"\"\n      distance_metric: cosine\n      hnsw_m: 16\n      \
             hnsw_ef_construction: 64\n      hnsw_ef_search: 500\n      hnsw_min_chunks: 10000\n"
        );
        let milvus = vector_io_yaml(Provider::Milvus, &Backend::Milvus("http://127.0.0.1:19539".into()), state, None).unwrap();
        assert!(
            milvus.ends_with("    provider_type: remote::milvus\n    config:\n      uri: \"http://127.0.0.1:19539\"\n      index_type: FLAT\n      metric_type: COSINE\n"),
            "{milvus}"
        );
        // A remote provider without its server is a bench bug, not a run.yaml.
        assert!(vector_io_yaml(Provider::Pgvector, &Backend::Local, state, None).is_err());
    }

    #[test]
    fn faiss_names_its_index_from_the_log() {
        let log = "INFO lls: listening\nINFO inline::faiss: vector_store_id=vs_1 chunks=100000 nlist=566 imbalance=1.2 elapsed_ms=900 inline::faiss moved a vector store to an IVF index\n";
        assert_eq!(index_description(Provider::Faiss, log, None), "IVF, 566 lists, 1/16 probed");
        assert_eq!(index_description(Provider::Faiss, log, Some(0.02)), "IVF, 566 lists, 0.02 probed");
        assert_eq!(index_description(Provider::Faiss, "INFO lls: listening", None), "flat, exact");
    }

    #[test]
    fn pgvector_names_its_index_from_the_log() {
        let built = |half: bool| {
            format!(
                "INFO request: lls_vector_io_remote_pgvector::provider: remote::pgvector built a vector store's HNSW index \
                 vector_store_id=vs_1 rows=100000 generation=2 elapsed_ms=5100 half_precision={half}\n"
            )
        };
        assert_eq!(pgvector_indexed_rows(&(built(true) + &built(false).replace("100000", "10000")), "vs_1"), Some(100_000));
        assert_eq!(pgvector_indexed_rows(&built(true), "vs_2"), None);
        let folded = "INFO remote::pgvector wrote a vector store's pending rows into its HNSW index vector_store_id=vs_1 rows=9000 \
                      indexed_rows=100000 elapsed_ms=9000\n";
        assert_eq!(pgvector_indexed_rows(&(built(true).replace("100000", "91000") + folded), "vs_1"), Some(100_000));
        assert_eq!(
            index_description(Provider::Pgvector, &built(true), None),
            "HNSW over `halfvec` (m 16, ef_construction 64, ef_search 500; built in one pass over 100000 chunks, first due at 10000), cosine, \
             candidates re-ranked at full precision"
        );
        assert_eq!(
            index_description(Provider::Pgvector, &built(false), None),
            "HNSW over `vector` (m 16, ef_construction 64, ef_search 500; built in one pass over 100000 chunks, first due at 10000), cosine"
        );
        assert_eq!(
            index_description(Provider::Pgvector, "INFO lls: listening", None),
            "exact scan (no HNSW index was built; due at 10000 chunks)"
        );
    }

    #[test]
    fn postgres_urls_parse_with_defaults_and_quote_in_conninfo() {
        let a = PgAddress::parse("postgresql://u:p%27w@db.example/vectors").unwrap();
        assert_eq!((a.host.as_str(), a.port, a.user.as_str(), a.password.as_deref(), a.db.as_str()), ("db.example", 5432, "u", Some("p'w"), "vectors"));
        assert_eq!(a.conninfo(), r"host='db.example' port=5432 user='u' dbname='vectors' password='p\'w' connect_timeout=5");
        let b = PgAddress::parse("postgres://127.0.0.1:54329").unwrap();
        assert_eq!((b.user.as_str(), b.password, b.db.as_str()), ("postgres", None, "postgres"));
        assert!(PgAddress::parse("http://127.0.0.1/x").is_err());
    }

    #[test]
    fn a_provider_the_server_does_not_link_is_not_run() {
        let linked = "API            PROVIDER TYPE                        DESCRIPTION\n\
                      vector_io      inline::faiss                        faiss\n\
                      vector_io      remote::pgvector                     PostgreSQL\n";
        let state = Path::new("/nonexistent");
        let why = acquire(Provider::Milvus, linked, &Sources::default(), state).err().unwrap();
        assert_eq!(why, "this server build does not link remote::milvus; `llama-stack list-providers vector_io` lists inline::faiss, remote::pgvector");
        assert!(acquire(Provider::SqliteVec, linked, &Sources::default(), state).is_err());
        assert_eq!(acquire(Provider::Faiss, linked, &Sources::default(), state).unwrap().backend, Backend::Local);
    }
}
