//! `docs/openapi.json` is generated and committed; this test fails when it no longer matches
//! what the server serves.

#[test]
fn openapi_document_is_fresh() {
    let path = xtask::codegen::openapi_path();
    let fresh = match xtask::codegen::render_openapi() {
        Ok(text) => text,
        Err(e) => panic!("cannot render the OpenAPI document: {e:#}"),
    };
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == fresh, "{} is stale or missing: run `cargo xtask codegen` and commit the result", path.display());
}

/// Every route says what it reads and answers: path parameter types name real parameters, a
/// POST declares its body (a cancel takes none), GET and DELETE take none.
#[test]
fn every_route_declares_its_shapes() {
    lls_distribution_starter::link();
    let mut problems = Vec::new();
    for r in lls_server::route_table() {
        let route = format!("{} {}", r.method, r.path);
        if !r.unknown_path_params.is_empty() {
            problems.push(format!("{route}: types given for parameters not in the path: {:?}", r.unknown_path_params));
        }
        match (r.method, r.body.is_some()) {
            ("POST", false) if !r.path.ends_with("/cancel") => problems.push(format!("{route}: no request body declared")),
            ("GET" | "DELETE", true) => problems.push(format!("{route}: a body on a {} route", r.method)),
            _ => {}
        }
        if r.responses.is_empty() {
            problems.push(format!("{route}: no response declared"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `$ref` of the document points at a schema or response it defines.
#[test]
fn every_reference_resolves() {
    let text = match xtask::codegen::render_openapi() {
        Ok(text) => text,
        Err(e) => panic!("cannot render the OpenAPI document: {e:#}"),
    };
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => panic!("the document is not JSON: {e}"),
    };
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "suspiciously few references: {}", refs.len());
    let dangling: Vec<&String> = refs.iter().filter(|r| r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none()).collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
