//! Looking up provider descriptors by `(api, provider_type)`, and checking every provider config
//! of a run.yaml without I/O.

use lls_api_common::provider::descriptors;
use lls_api_common::{Api, Error, ProviderDescriptor, Result};
use lls_config::RunConfig;

/// The descriptor for `provider_type` under `api`; a miss lists what this binary has.
pub fn find_descriptor(api: Api, provider_type: &str) -> Result<&'static ProviderDescriptor> {
    let all = descriptors();
    if let Some(d) = all.iter().find(|d| d.api == api && d.provider_type == provider_type) {
        return Ok(d);
    }
    let available: Vec<&str> = all.iter().filter(|d| d.api == api).map(|d| d.provider_type).collect();
    let hint = if available.is_empty() {
        format!("this binary has no {api} providers")
    } else {
        format!("available {api} providers: {}", available.join(", "))
    };
    Err(Error::invalid(format!(
        "provider type '{provider_type}' for the {api} API is not linked into this binary ({hint}); \
         build a distribution with the matching Cargo feature"
    )))
}

/// Checks that every provider of the config exists here and that its config parses and
/// validates. Reports every problem, each prefixed by its path in run.yaml.
pub fn check_provider_configs(config: &RunConfig) -> std::result::Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (api_name, entries) in &config.providers {
        let Ok(api) = api_name.parse::<Api>() else { continue };
        for (i, entry) in entries.iter().enumerate() {
            let path = format!("providers.{api_name}[{i}]");
            match find_descriptor(api, &entry.provider_type) {
                Err(e) => problems.push(format!("{path}.provider_type: {}", e.message())),
                Ok(d) => {
                    if let Err(e) = (d.check_config)(&entry.config) {
                        problems.push(format!("{path}.{}", e.message()));
                    }
                    for dep in d.api_dependencies {
                        let backing = dep.backed_by();
                        if config.providers.get(backing.as_str()).is_none_or(|v| v.is_empty()) {
                            let needs = if backing == *dep { String::new() } else { format!(" (served by {backing} providers)") };
                            problems.push(format!(
                                "{path}: provider '{}' needs the {dep} API{needs}, which has no provider",
                                entry.provider_type
                            ));
                        }
                    }
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}
