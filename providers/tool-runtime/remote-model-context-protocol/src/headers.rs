//! Per-request headers for an MCP server, from the caller's provider data
//! `{"mcp_headers": {"<endpoint uri>": {"<header>": "<value>"}}}`. An entry applies when its
//! URI names the same host, port and path as the endpoint (scheme and query are ignored, as
//! upstream compares them).

use lls_api_common::{Error, RequestContext, Result};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// The provider-data key this provider reads.
pub const PROVIDER_DATA_KEY: &str = "mcp_headers";

/// `host[:port]/path` of a URI, or the URI itself when it does not parse.
fn canonical(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default();
            match url.port() {
                Some(port) => format!("{host}:{port}{}", url.path()),
                None => format!("{host}{}", url.path()),
            }
        }
        Err(_) => uri.to_owned(),
    }
}

fn shape_error() -> Error {
    Error::invalid(format!(
        "provider data '{PROVIDER_DATA_KEY}' must map MCP endpoint URIs to objects of header names and string values, \
         e.g. {{\"{PROVIDER_DATA_KEY}\": {{\"http://localhost:8000/sse\": {{\"Authorization\": \"Bearer <token>\"}}}}}}"
    ))
}

/// The headers the caller gave for `endpoint`; empty when none. A malformed entry is a 400.
pub(crate) fn headers_for(ctx: &RequestContext, endpoint: &str) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let Some(all) = ctx.provider_data().get(PROVIDER_DATA_KEY) else { return Ok(headers) };
    let all = match all {
        Value::Null => return Ok(headers),
        Value::Object(map) => map,
        _ => return Err(shape_error()),
    };
    let wanted = canonical(endpoint);
    for (uri, values) in all {
        let Value::Object(values) = values else { return Err(shape_error()) };
        if canonical(uri) != wanted {
            continue;
        }
        for (name, value) in values {
            let Value::String(value) = value else { return Err(shape_error()) };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid(format!("{PROVIDER_DATA_KEY}: '{name}' is not a valid HTTP header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::invalid(format!("{PROVIDER_DATA_KEY}: the value of '{name}' is not a valid HTTP header value")))?;
            headers.insert(name, value);
        }
    }
    Ok(headers)
}

/// An endpoint must be an absolute http(s) URL.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<()> {
    match Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(()),
        _ => Err(Error::invalid(format!("Endpoint {endpoint} is not a valid HTTP(S) URL")).with_param("mcp_endpoint")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx(data: Value) -> RequestContext {
        RequestContext::new(data.as_object().cloned().unwrap())
    }

    #[test]
    fn headers_follow_the_endpoint_not_its_scheme_or_query() {
        let c = ctx(json!({ "mcp_headers": {
            "http://localhost:9000/sse": { "Authorization": "Bearer a", "X-Extra": "1" },
            "https://localhost:9000/sse?x=1": { "X-Other": "2" },
            "http://localhost:9001/sse": { "Authorization": "Bearer wrong-port" },
        }}));
        let h = headers_for(&c, "http://localhost:9000/sse").unwrap();
        assert_eq!(h.get("authorization").unwrap(), "Bearer a");
        assert_eq!(h.get("x-extra").unwrap(), "1");
        assert_eq!(h.get("x-other").unwrap(), "2");
        assert!(headers_for(&c, "http://localhost:9000/mcp").unwrap().is_empty());
        assert!(headers_for(&RequestContext::default(), "http://localhost:9000/sse").unwrap().is_empty());
    }

    #[test]
    fn malformed_provider_data_is_a_client_error() {
        for bad in [
            json!({ "mcp_headers": "Bearer x" }),
            json!({ "mcp_headers": { "http://h/sse": "Bearer x" } }),
            json!({ "mcp_headers": { "http://h/sse": { "Authorization": 1 } } }),
            json!({ "mcp_headers": { "http://h/sse": { "bad header": "x" } } }),
            json!({ "mcp_headers": { "http://h/sse": { "X": "line\nbreak" } } }),
        ] {
            let e = headers_for(&ctx(bad.clone()), "http://h/sse").unwrap_err();
            assert_eq!(e.kind(), lls_api_common::ErrorKind::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(check_endpoint("http://localhost:1/sse").is_ok());
        assert!(check_endpoint("https://mcp.example.com/mcp").is_ok());
        for bad in ["ftp://h/x", "localhost:8000/sse", "", "file:///etc/passwd"] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
