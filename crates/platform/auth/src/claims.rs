//! `claims_mapping`: claims (a JWT's, an introspection answer, Kubernetes `userInfo`) →
//! access attributes, as 0.3.5 maps them.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Claim path → attribute name, in the order run.yaml lists them (values of one attribute are
/// combined in that order).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClaimsMapping(pub Vec<(String, String)>);

impl ClaimsMapping {
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        ClaimsMapping(pairs.iter().map(|(c, a)| ((*c).to_owned(), (*a).to_owned())).collect())
    }

    /// Every mapped claim present in `claims`: a list is taken as it is, a string is split on
    /// whitespace, numbers and booleans are written out; values for one attribute accumulate.
    pub fn attributes(&self, claims: &Value) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, attribute) in &self.0 {
            let Some(claim) = lookup(claims, path) else { continue };
            let values = claim_values(claim);
            out.entry(attribute.clone()).or_default().extend(values);
        }
        out
    }
}

impl<'de> serde::Deserialize<'de> for ClaimsMapping {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = ClaimsMapping;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of claim name to attribute name")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsMapping, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    pairs.push((k, v));
                }
                Ok(ClaimsMapping(pairs))
            }
        }
        d.deserialize_map(Ordered)
    }
}

/// A dotted path through nested objects first (`realm_access.roles`), then the literal key
/// (some issuers put dots in claim names).
fn lookup<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    let nested = path.split('.').try_fold(claims, |v, part| v.as_object()?.get(part));
    nested.or_else(|| claims.as_object()?.get(path))
}

fn claim_values(claim: &Value) -> Vec<String> {
    match claim {
        Value::Array(items) => items.iter().filter_map(scalar).collect(),
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_then_literal_keys_lists_and_split_strings_combined() {
        let m = ClaimsMapping::new(&[
            ("sub", "roles"),
            ("groups", "roles"),
            ("realm.roles", "teams"),
            ("x.y", "projects"),
            ("scope", "scopes"),
            ("missing", "roles"),
        ]);
        let claims = json!({
            "sub": "alice",
            "groups": ["admin", "dev"],
            "realm": {"roles": ["r1"]},
            "x.y": "p1 p2",
            "scope": "read  write",
        });
        let attrs = m.attributes(&claims);
        assert_eq!(attrs["roles"], vec!["alice", "admin", "dev"]);
        assert_eq!(attrs["teams"], vec!["r1"]);
        assert_eq!(attrs["projects"], vec!["p1", "p2"]);
        assert_eq!(attrs["scopes"], vec!["read", "write"]);
        assert_eq!(attrs.len(), 4);
    }

    #[test]
    fn keeps_yaml_order() {
        let m: ClaimsMapping = serde_json::from_str(r#"{"z": "a", "b": "a"}"#).unwrap();
        assert_eq!(m.0[0].0, "z");
        let attrs = m.attributes(&json!({"z": "1", "b": "2"}));
        assert_eq!(attrs["a"], vec!["1", "2"]);
    }
}
