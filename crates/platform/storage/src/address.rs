//! PostgreSQL addresses: building a `postgres://` URL from run.yaml's parts (percent-encoded),
//! and hiding the password whenever a URL is shown.

use std::fmt::Write as _;

/// A PostgreSQL server and database, as run.yaml's `kv_postgres`/`sql_postgres` spell them.
#[derive(Clone, Copy)]
pub struct PostgresAddress<'a> {
    /// A host name, an IP address, or a Unix socket directory (starting with `/`).
    pub host: &'a str,
    pub port: u16,
    pub db: &'a str,
    pub user: &'a str,
    pub password: Option<&'a str>,
    /// libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    pub ssl_mode: Option<&'a str>,
    pub ca_cert_path: Option<&'a str>,
}

impl std::fmt::Debug for PostgresAddress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.url()))
    }
}

impl PostgresAddress<'_> {
    /// The `postgres://` URL for [`BackendSpec`](crate::BackendSpec).
    pub fn url(&self) -> String {
        let mut url = format!("postgres://{}", encode(self.user));
        if let Some(password) = self.password {
            let _ = write!(url, ":{}", encode(password));
        }
        let mut query = Vec::new();
        let host = if self.host.starts_with('/') {
            query.push(format!("host={}", encode(self.host)));
            "localhost".to_owned()
        } else if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            encode(self.host)
        };
        let _ = write!(url, "@{host}:{}/{}", self.port, encode(self.db));
        if let Some(mode) = self.ssl_mode {
            query.push(format!("sslmode={}", encode(mode)));
        }
        if let Some(path) = self.ca_cert_path {
            query.push(format!("sslrootcert={}", encode(path)));
        }
        if !query.is_empty() {
            let _ = write!(url, "?{}", query.join("&"));
        }
        url
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The URL with its password (in the authority or a `password=` parameter) replaced by `********`.
pub(crate) fn redact_url(url: &str) -> String {
    const HIDDEN: &str = "********";
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return HIDDEN.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| {
                    if p.starts_with("password=") {
                        format!("password={HIDDEN}")
                    } else {
                        p.to_owned()
                    }
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{}{authority}{tail}", &url[..scheme_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address<'a>(host: &'a str, password: Option<&'a str>) -> PostgresAddress<'a> {
        PostgresAddress {
            host,
            port: 5432,
            db: "llama stack",
            user: "me@corp",
            password,
            ssl_mode: None,
            ca_cert_path: None,
        }
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(
            address("db.local", Some("p@ss:/w?rd")).url(),
            "postgres://me%40corp:p%40ss%3A%2Fw%3Frd@db.local:5432/llama%20stack"
        );
        assert_eq!(
            address("::1", None).url(),
            "postgres://me%40corp@[::1]:5432/llama%20stack"
        );
        let socket = PostgresAddress {
            ssl_mode: Some("require"),
            ..address("/var/run/postgresql", None)
        };
        assert_eq!(
            socket.url(),
            "postgres://me%40corp@localhost:5432/llama%20stack?host=%2Fvar%2Frun%2Fpostgresql&sslmode=require"
        );
        for a in [address("db.local", Some("p@ss:/w?rd")), socket] {
            assert!(
                lls_sql::postgres::connect_options(&a.url()).is_ok(),
                "{a:?}"
            );
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:********@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?password=secret&x=1"),
            "postgres://u@h/db?password=********&x=1"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("garbage"), "********");
        assert!(!format!("{:?}", address("h", Some("secret"))).contains("secret"));
    }
}
