//! One rule of `server.auth.access_policy`, read from run.yaml as 0.3.5 writes it and checked
//! as it is read: a malformed rule is a config error with its path, never a rule that
//! silently permits.

use lls_api_common::access::Action;
use serde::de::{self, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::condition::{Condition, InvalidCondition};

/// Whether a matching rule permits or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Permit,
    Forbid,
}

/// Which requests a rule is about: `principal` and `resource` match everything when absent
/// (or empty, as in 0.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub principal: Option<String>,
    /// Listed actions, as written (one action or a list).
    pub actions: Vec<Action>,
    /// `"<type>::<identifier>"`, or `"<type>::*"` for every resource of a type.
    pub resource: Option<String>,
}

/// When a rule whose scope matches decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// No condition (or an empty one): the rule decides.
    Always,
    /// `when`: the rule decides only if every condition holds.
    When(Vec<Condition>),
    /// `unless`: the rule decides only if not every condition holds.
    Unless(Vec<Condition>),
}

/// One rule: `{permit | forbid: {principal?, actions, resource?}, when? | unless?, description?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub effect: Effect,
    pub scope: Scope,
    pub gate: Gate,
    pub description: Option<String>,
    /// Written exactly as 0.3.5's default policy (which its SQL stores filter in the database).
    pub(crate) is_default_form: bool,
}

/// A rule that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("a rule needs `permit` or `forbid`")]
    NoEffect,
    #[error("`permit` and `forbid` are mutually exclusive: write two rules")]
    BothEffects,
    #[error("`when` and `unless` are mutually exclusive")]
    BothConditions,
    #[error("`{field}`: {source}")]
    Condition { field: &'static str, source: InvalidCondition },
}

/// The conditions of 0.3.5's default policy, in its order.
pub(crate) const DEFAULT_CONDITIONS: [&str; 4] =
    ["user in owners roles", "user in owners teams", "user in owners projects", "user in owners namespaces"];

impl AccessRule {
    /// 0.3.5's default policy, used when run.yaml lists no rules: permit every action when
    /// the caller shares the owner's roles, teams, projects and namespaces (each vacuously true
    /// when the owner has none).
    pub fn default_rule() -> AccessRule {
        AccessRule {
            effect: Effect::Permit,
            scope: Scope { principal: None, actions: Action::ALL.to_vec(), resource: None },
            gate: Gate::When(
                DEFAULT_CONDITIONS.iter().map(|c| Condition::UserInOwners { attribute: attribute_of(c) }).collect(),
            ),
            description: None,
            is_default_form: true,
        }
    }

    /// Checks and parses a rule written in run.yaml's shape.
    fn from_raw(raw: RawRule) -> Result<AccessRule, RuleError> {
        let (effect, scope) = match (raw.permit, raw.forbid) {
            (None, None) => return Err(RuleError::NoEffect),
            (Some(_), Some(_)) => return Err(RuleError::BothEffects),
            (Some(MapOnly(scope)), None) => (Effect::Permit, scope),
            (None, Some(MapOnly(scope))) => (Effect::Forbid, scope),
        };
        // Compared field by field as 0.3.5 compares its pydantic models.
        let is_default_form = effect == Effect::Permit
            && scope.principal.is_none()
            && scope.resource.is_none()
            && scope.actions.list
            && scope.actions.items == Action::ALL
            && raw.when.as_ref().is_some_and(|w| w.list && w.items == DEFAULT_CONDITIONS)
            && raw.unless.is_none()
            && raw.description.is_none();
        // 0.3.5 tests these for truth: an empty string or list is no condition.
        let when = raw.when.filter(|c| !c.is_empty());
        let unless = raw.unless.filter(|c| !c.is_empty());
        let gate = match (when, unless) {
            (Some(_), Some(_)) => return Err(RuleError::BothConditions),
            (Some(when), None) => Gate::When(parse_conditions("when", &when.items)?),
            (None, Some(unless)) => Gate::Unless(parse_conditions("unless", &unless.items)?),
            (None, None) => Gate::Always,
        };
        let scope = Scope { principal: scope.principal, actions: scope.actions.items, resource: scope.resource };
        Ok(AccessRule { effect, scope, gate, description: raw.description, is_default_form })
    }
}

fn attribute_of(condition: &str) -> String {
    condition.rsplit(' ').next().unwrap_or_default().to_owned()
}

fn parse_conditions(field: &'static str, texts: &[String]) -> Result<Vec<Condition>, RuleError> {
    texts.iter().map(|t| t.parse().map_err(|source| RuleError::Condition { field, source })).collect()
}

impl<'de> Deserialize<'de> for AccessRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawRule::deserialize(deserializer)?;
        AccessRule::from_raw(raw).map_err(de::Error::custom)
    }
}

/// The rule as written. Unknown keys are refused (0.3.5 ignores them): a misspelt `when`
/// would otherwise turn a conditional permit into an unconditional one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    permit: Option<MapOnly<RawScope>>,
    #[serde(default)]
    forbid: Option<MapOnly<RawScope>>,
    #[serde(default)]
    when: Option<OneOrMany<String>>,
    #[serde(default)]
    unless: Option<OneOrMany<String>>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    principal: Option<String>,
    actions: OneOrMany<Action>,
    #[serde(default)]
    resource: Option<String>,
}

/// A struct read from a mapping only (serde would also read one from a list, field by field),
/// keeping serde_path_to_error's path into it.
struct MapOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = MapOnly<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(MapOnly)
            }
        }

        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

/// `x` or `[x, …]`, remembering which was written.
struct OneOrMany<T> {
    items: Vec<T>,
    list: bool,
}

impl OneOrMany<String> {
    /// Python's truth test: `""` and `[]` are false, `[""]` is true (and then fails to parse).
    fn is_empty(&self) -> bool {
        if self.list { self.items.is_empty() } else { self.items.iter().all(String::is_empty) }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let item = T::deserialize(v.into_deserializer())?;
                Ok(OneOrMany { items: vec![item], list: false })
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany { items, list: true })
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}
