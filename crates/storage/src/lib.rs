//! KV and SQL stores over SQLite and PostgreSQL.
