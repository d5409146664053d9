//! Reading and checking a run.yaml for `run` and `validate`: which file (a path, or a
//! distribution's name for its embedded run.yaml), then every stage's problems and warnings at once.

use std::collections::BTreeMap;
use std::path::Path;

use lls_config::RunConfig;

use crate::Distribution;

/// Where a run.yaml comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(std::path::PathBuf),
    /// A distribution's embedded run.yaml.
    Embedded,
}

impl Source {
    /// `arg` as `run`/`validate` take it: a file when one exists at that path, else this binary's
    /// distribution name (its embedded run.yaml), else an error naming what is accepted.
    pub fn resolve(dist: &Distribution, arg: Option<&str>) -> Result<Source, String> {
        let Some(arg) = arg else { return Ok(Source::Embedded) };
        let path = Path::new(arg);
        if path.is_file() {
            return Ok(Source::File(path.to_owned()));
        }
        if arg == dist.name {
            return Ok(Source::Embedded);
        }
        if path.exists() {
            return Err(format!("{arg} is not a file: give a run.yaml file or the distribution name '{}'", dist.name));
        }
        Err(format!(
            "no run.yaml at '{arg}', and '{arg}' is not a distribution this binary has: give the path of a run.yaml, \
             or '{}' for its embedded run.yaml (`llama-stack print-config` shows it)",
            dist.name
        ))
    }
}

/// What checking a run.yaml found: the config when it parsed, every problem of every stage, and
/// the warnings `run` logs and `validate` prints.
#[derive(Debug)]
pub struct Checked {
    /// Where the text came from, for messages.
    pub origin: String,
    pub config: Option<RunConfig>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

impl Checked {
    /// The config, when nothing is wrong with it; else every problem, one a line.
    pub fn into_config(self) -> Result<RunConfig, String> {
        match self.config {
            Some(config) if self.problems.is_empty() => Ok(config),
            _ => Err(self.report()),
        }
    }

    /// `<origin>: N problem(s):` and the problems, one a line.
    pub fn report(&self) -> String {
        let n = self.problems.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        format!("{}: {n} {noun}:\n  {}", self.origin, self.problems.join("\n  "))
    }
}

/// Reads `source`, expands `${env.*}` (`--env` pairs over the process environment), parses, validates,
/// checks every provider's config and the CORS policy; no stage stops the next one from reporting.
pub fn check(dist: &Distribution, source: &Source, env: &[String]) -> Result<Checked, String> {
    let overrides = parse_env(env)?;
    let lookup = move |name: &str| overrides.get(name).cloned().or_else(|| lls_config::process_env(name));
    let (text, origin) = match source {
        Source::File(p) => (std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?, p.display().to_string()),
        Source::Embedded => (dist.default_run_yaml.to_owned(), format!("the embedded {} run.yaml", dist.name)),
    };
    let mut problems = Vec::new();
    let config = match RunConfig::from_yaml_str(&text, &lookup) {
        Ok(config) => Some(config),
        Err(errors) => {
            problems.extend(errors.iter().map(ToString::to_string));
            None
        }
    };
    let mut warnings = Vec::new();
    if let Some(config) = &config {
        if let Err(errors) = config.validate() {
            problems.extend(errors.iter().map(ToString::to_string));
        }
        if let Err(found) = lls_registry::check_provider_configs(config) {
            problems.extend(found);
        }
        if let Some(policy) = config.server.cors.as_ref().and_then(|c| c.policy())
            && let Err(e) = lls_server::edge::cors::check(&policy)
        {
            problems.push(e);
        }
        warnings = config_warnings(config);
    }
    problems.dedup();
    Ok(Checked { origin, config, problems, warnings })
}

/// What is accepted but probably not meant: `run` logs these at startup, `validate` prints them.
pub fn config_warnings(config: &RunConfig) -> Vec<String> {
    config
        .ignored_keys
        .iter()
        .map(|key| format!("ignoring unknown top-level key '{key}' (0.2.x keys moved under storage/registered_resources)"))
        .collect()
}

fn parse_env(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("--env expects KEY=VALUE, got '{p}'"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const DIST: Distribution = Distribution { name: "demo", default_run_yaml: "image_name: demo\n" };

    fn checked(yaml: &str) -> Checked {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.yaml");
        std::fs::write(&path, yaml).unwrap();
        check(&DIST, &Source::File(path), &[]).unwrap()
    }

    #[test]
    fn a_distribution_name_is_its_embedded_run_yaml() {
        assert_eq!(Source::resolve(&DIST, Some("demo")).unwrap(), Source::Embedded);
        assert_eq!(Source::resolve(&DIST, None).unwrap(), Source::Embedded);
        let err = Source::resolve(&DIST, Some("nope")).unwrap_err();
        assert!(err.contains("'nope'") && err.contains("'demo'"), "{err}");
    }

    #[test]
    fn a_file_wins_over_a_distribution_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo");
        std::fs::write(&path, "x: 1").unwrap();
        let arg = path.to_str().unwrap();
        assert_eq!(Source::resolve(&DIST, Some(arg)).unwrap(), Source::File(path.clone()));
        let err = Source::resolve(&DIST, Some(dir.path().to_str().unwrap())).unwrap_err();
        assert!(err.contains("not a file"), "{err}");
    }

    #[test]
    fn every_stage_reports_in_one_pass() {
        // A validation problem (unknown API), a bad CORS policy and an unknown top-level key.
        let found = checked(
            "image_name: demo\napis: [inference, nonsense]\nproviders: {}\nmetadata_store: {}\n\
             storage:\n  backends: {kv: {type: kv_sqlite, db_path: /tmp/x.db}}\n  stores: {metadata: {backend: kv, namespace: r}}\n\
             server:\n  cors: {allow_origins: ['*'], allow_credentials: true}\n",
        );
        assert!(found.problems.iter().any(|p| p.contains("apis[1]") && p.contains("nonsense")), "{:?}", found.problems);
        assert!(found.problems.iter().any(|p| p.contains("server.cors")), "{:?}", found.problems);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("metadata_store"));
        let report = found.report();
        assert!(report.contains(&format!("{} problems", found.problems.len())), "{report}");
    }

    #[test]
    fn parse_errors_are_all_reported() {
        let found = checked("version: 2\n");
        assert!(found.config.is_none());
        assert!(found.problems.len() >= 3, "{:?}", found.problems);
    }

    #[test]
    fn env_pairs_need_an_equals_sign() {
        assert!(parse_env(&["A".into()]).unwrap_err().contains("KEY=VALUE"));
        assert_eq!(parse_env(&["A=b=c".into()]).unwrap()["A"], "b=c");
    }
}
