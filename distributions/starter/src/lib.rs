//! The starter distribution: which services and providers are linked (one Cargo feature per
//! provider) and the default run.yaml. This is the only kind of crate that names providers.

mod providers;
mod services;

/// The run.yaml used when `llama-stack run` is given no config.
pub const RUN_YAML: &str = include_str!("../run.yaml");

pub const DISTRIBUTION: lls_cli::Distribution = lls_cli::Distribution {
    name: "starter",
    default_run_yaml: RUN_YAML,
};

/// Makes sure the service and provider crates are linked (their `inventory` entries vanish
/// otherwise).
pub fn link() {
    services::link();
    providers::link();
}
