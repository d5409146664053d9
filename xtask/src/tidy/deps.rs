//! Dependency-direction rules, read from `cargo metadata` (normal dependencies unless a rule
//! says otherwise): `apis/common <- apis/* <- glue <- providers/*`;
//! `apis/* + glue + platform <- services`; platform never depends on services or providers;
//! only distributions name providers; test code never ships.

use super::{Area, Checked, Dep, DepKind, Package, Violation, Workspace};

pub const APIS: &str = "(a) apis/ crates depend only on other apis/ crates";
pub const PROVIDERS: &str = "(b) providers/ crates depend only on apis/ and crates/glue/ (and crates/testkit/ for their tests)";
pub const ONLY_DISTRIBUTIONS: &str = "(c) only distributions/ (and xtask) have normal dependencies on providers/ crates";
pub const PLATFORM: &str = "(d) crates/platform/ never depends on services, providers or distributions";
pub const GLUE: &str = "(l) crates/glue/ depends only on apis/ and other glue";
pub const SERVICES: &str =
    "(m) a service depends on apis/, glue and the platform below the server (never on another service, the server, the cli, or a provider)";
pub const TESTKIT: &str = "(n) crates/testkit/ is never a normal dependency of shipped code (outside crates/testkit/ and xtask/)";
pub const ROLES: &str = "(o) every crate under crates/ sits in platform/, services/, glue/ or testkit/";

/// The platform crates a service may not use: the edge and the command line sit above services.
const ABOVE_SERVICES: [&str; 2] = ["lls-server", "lls-cli"];

fn violation(rule: &'static str, p: &Package, message: String) -> Violation {
    Violation { rule, subject: p.describe(), message }
}

fn normal(dep: &Dep) -> bool {
    dep.kind != DepKind::Dev
}

/// (a): contracts stay contracts; no platform, provider or distribution code under them.
pub fn apis_depend_only_on_apis(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Apis) {
        for (dep, area) in p.internal_deps() {
            let test_code = dep.kind == DepKind::Dev && area == Area::Testkit;
            if area != Area::Apis && !test_code {
                out.push(violation(
                    APIS,
                    p,
                    format!("depends on {}; an API crate may only use other apis/ crates (and crates/testkit/ for its tests)", dep.describe()),
                ));
            }
        }
    }
    Ok(out)
}

/// (b): a provider is a leaf: its contract plus glue, never the platform, a service or a sibling.
pub fn providers_depend_on_contracts_only(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Providers) {
        for (dep, area) in p.internal_deps() {
            let allowed = matches!(area, Area::Apis | Area::Glue) || (dep.kind == DepKind::Dev && area == Area::Testkit);
            if allowed {
                continue;
            }
            let why = match area {
                Area::Providers => "another provider crate",
                Area::Testkit => "test code, as a normal dependency",
                _ => "code that providers must not know",
            };
            out.push(violation(
                PROVIDERS,
                p,
                format!("depends on {} ({why}); move what it needs into apis/ or a crates/glue/ crate", dep.describe()),
            ));
        }
    }
    Ok(out)
}

/// (c): naming a provider is composition, which only a distribution does.
pub fn only_distributions_depend_on_providers(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.packages.iter().filter(|p| !matches!(p.area(), Area::Distributions | Area::Xtask)) {
        for (dep, area) in p.internal_deps() {
            if area == Area::Providers && normal(dep) {
                out.push(violation(
                    ONLY_DISTRIBUTIONS,
                    p,
                    format!("depends on the provider crate {}; only distributions/ may name providers", dep.describe()),
                ));
            }
        }
    }
    Ok(out)
}

/// (d): the platform knows the APIs, never a concrete service, provider or composition; the
/// server mounts whatever services registered.
pub fn platform_never_depends_on_providers(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Platform) {
        for (dep, area) in p.internal_deps() {
            if matches!(area, Area::Providers | Area::Distributions | Area::Services) && normal(dep) {
                out.push(violation(
                    PLATFORM,
                    p,
                    format!("depends on {}; the platform must work with any service and provider set", dep.describe()),
                ));
            }
        }
    }
    Ok(out)
}

/// (l): glue is what providers may use, so it may only use what providers may use.
pub fn glue_depends_on_apis_and_glue(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Glue) {
        for (dep, area) in p.internal_deps() {
            if !matches!(area, Area::Apis | Area::Glue) && normal(dep) {
                out.push(violation(GLUE, p, format!("depends on {}; glue may only use apis/ and other glue", dep.describe())));
            }
        }
    }
    Ok(out)
}

/// (m): services reach each other only through the APIs they depend on (typed `Deps`), so a
/// new API is one apis/ crate, one service crate and one line per distribution.
pub fn services_stand_alone(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.in_area(Area::Services) {
        for (dep, area) in p.internal_deps() {
            if !normal(dep) {
                continue;
            }
            let bad = match area {
                Area::Apis | Area::Glue => false,
                Area::Platform => ABOVE_SERVICES.contains(&dep.name.as_str()),
                _ => true,
            };
            if bad {
                out.push(violation(
                    SERVICES,
                    p,
                    format!("depends on {}; declare the API in depends_on and use it through Deps instead", dep.describe()),
                ));
            }
        }
    }
    Ok(out)
}

/// (n): fakes, suites and mock servers never ship. xtask (repository tooling, never shipped)
/// may use them: the bench serves its token issuer from the test kit.
pub fn testkit_is_never_shipped(ws: &Workspace) -> Checked {
    let mut out = Vec::new();
    for p in ws.packages.iter().filter(|p| !matches!(p.area(), Area::Testkit | Area::Xtask)) {
        for (dep, area) in p.internal_deps() {
            if area == Area::Testkit && normal(dep) {
                out.push(violation(
                    TESTKIT,
                    p,
                    format!("depends on {} as a normal dependency; test code may only be a dev-dependency", dep.describe()),
                ));
            }
        }
    }
    Ok(out)
}

/// (o): the folder says who may depend on a crate.
pub fn every_crate_has_a_role(ws: &Workspace) -> Checked {
    Ok(ws
        .in_area(Area::Crates)
        .map(|p| violation(ROLES, p, "move it under crates/platform/, crates/services/, crates/glue/ or crates/testkit/".to_owned()))
        .collect())
}
