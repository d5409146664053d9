//! `remote::trustyai_fms`: shields judged by TrustyAI / FMS guardrails detectors, called
//! directly (the detector API) or through the FMS guardrails orchestrator, as OpenShift AI's
//! TrustyAI provider does.
#![doc = include_str!("../README.md")]

mod config;
mod provider;

pub use config::{FmsConfig, MessageType, NestedDetector, ShieldConfig, ShieldKind};
pub use provider::TrustyAiFms;

pub const PROVIDER_TYPE: &str = "remote::trustyai_fms";

/// The run.yaml `config:` block `list-providers` and the docs show.
pub const SAMPLE_CONFIG: &str = "orchestrator_url: ${env.FMS_ORCHESTRATOR_URL:=}\n\
ssl_cert_path: ${env.FMS_SSL_CERT_PATH:=}\n\
verify_ssl: ${env.FMS_VERIFY_SSL:=true}\n\
auth_token: ${env.FMS_AUTH_TOKEN:=}\n\
shields: {}\n";

lls_api_safety::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "TrustyAI FMS guardrails: shields judged by FMS detectors (detector API) or the FMS guardrails orchestrator; content or chat detectors, thresholds and message types per shield.",
    sample_config: SAMPLE_CONFIG,
    config: FmsConfig,
    build: TrustyAiFms::build,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_safety() {
        let mine: Vec<_> = descriptors()
            .into_iter()
            .filter(|d| d.provider_type == PROVIDER_TYPE)
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Safety);
        assert!(mine[0].api_dependencies.is_empty());
    }

    #[test]
    fn sample_config_expands_to_a_valid_config() {
        let c: FmsConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None)).unwrap();
        assert_eq!(c, FmsConfig::default());
        let env = |k: &str| (k == "FMS_ORCHESTRATOR_URL").then(|| "http://orch:8033".to_owned());
        let c: FmsConfig =
            parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!(c.orchestrator_url.as_deref(), Some("http://orch:8033"));
    }
}
