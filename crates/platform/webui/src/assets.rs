//! The files the pages are made of, compiled into the binary with `include_bytes!`, and how
//! each is answered: its content type, its caching policy and its entity tag.

use std::sync::LazyLock;

/// The Swagger UI release vendored under `assets/swagger-ui` (npm `swagger-ui-dist`); it is in
/// the files' URLs, so a new release is a new URL and the old one may be cached for good.
pub const SWAGGER_UI_VERSION: &str = "5.31.0";

/// How long a browser may keep a file without asking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Our own pages and scripts: revalidated on every load (a 304 when unchanged), so a new
    /// binary's page is never mixed with an old script.
    Revalidate,
    /// A vendored release whose version is in its URL: never changes under that URL.
    Immutable,
}

impl Caching {
    pub fn header(self) -> &'static str {
        match self {
            Caching::Revalidate => "no-cache",
            Caching::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

/// One served file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub caching: Caching,
    /// Whether it is a page (an HTML document: gets the Content-Security-Policy).
    pub page: bool,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

const fn own(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset { path, content_type, body, caching: Caching::Revalidate, page: false }
}

const fn page(path: &'static str, body: &'static [u8]) -> Asset {
    Asset { path, content_type: HTML, body, caching: Caching::Revalidate, page: true }
}

const fn vendored(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset { path, content_type, body, caching: Caching::Immutable, page: false }
}

/// Every file, by the path it is served at. Swagger UI's files sit under
/// `/docs/swagger-ui-<SWAGGER_UI_VERSION>/` (kept in step with the constant by a test).
pub static ASSETS: [Asset; 11] = [
    page("/docs", include_bytes!("../assets/docs/index.html")),
    own("/docs/docs.js", JS, include_bytes!("../assets/docs/docs.js")),
    own("/docs/docs.css", CSS, include_bytes!("../assets/docs/docs.css")),
    vendored("/docs/swagger-ui-5.31.0/swagger-ui-bundle.js", JS, include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js")),
    vendored("/docs/swagger-ui-5.31.0/swagger-ui.css", CSS, include_bytes!("../assets/swagger-ui/swagger-ui.css")),
    vendored("/docs/swagger-ui-5.31.0/LICENSE", TEXT, include_bytes!("../assets/swagger-ui/LICENSE")),
    vendored("/docs/swagger-ui-5.31.0/NOTICE", TEXT, include_bytes!("../assets/swagger-ui/NOTICE")),
    page("/playground", include_bytes!("../assets/playground/index.html")),
    own("/playground/playground.js", JS, include_bytes!("../assets/playground/playground.js")),
    own("/playground/api.js", JS, include_bytes!("../assets/playground/api.js")),
    own("/playground/playground.css", CSS, include_bytes!("../assets/playground/playground.css")),
];

/// The asset served at `path`.
pub fn find(path: &str) -> Option<(&'static Asset, &'static str)> {
    let index = ASSETS.iter().position(|a| a.path == path)?;
    Some((&ASSETS[index], ETAGS[index].as_str()))
}

/// Strong entity tags, one per asset (FNV-1a of the bytes), computed on first use.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| ASSETS.iter().map(|a| format!("\"{:016x}\"", fnv1a(a.body))).collect());

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_paths_carry_the_version() {
        for a in ASSETS.iter().filter(|a| a.caching == Caching::Immutable) {
            assert!(a.path.starts_with(&format!("/docs/swagger-ui-{SWAGGER_UI_VERSION}/")), "{}", a.path);
        }
    }

    #[test]
    fn paths_are_unique_and_etags_differ() {
        let mut paths: Vec<_> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        let mut tags = ETAGS.clone();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
