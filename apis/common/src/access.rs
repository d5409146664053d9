//! Who calls and who owns what: the authenticated [`User`], the [`Owner`] recorded with a
//! resource, the four [`Action`]s and [`ProtectedResource`], what every access check is about.
//! The policy that decides (run.yaml's `server.auth.access_policy`) lives in `lls-access`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attribute name → values, e.g. `{"roles": ["admin"], "teams": ["ml"]}`: what authentication
/// maps a token's claims to, and what is recorded with a resource its creator owns.
pub type AccessAttributes = BTreeMap<String, Vec<String>>;

/// The authenticated caller, as 0.3.5 writes it: `{principal, attributes: {name: [values]}}`.
/// With authentication off there is no user, and every access check passes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct User {
    pub principal: String,
    /// 0.3.5 writes `null` for a user without attributes; read here as empty.
    #[serde(default, deserialize_with = "attributes_or_null")]
    pub attributes: AccessAttributes,
}

/// The creator of a resource, recorded with it (a registry object's `owner`; a SQL row's
/// `owner_principal` and `access_attributes` columns). 0.3.5 uses the same shape as [`User`].
pub type Owner = User;

fn attributes_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<AccessAttributes, D::Error> {
    Ok(Option::<AccessAttributes>::deserialize(deserializer)?.unwrap_or_default())
}

impl User {
    pub fn new(principal: impl Into<String>, attributes: AccessAttributes) -> Self {
        User {
            principal: principal.into(),
            attributes,
        }
    }

    /// The owner 0.3.5 reads back from a SQL row: the `owner_principal` column (SQL NULL reads
    /// as `""`, the principal of rows written without authentication) and the
    /// `access_attributes` JSON column (`null` or anything but an object reads as no attributes;
    /// values that are not lists of strings are skipped).
    pub fn from_columns(owner_principal: Option<&str>, access_attributes: &Value) -> Owner {
        let attributes = match access_attributes {
            Value::Object(map) => map
                .iter()
                .filter_map(|(name, values)| {
                    let values = values
                        .as_array()?
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    Some((name.clone(), values))
                })
                .collect(),
            _ => AccessAttributes::new(),
        };
        User {
            principal: owner_principal.unwrap_or_default().to_owned(),
            attributes,
        }
    }

    /// The `access_attributes` column value a SQL store writes for a row this user creates:
    /// the attributes as a JSON object, or `null` when there are none (0.3.5 writes `null` for
    /// a user without attributes and for rows written without authentication).
    pub fn access_attributes_column(&self) -> Value {
        if self.attributes.is_empty() {
            return Value::Null;
        }
        Value::Object(
            self.attributes
                .iter()
                .map(|(name, values)| (name.clone(), Value::from(values.clone())))
                .collect(),
        )
    }
}

/// What a caller wants to do with a resource; run.yaml spells them in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

impl Action {
    /// Every action, in 0.3.5's declaration order.
    pub const ALL: [Action; 4] = [Action::Create, Action::Read, Action::Update, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown action `{s}`, expected one of `create`, `read`, `update`, `delete`"
                )
            })
    }
}

/// The type part of the qualified id of a row in a SQL store: `sql_record::<table>`, so a
/// row's id is `sql_record::<table>::<row id>` (0.3.5's `SqlRecord`).
pub fn sql_record_type(table: &str) -> String {
    format!("sql_record::{table}")
}

/// What an access check is about: a resource `type` (`model`, `vector_store`, `tool_group`,
/// `sql_record::<table>`, …), its identifier and the owner recorded with it, if any.
/// Rules name it as `"<type>::<identifier>"`.
#[derive(Debug, Clone, Copy)]
pub struct ProtectedResource<'a> {
    pub type_: &'a str,
    pub identifier: &'a str,
    pub owner: Option<&'a Owner>,
}

impl<'a> ProtectedResource<'a> {
    pub fn new(type_: &'a str, identifier: &'a str, owner: Option<&'a Owner>) -> Self {
        ProtectedResource {
            type_,
            identifier,
            owner,
        }
    }

    /// `"<type>::<identifier>"`, what a rule's `resource` is matched against.
    pub fn qualified_id(&self) -> String {
        format!("{}::{}", self.type_, self.identifier)
    }
}

/// The access policy in force (run.yaml's `server.auth.access_policy`, implemented by
/// `lls-access`), as requests carry it to services and providers.
pub trait AccessPolicy: Send + Sync + fmt::Debug {
    /// Whether `user` may do `action` to `resource`.
    fn is_allowed(&self, action: Action, resource: &ProtectedResource<'_>, user: &User) -> bool;
    /// The 403 for a refused action, in 0.3.5's words.
    fn denied(&self, action: Action, resource: &ProtectedResource<'_>, user: &User)
    -> crate::Error;
    /// What a SQL store may filter in the database before checking each row it reads with
    /// [`AccessPolicy::is_allowed`]; `None` when the policy cannot be expressed as a filter.
    fn sql_filter(&self, user: &User) -> Option<OwnerFilter>;
}

/// An authenticated caller and the policy its access checks follow; the edge puts it in each
/// request's context.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub policy: std::sync::Arc<dyn AccessPolicy>,
}

/// The part of a read check a SQL store does in the database, for the default policy: 0.3.5's
/// `AuthorizedSqlStore` WHERE clause, described here and turned into SQL by the store. Rows
/// that pass still go through the policy check (`lls_access::Policy::is_allowed`), as in 0.3.5.
///
/// A row passes when it is public (`owner_principal = ''`, or `access_attributes` SQL NULL or
/// JSON `null`), or when `shared` is not empty and, for every attribute name in it, the row's
/// `access_attributes` has no value under that name (missing or `null`) or a list holding one
/// of the reader's values. Like 0.3.5, `shared` holds every attribute the reader has values
/// for, not only roles/teams/projects/namespaces, so a reader attribute outside those four
/// also narrows what the database returns; and a reader with no attributes sees public rows
/// only. (0.3.5 tests list membership with `LIKE '%"value"%'` on the JSON text; this contract
/// is exact membership, which the policy check afterwards enforces in 0.3.5 anyway for the four
/// default attributes.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnerFilter {
    /// The reader's attributes that have at least one value.
    pub shared: AccessAttributes,
}

impl OwnerFilter {
    /// Only rows written without authentication.
    pub fn public_only() -> Self {
        OwnerFilter::default()
    }

    /// Whether a row with these column values passes, computed here: for stores that filter
    /// in memory, and the reference a SQL translation is tested against.
    pub fn admits(&self, owner_principal: Option<&str>, access_attributes: &Value) -> bool {
        if owner_principal == Some("") || access_attributes.is_null() {
            return true;
        }
        if self.shared.is_empty() {
            return false;
        }
        self.shared
            .iter()
            .all(|(name, reader_values)| match access_attributes.get(name) {
                None | Some(Value::Null) => true,
                Some(Value::Array(owner_values)) => owner_values.iter().any(|v| {
                    v.as_str()
                        .is_some_and(|v| reader_values.iter().any(|r| r == v))
                }),
                Some(_) => false,
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attrs(pairs: &[(&str, &[&str])]) -> AccessAttributes {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn user_reads_null_attributes_as_empty_and_round_trips() {
        let user: User =
            serde_json::from_value(json!({"principal": "alice", "attributes": null})).unwrap();
        assert_eq!(user, User::new("alice", AccessAttributes::new()));
        let user: User = serde_json::from_value(json!({"principal": "bob"})).unwrap();
        assert!(user.attributes.is_empty());
        let user = User::new("carol", attrs(&[("roles", &["admin"])]));
        let back: User = serde_json::from_value(serde_json::to_value(&user).unwrap()).unwrap();
        assert_eq!(back, user);
        assert!(serde_json::from_value::<User>(json!({"attributes": {}})).is_err());
    }

    #[test]
    fn owner_from_sql_columns() {
        let owner = User::from_columns(None, &Value::Null);
        assert_eq!(owner, User::new("", AccessAttributes::new()));
        let owner = User::from_columns(
            Some("alice"),
            &json!({"roles": ["a", 1, "b"], "teams": "x"}),
        );
        assert_eq!(owner, User::new("alice", attrs(&[("roles", &["a", "b"])])));
        assert!(
            User::from_columns(Some("x"), &json!([1]))
                .attributes
                .is_empty()
        );
    }

    #[test]
    fn access_attributes_column_is_null_without_attributes() {
        assert_eq!(
            User::new("a", AccessAttributes::new()).access_attributes_column(),
            Value::Null
        );
        let user = User::new("a", attrs(&[("roles", &["r1", "r2"])]));
        assert_eq!(
            user.access_attributes_column(),
            json!({"roles": ["r1", "r2"]})
        );
    }

    #[test]
    fn actions_parse_and_print_in_lower_case() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>().unwrap(), action);
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                json!(action.to_string())
            );
        }
        assert!("Read".parse::<Action>().is_err());
        assert!(serde_json::from_value::<Action>(json!("write")).is_err());
    }

    #[test]
    fn qualified_ids() {
        let owner = User::new("o", AccessAttributes::new());
        let table = sql_record_type("openai_files");
        let r = ProtectedResource::new(&table, "file-1", Some(&owner));
        assert_eq!(r.qualified_id(), "sql_record::openai_files::file-1");
        assert_eq!(
            ProtectedResource::new("model", "m", None).qualified_id(),
            "model::m"
        );
    }

    #[test]
    fn owner_filter_admits_like_the_sql_of_0_3_5() {
        let reader = OwnerFilter {
            shared: attrs(&[("roles", &["dev", "ops"]), ("teams", &["ml"])]),
        };
        let public = OwnerFilter::public_only();
        let cases: &[(Option<&str>, Value, bool, bool)] = &[
            // (owner_principal, access_attributes, admitted for `reader`, for `public`)
            (Some(""), json!({"roles": ["x"]}), true, true),
            (Some("bob"), Value::Null, true, true),
            (None, Value::Null, true, true),
            (None, json!({"roles": ["dev"]}), true, false),
            (
                Some("bob"),
                json!({"roles": ["ops"], "teams": ["ml", "x"]}),
                true,
                false,
            ),
            (Some("bob"), json!({"roles": ["ops"]}), true, false),
            (
                Some("bob"),
                json!({"roles": ["ops"], "teams": null}),
                true,
                false,
            ),
            (Some("bob"), json!({"projects": ["p"]}), true, false),
            (Some("bob"), json!({}), true, false),
            (Some("bob"), json!({"roles": ["admin"]}), false, false),
            (
                Some("bob"),
                json!({"roles": ["dev"], "teams": ["infra"]}),
                false,
                false,
            ),
            (Some("bob"), json!({"roles": []}), false, false),
            (Some("bob"), json!({"roles": "dev"}), false, false),
        ];
        for (principal, attributes, for_reader, for_public) in cases {
            assert_eq!(
                reader.admits(*principal, attributes),
                *for_reader,
                "{principal:?} {attributes}"
            );
            assert_eq!(
                public.admits(*principal, attributes),
                *for_public,
                "{principal:?} {attributes}"
            );
        }
    }
}
