//! The build graph: every provider entry of run.yaml and every service the stack needs is a
//! node; a provider depends on the services of the APIs it names, a service on its API's
//! providers and the services of the APIs it names. One topological order builds them all.

use std::collections::{BTreeMap, BTreeSet};

use lls_api_common::{Api, Error, ProviderDescriptor, Result};
use lls_config::RunConfig;

use crate::find_descriptor;
use crate::service::{ServiceDescriptor, service_descriptors};

/// A node of the build graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// The `index`th provider of `api` in run.yaml.
    Provider(Api, usize),
    /// The service of `api`.
    Service(Api),
}

/// What the stack will build, in order.
pub struct Plan {
    pub order: Vec<Node>,
    pub services: BTreeMap<Api, &'static ServiceDescriptor>,
    /// Which service exports each API (an API may be served by another's service: models).
    pub exporters: BTreeMap<Api, Api>,
}

/// Whether run.yaml serves `api`: it is listed under `apis:`, or that list is empty. Built-in
/// services ([`ServiceDescriptor::builtin`]) are served either way.
pub fn enabled(config: &RunConfig, api: Api) -> bool {
    config.apis.is_empty() || config.apis.iter().any(|a| a == api.as_str())
}

fn has_providers(config: &RunConfig, api: Api) -> bool {
    config.providers.get(api.as_str()).is_some_and(|v| !v.is_empty())
}

fn provider_descriptors(config: &RunConfig) -> Result<Vec<(Node, &'static ProviderDescriptor)>> {
    let mut out = Vec::new();
    for (name, entries) in &config.providers {
        let api: Api = name.parse()?;
        for (i, entry) in entries.iter().enumerate() {
            out.push((Node::Provider(api, i), find_descriptor(api, &entry.provider_type)?));
        }
    }
    Ok(out)
}

/// Orders every node after what it needs; a cycle is a config error naming its members.
pub fn plan(config: &RunConfig) -> Result<Plan> {
    let available: BTreeMap<Api, &'static ServiceDescriptor> = service_descriptors().into_iter().map(|d| (d.api, d)).collect();
    let mut exporters = BTreeMap::new();
    for d in available.values() {
        exporters.insert(d.api, d.api);
        for also in d.also_serves {
            exporters.insert(*also, d.api);
        }
    }
    let providers = provider_descriptors(config)?;

    // Services needed: the built-in ones, those run.yaml serves or has providers for, and
    // everything they or the providers depend on.
    let mut wanted: BTreeSet<Api> = available
        .values()
        .filter(|d| d.builtin || enabled(config, d.api) || has_providers(config, d.api))
        .map(|d| d.api)
        .collect();
    let mut queue: Vec<Api> = wanted.iter().copied().collect();
    for (_, d) in &providers {
        queue.extend(d.api_dependencies.iter().filter_map(|a| exporters.get(a)));
        queue.extend(d.optional_api_dependencies.iter().filter(|a| has_providers(config, **a)).filter_map(|a| exporters.get(a)));
    }
    while let Some(api) = queue.pop() {
        wanted.insert(api);
        if let Some(d) = available.get(&api) {
            for dep in d.depends_on {
                let Some(exporter) = exporters.get(dep) else {
                    return Err(Error::invalid(format!("the {api} service needs the {dep} API, which this binary does not serve")));
                };
                if !wanted.contains(exporter) {
                    queue.push(*exporter);
                }
            }
        }
    }

    let mut edges: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
    for (node, d) in &providers {
        let deps = edges.entry(*node).or_default();
        for dep in d.api_dependencies.iter().chain(d.optional_api_dependencies) {
            if let Some(exporter) = exporters.get(dep).filter(|e| wanted.contains(e)) {
                deps.insert(Node::Service(*exporter));
            }
        }
    }
    for api in &wanted {
        let Some(d) = available.get(api) else { continue };
        let deps: BTreeSet<Node> = providers
            .iter()
            .filter(|(node, _)| matches!(node, Node::Provider(a, _) if a == api))
            .map(|(node, _)| *node)
            .chain(
                d.depends_on
                    .iter()
                    .chain(d.optional)
                    .filter_map(|dep| exporters.get(dep))
                    .filter(|e| wanted.contains(*e) && *e != api)
                    .map(|e| Node::Service(*e)),
            )
            .collect();
        edges.insert(Node::Service(*api), deps);
    }

    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    while order.len() < edges.len() {
        let ready: Vec<Node> = edges
            .iter()
            .filter(|(node, deps)| !done.contains(*node) && deps.iter().all(|d| done.contains(d) || !edges.contains_key(d)))
            .map(|(node, _)| *node)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<String> = edges.keys().filter(|n| !done.contains(*n)).map(|n| describe(config, *n)).collect();
            return Err(Error::invalid(format!("provider and service dependencies form a cycle among: {}", stuck.join(", "))));
        }
        for node in ready {
            done.insert(node);
            order.push(node);
        }
    }
    let services = available.into_iter().filter(|(api, _)| wanted.contains(api)).collect();
    Ok(Plan { order, services, exporters })
}

fn describe(config: &RunConfig, node: Node) -> String {
    match node {
        Node::Provider(api, i) => {
            let id = config.providers.get(api.as_str()).and_then(|v| v.get(i)).map(|e| e.provider_id.as_str()).unwrap_or("?");
            format!("provider '{id}' ({api})")
        }
        Node::Service(api) => format!("the {api} service"),
    }
}
