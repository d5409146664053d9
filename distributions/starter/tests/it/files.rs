//! `/v1/files` over HTTP, in-process (`oneshot`), on a stack built from a run.yaml with the
//! `inline::localfs` provider: multipart uploads in both field orders, `expires_after`, the size
//! cap (413) beyond the global body limit, bad forms, path tricks, and the deprecated aliases.
// Helpers here (harnesses, fixtures, mock handlers) are not #[test] functions.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{stack_from_yaml, storage_yaml};

const BOUNDARY: &str = "lls-test-boundary-7d1f";

fn run_yaml(dir: &Path, max_file_size_bytes: u64, files_providers: usize) -> String {
    let mut files = String::new();
    for i in 0..files_providers {
        files += &format!(
            "  - provider_id: files-{i}\n    provider_type: inline::localfs\n    config:\n      storage_dir: {dir}/files{i}\n      max_file_size_bytes: {max_file_size_bytes}\n      metadata_store: {{backend: sql_default, table_name: files_metadata_{i}}}\n",
            dir = dir.display()
        );
    }
    format!(
        r#"
version: 2
image_name: files-test
apis: [inference, files]
providers:
  inference:
  - provider_id: fake
    provider_type: inline::fake
    config: {{}}
  files:
{files}
{storage}server:
  port: 8321
"#,
        storage = storage_yaml(dir)
    )
}

struct App {
    router: Router,
    dir: tempfile::TempDir,
}

impl App {
    fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path().join("files0"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

async fn stack(
    dir: &Path,
    max: u64,
    providers: usize,
) -> lls_api_common::Result<lls_registry::Stack> {
    stack_from_yaml(&run_yaml(dir, max, providers)).await
}

async fn app_with_max(max: u64) -> App {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path(), max, 1).await.unwrap();
    App {
        router: lls_server::app(Arc::new(stack)).unwrap(),
        dir,
    }
}

async fn app() -> App {
    app_with_max(1024 * 1024).await
}

/// One multipart part: a plain field, or a file part when `filename` is given.
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content: Vec<u8>,
}

fn field<'a>(name: &'a str, value: &str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content: value.as_bytes().to_vec(),
    }
}

fn file<'a>(filename: &'a str, content: &[u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content: content.to_vec(),
    }
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"",
                p.name
            )
            .as_bytes(),
        );
        if let Some(f) = p.filename {
            body.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(&p.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send(app: &App, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    (
        status,
        headers,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

fn to_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

async fn upload_to(app: &App, path: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
    let body = multipart(parts);
    let req = Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap();
    let (s, _, b) = send(app, req).await;
    (s, to_json(&b))
}

async fn upload(app: &App, parts: &[Part<'_>]) -> (StatusCode, Value) {
    upload_to(app, "/v1/files", parts).await
}

async fn get(app: &App, method: Method, path: &str) -> (StatusCode, Value) {
    let (s, _, b) = send(
        app,
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    (s, to_json(&b))
}

fn not_found_message(id: &str) -> String {
    format!("File '{id}' not found. Use 'client.files.list()' to list available Files.")
}

#[tokio::test]
async fn upload_list_retrieve_content_delete() {
    let app = app().await;
    let (s, f) = upload(
        &app,
        &[
            field("purpose", "assistants"),
            file("notes.txt", b"files test content"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let id = f["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("file-") && id.len() == 37, "{id}");
    assert_eq!(
        (
            f["object"].as_str(),
            f["bytes"].as_u64(),
            f["filename"].as_str()
        ),
        (Some("file"), Some(18), Some("notes.txt"))
    );
    assert_eq!(f["purpose"], "assistants");
    assert_eq!(
        f["expires_at"].as_i64().unwrap(),
        f["created_at"].as_i64().unwrap() + 365 * 24 * 3600
    );

    let (s, list) = get(&app, Method::GET, "/v1/files").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list,
        json!({"object": "list", "data": [f.clone()], "has_more": false, "first_id": id, "last_id": id})
    );
    let (s, got) = get(&app, Method::GET, &format!("/v1/files/{id}")).await;
    assert_eq!((s, &got), (StatusCode::OK, &f));

    let (s, headers, body) = send(
        &app,
        Request::get(format!("/v1/files/{id}/content"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, body.as_slice()),
        (StatusCode::OK, b"files test content".as_slice())
    );
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"notes.txt\""
    );

    let (s, d) = get(&app, Method::DELETE, &format!("/v1/files/{id}")).await;
    assert_eq!(
        (s, d),
        (
            StatusCode::OK,
            json!({"id": id, "object": "file", "deleted": true})
        )
    );
    assert!(app.stored().is_empty(), "delete removed the bytes");
    for (method, path) in [
        (Method::GET, format!("/v1/files/{id}")),
        (Method::GET, format!("/v1/files/{id}/content")),
        (Method::DELETE, format!("/v1/files/{id}")),
    ] {
        let (s, v) = get(&app, method.clone(), &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(v["detail"], not_found_message(&id));
        assert_eq!(v["error"]["message"], not_found_message(&id));
    }
    let (_, list) = get(&app, Method::GET, "/v1/files").await;
    assert_eq!(
        list,
        json!({"object": "list", "data": [], "has_more": false, "first_id": "", "last_id": ""})
    );
}

#[tokio::test]
async fn deprecated_aliases_serve_the_same_files() {
    let app = app().await;
    let (s, f) = upload_to(
        &app,
        "/v1/openai/v1/files",
        &[field("purpose", "batch"), file("b.jsonl", b"{}\n")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let id = f["id"].as_str().unwrap();
    let (_, list) = get(&app, Method::GET, "/v1/openai/v1/files?purpose=batch").await;
    assert_eq!(list["data"][0]["id"], id);
    let (s, got) = get(&app, Method::GET, &format!("/v1/openai/v1/files/{id}")).await;
    assert_eq!((s, got["id"].as_str()), (StatusCode::OK, Some(id)));
    let (s, _, body) = send(
        &app,
        Request::get(format!("/v1/openai/v1/files/{id}/content"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, b"{}\n".as_slice()));
    let (s, _) = get(&app, Method::DELETE, &format!("/v1/openai/v1/files/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, routes) = get(&app, Method::GET, "/v1/inspect/routes").await;
    let routes = routes["data"].as_array().unwrap();
    for (method, route) in [
        ("POST", "/v1/files"),
        ("GET", "/v1/files/{file_id}/content"),
        ("DELETE", "/v1/openai/v1/files/{file_id}"),
    ] {
        assert!(
            routes
                .iter()
                .any(|r| r["route"] == route && r["method"] == method),
            "{method} {route} missing"
        );
    }
}

#[tokio::test]
async fn fields_in_either_order_and_expires_after_in_both_spellings() {
    let app = app().await;
    // purpose after the file: the file is held until the form is read.
    let (s, f) = upload(
        &app,
        &[file("late.txt", b"late"), field("purpose", "batch")],
    )
    .await;
    assert_eq!(
        (s, f["purpose"].as_str(), f["bytes"].as_u64()),
        (StatusCode::OK, Some("batch"), Some(4)),
        "{f}"
    );
    let parts = [
        field("purpose", "assistants"),
        field("expires_after[anchor]", "created_at"),
        field("expires_after[seconds]", "4545"),
        file("brackets.txt", b"x"),
    ];
    let (s, f) = upload(&app, &parts).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(
        f["expires_at"].as_i64().unwrap(),
        f["created_at"].as_i64().unwrap() + 4545
    );
    let json_spelling = [
        field(
            "expires_after",
            r#"{"anchor": "created_at", "seconds": 7200}"#,
        ),
        field("purpose", "assistants"),
        file("j.txt", b"x"),
    ];
    let (s, f) = upload(&app, &json_spelling).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    assert_eq!(
        f["expires_at"].as_i64().unwrap(),
        f["created_at"].as_i64().unwrap() + 7200
    );
    let (_, list) = get(&app, Method::GET, "/v1/files?order=asc").await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["late.txt", "brackets.txt", "j.txt"]);
}

#[tokio::test]
async fn bad_forms_are_400_and_store_nothing() {
    let app = app().await;
    let cases: Vec<(Vec<Part<'_>>, &str)> = vec![
        (
            vec![field("purpose", "fine-tune"), file("a.txt", b"a")],
            "Invalid purpose 'fine-tune'",
        ),
        (
            vec![file("a.txt", b"a"), field("purpose", "fine-tune")],
            "Invalid purpose 'fine-tune'",
        ),
        (vec![field("purpose", "assistants")], "no 'file' part"),
        (vec![file("a.txt", b"a")], "no 'purpose'"),
        (
            vec![
                field("purpose", "assistants"),
                file("a.txt", b"a"),
                file("b.txt", b"b"),
            ],
            "only one 'file'",
        ),
        (
            vec![
                field("purpose", "assistants"),
                file("a.txt", b"a"),
                field("purpose", "batch"),
            ],
            "must come before 'file'",
        ),
        (
            vec![
                field("purpose", "assistants"),
                field("expires_after[anchor]", "created_at"),
                field("expires_after[seconds]", "60"),
                file("a.txt", b"a"),
            ],
            "between 3600 and 2592000",
        ),
        (
            vec![
                field("purpose", "assistants"),
                field("expires_after", "tomorrow"),
                file("a.txt", b"a"),
            ],
            "expires_after must be",
        ),
        (
            vec![
                field("purpose", "assistants"),
                field("expires_after", r#"{"anchor": "created_at"}"#),
                field("expires_after[anchor]", "created_at"),
                field("expires_after[seconds]", "3600"),
                file("a.txt", b"a"),
            ],
            "not both",
        ),
    ];
    for (parts, expected) in cases {
        let (s, v) = upload(&app, &parts).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains(expected), "{detail:?} lacks {expected:?}");
    }
    let req = Request::post("/v1/files")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (s, _, b) = send(&app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        to_json(&b)["detail"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data")
    );
    let truncated = &multipart(&[field("purpose", "assistants"), file("a.txt", b"abc")])[..60];
    let req = Request::post("/v1/files")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(truncated.to_vec()))
        .unwrap();
    let (s, _, b) = send(&app, req).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert!(app.stored().is_empty(), "{:?}", app.stored());
    let (_, list) = get(&app, Method::GET, "/v1/files").await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn oversized_uploads_are_413_with_a_clear_message() {
    let app = app_with_max(1000).await;
    let big = vec![b'x'; 1001];
    for parts in [
        vec![field("purpose", "assistants"), file("big.bin", &big)],
        vec![file("big.bin", &big), field("purpose", "assistants")],
    ] {
        let (s, v) = upload(&app, &parts).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
        assert_eq!(
            v["detail"],
            "File is too large: the maximum upload size is 1000 bytes (1000 B)"
        );
    }
    // A declared length far beyond the cap is refused before the body is read.
    let huge = vec![0u8; 3 * 1024 * 1024];
    let req = Request::post("/v1/files")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, huge.len())
        .body(Body::from(huge))
        .unwrap();
    let (s, _, _) = send(&app, req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, v) = upload(
        &app,
        &[
            field("purpose", "assistants"),
            file("fits.bin", &big[..1000]),
        ],
    )
    .await;
    assert_eq!(
        (s, v["bytes"].as_u64()),
        (StatusCode::OK, Some(1000)),
        "{v}"
    );
    assert_eq!(
        app.stored().len(),
        1,
        "refused uploads left nothing: {:?}",
        app.stored()
    );
}

#[tokio::test]
async fn uploads_may_exceed_the_global_body_limit() {
    let app = app_with_max(80 * 1024 * 1024).await;
    let content: Vec<u8> = (0..70 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let (s, v) = upload(
        &app,
        &[field("purpose", "batch"), file("big.bin", &content)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["bytes"].as_u64(), Some(content.len() as u64));
    let id = v["id"].as_str().unwrap();
    let (_, _, body) = send(
        &app,
        Request::get(format!("/v1/files/{id}/content"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body == content, "70 MiB came back different");
    // Every other route keeps the 64 MiB limit (and is no longer held to axum's 2 MiB default).
    for (size, expected) in [
        (3 * 1024 * 1024, StatusCode::OK),
        (65 * 1024 * 1024, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let text = "a".repeat(size);
        let body = json!({"model": "fake/fake-embed", "input": text}).to_string();
        let req = Request::post("/v1/embeddings")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let (s, _, b) = send(&app, req).await;
        assert_eq!(
            s,
            expected,
            "{size} bytes of JSON: {}",
            String::from_utf8_lossy(&b[..b.len().min(300)])
        );
    }
}

#[tokio::test]
async fn names_and_ids_never_reach_outside_the_storage_dir() {
    let app = app().await;
    let (s, f) = upload(
        &app,
        &[
            field("purpose", "assistants"),
            file("../../etc/passwd", b"not really"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let id = f["id"].as_str().unwrap();
    assert_eq!(f["filename"], "../../etc/passwd");
    assert_eq!(app.stored(), [id.to_owned()]);
    let (_, headers, _) = send(
        &app,
        Request::get(format!("/v1/files/{id}/content"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"../../etc/passwd\""
    );
    for (raw, decoded) in [
        ("..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"),
        ("file-..%2Ffiles0", "file-../files0"),
        ("%2E%2E", ".."),
        (
            "file-00000000000000000000000000000000",
            "file-00000000000000000000000000000000",
        ),
    ] {
        for (method, path) in [
            (Method::GET, format!("/v1/files/{raw}")),
            (Method::GET, format!("/v1/files/{raw}/content")),
            (Method::DELETE, format!("/v1/files/{raw}")),
        ] {
            let (s, v) = get(&app, method.clone(), &path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
            assert_eq!(v["detail"], not_found_message(decoded), "{method} {path}");
        }
    }
    // Unencoded slashes are other routes: not found, never a file.
    let (s, _) = get(&app, Method::GET, "/v1/files/../../etc/passwd").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(app.stored(), [id.to_owned()], "nothing was deleted");
}

#[tokio::test]
async fn list_queries_are_checked() {
    let app = app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, f) = upload(
            &app,
            &[
                field("purpose", "assistants"),
                file(&format!("{i}.txt"), b"x"),
            ],
        )
        .await;
        ids.push(f["id"].as_str().unwrap().to_owned());
    }
    let (s, page) = get(&app, Method::GET, "/v1/files?limit=2&order=asc").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            page["first_id"].as_str(),
            page["last_id"].as_str(),
            page["has_more"].as_bool()
        ),
        (Some(&*ids[0]), Some(&*ids[1]), Some(true))
    );
    let (_, page) = get(
        &app,
        Method::GET,
        &format!("/v1/files?limit=2&order=asc&after={}", ids[1]),
    )
    .await;
    assert_eq!(
        (page["first_id"].as_str(), page["has_more"].as_bool()),
        (Some(&*ids[2]), Some(false))
    );
    for bad in [
        "limit=0",
        "limit=10001",
        "limit=many",
        "order=sideways",
        "purpose=fine-tune",
    ] {
        let (s, v) = get(&app, Method::GET, &format!("/v1/files?{bad}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["error"]["message"].is_string(), "{bad}: {v}");
    }
}

#[tokio::test]
async fn with_two_files_providers_the_last_listed_serves() {
    // As upstream 0.3.5 resolves it, and what the Red Hat distribution's run.yaml relies on
    // (inline::localfs, then remote::s3 when ENABLE_S3 is set).
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path(), 1024, 2).await.unwrap();
    let app = App {
        router: lls_server::app(Arc::new(stack)).unwrap(),
        dir,
    };
    let (s, v) = upload(&app, &[file("a.txt", b"hello"), field("purpose", "assistants")]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let id = v["id"].as_str().unwrap();
    assert!(app.stored().is_empty(), "files-0 got nothing");
    assert!(app.dir.path().join("files1").join(id).exists(), "files-1 holds the upload");
}
