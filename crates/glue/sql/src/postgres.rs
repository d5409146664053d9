//! The one way the stack opens a PostgreSQL pool: a URL checked without I/O, one plain
//! connection attempt first (so a server that is down is reported at once), then the pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

const MAX_CONNECTIONS: u32 = 10;
/// How long connecting (and later, waiting for a free connection) may take.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses a `postgres://` URL without connecting (config checks call this).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(sqlx::Error::Configuration(
            "the URL must start with postgres:// or postgresql://".into(),
        ));
    }
    Ok(PgConnectOptions::from_str(url)?.application_name("llama-stack-rs"))
}

/// Connects eagerly, so a wrong address fails when the backend is first used. One plain
/// connection attempt comes first: the pool would retry a refused connection until its acquire
/// timeout, and a server that is down should be reported at once.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    connect_with(connect_options(url)?).await
}

/// [`connect`] with options a caller adjusted (say, session settings for every connection).
pub async fn connect_with(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    let probe = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting timed out",
            ))
        })??;
    probe.close().await?;
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgres_urls_are_accepted() {
        assert!(connect_options("postgres://u:p@127.0.0.1:5432/db").is_ok());
        assert!(connect_options("postgresql://u@localhost/db").is_ok());
        assert!(matches!(
            connect_options("mysql://u@localhost/db"),
            Err(sqlx::Error::Configuration(_))
        ));
    }
}
