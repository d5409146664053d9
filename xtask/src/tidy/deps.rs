//! Dependency-direction rules: `apis/common <- apis/* <- providers/*`,
//! `apis/* <- crates/* <- distributions/*`, and only distributions name providers.

use super::{Area, Checked, DepKind, Violation, Workspace};

pub const APIS: &str = "(a) apis/ crates depend only on other apis/ crates";
pub const PROVIDERS: &str =
    "(b) providers/ crates depend only on apis/, the glue crates (lls-openai-compat, lls-ingest, lls-sql, lls-pycompat) and lls-testkit";
pub const ONLY_DISTRIBUTIONS: &str = "(c) only distributions/ (and xtask) depend on providers/ crates";
pub const PLATFORM: &str = "(d) crates/ never depend on providers/ or distributions/";

/// The test doubles may be a dev-dependency of anything.
const TEST_SUPPORT: &str = "lls-testkit";
/// Crates a provider may use: the glue under crates/glue/ (the shared OpenAI client, RAG
/// ingestion, SQL pools and error mapping, Python-compatible formatting), and the test doubles.
const PROVIDER_GLUE: [&str; 5] = ["lls-openai-compat", "lls-ingest", "lls-sql", "lls-pycompat", TEST_SUPPORT];

/// (a): contracts stay contracts; no platform, provider or distribution code under them.
pub fn apis_depend_only_on_apis(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Apis) {
        for (dep, area) in p.internal_deps() {
            let test_double = dep.kind == DepKind::Dev && dep.name == TEST_SUPPORT;
            if area != Area::Apis && !test_double {
                out.push(Violation {
                    rule: APIS,
                    subject: p.describe(),
                    message: format!(
                        "depends on {}; an API crate may only use other apis/ crates (and lls-testkit for its tests)",
                        dep.describe()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// (b): a provider is a leaf: its contract plus shared glue, never the server side or a sibling.
pub fn providers_depend_on_contracts_only(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Providers) {
        for (dep, area) in p.internal_deps() {
            if area == Area::Apis || PROVIDER_GLUE.contains(&dep.name.as_str()) {
                continue;
            }
            let why = if area == Area::Providers { "another provider crate" } else { "platform code that providers must not know" };
            let fix = if dep.kind == DepKind::Dev {
                "give lls-testkit a helper for what the tests need"
            } else {
                "move what it needs into apis/ or a crates/glue/ crate"
            };
            out.push(Violation {
                rule: PROVIDERS,
                subject: p.describe(),
                message: format!("depends on {} ({why}); {fix}", dep.describe()),
            });
        }
    }
    Ok(out)
}

/// (c): naming a provider is composition, which only a distribution does.
pub fn only_distributions_depend_on_providers(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.packages.iter().filter(|p| !matches!(p.area(), Area::Distributions | Area::Xtask)) {
        for (dep, area) in p.internal_deps() {
            if area == Area::Providers {
                out.push(Violation {
                    rule: ONLY_DISTRIBUTIONS,
                    subject: p.describe(),
                    message: format!("depends on the provider crate {}; only distributions/ may name providers", dep.describe()),
                });
            }
        }
    }
    Ok(out)
}

/// (d): the platform knows the APIs, never a concrete provider or a composition of them.
pub fn platform_never_depends_on_providers(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Crates) {
        for (dep, area) in p.internal_deps() {
            if matches!(area, Area::Providers | Area::Distributions) {
                out.push(Violation {
                    rule: PLATFORM,
                    subject: p.describe(),
                    message: format!(
                        "depends on {}; platform crates must work with any provider set (use the fakes in lls-testkit for tests)",
                        dep.describe()
                    ),
                });
            }
        }
    }
    Ok(out)
}
