//! The `server.auth` validators against real issuers (`lls_testkit::issuers`): each token type's
//! accept and refuse paths, key rotation, the unknown-`kid` refetch and the validation cache.

// Helpers here are not #[test] functions, so clippy's test allowances do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod custom;
mod github;
mod introspection;
mod jwks;
mod kubernetes;

use lls_auth::{AuthProviderConfig, Authenticator, RequestInfo};
use std::sync::Arc;

/// A config from run.yaml text, checked, built.
fn build(yaml: &str) -> Arc<dyn Authenticator> {
    let config: AuthProviderConfig = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(config.validate(), vec![], "{yaml}");
    lls_auth::build(&config).unwrap()
}

fn request() -> RequestInfo<'static> {
    RequestInfo::default()
}
