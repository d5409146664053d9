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
