//! CORS from run.yaml's `server.cors`, as 0.3.5's Starlette `CORSMiddleware` applies it: exact
//! origins or a regex matching a whole origin, the CORS-safelisted headers always allowed.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use lls_config::CorsPolicy;
use regex::Regex;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

/// Starlette adds these to `allow_headers` whatever the config says.
const SAFELISTED: [&str; 4] = ["accept", "accept-language", "content-language", "content-type"];

/// What is wrong with `policy`, if anything (for `llama-stack validate` and `run`).
pub fn check(policy: &CorsPolicy) -> Result<(), String> {
    layer(policy).map(|_| ())
}

/// The layer for `policy`, or what is wrong with it (validation reports the same problems).
pub fn layer(policy: &CorsPolicy) -> Result<CorsLayer, String> {
    let wildcard = |list: &[String]| list.iter().any(|s| s == "*");
    if policy.allow_credentials && (wildcard(&policy.allow_origins) || wildcard(&policy.expose_headers)) {
        return Err("server.cors: wildcards cannot be combined with allow_credentials".to_owned());
    }
    let mut layer = CorsLayer::new()
        .allow_origin(origins(policy)?)
        .allow_credentials(policy.allow_credentials)
        .max_age(Duration::from_secs(policy.max_age));
    layer = if wildcard(&policy.allow_methods) {
        layer.allow_methods(AllowMethods::mirror_request())
    } else {
        let methods = policy
            .allow_methods
            .iter()
            .map(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|e| format!("server.cors.allow_methods: `{m}`: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        layer.allow_methods(methods)
    };
    layer = if wildcard(&policy.allow_headers) {
        layer.allow_headers(AllowHeaders::mirror_request())
    } else {
        let mut headers = header_names(&policy.allow_headers, "allow_headers")?;
        for name in SAFELISTED {
            let name = HeaderName::from_static(name);
            if !headers.contains(&name) {
                headers.push(name);
            }
        }
        layer.allow_headers(headers)
    };
    if wildcard(&policy.expose_headers) {
        layer = layer.expose_headers(ExposeHeaders::any());
    } else if !policy.expose_headers.is_empty() {
        layer = layer.expose_headers(header_names(&policy.expose_headers, "expose_headers")?);
    }
    Ok(layer)
}

fn origins(policy: &CorsPolicy) -> Result<AllowOrigin, String> {
    if policy.allow_origins.iter().any(|o| o == "*") {
        return Ok(AllowOrigin::any());
    }
    let exact = policy
        .allow_origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|e| format!("server.cors.allow_origins: `{o}`: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let pattern = match &policy.allow_origin_regex {
        // Python's re.fullmatch: the whole origin must match.
        Some(p) => Some(Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("server.cors.allow_origin_regex: {e}"))?),
        None => None,
    };
    Ok(AllowOrigin::predicate(move |origin, _| {
        exact.contains(origin) || pattern.as_ref().is_some_and(|r| origin.to_str().is_ok_and(|o| r.is_match(o)))
    }))
}

fn header_names(names: &[String], field: &str) -> Result<Vec<HeaderName>, String> {
    names
        .iter()
        .map(|n| HeaderName::from_bytes(n.as_bytes()).map_err(|e| format!("server.cors.{field}: `{n}`: {e}")))
        .collect()
}
