//! The condition grammar of a rule's `when`/`unless`: six word patterns, parsed once when the
//! policy is read, then tested against a resource and its caller.

use std::fmt;
use std::str::FromStr;

use lls_api_common::access::{ProtectedResource, User};

/// One parsed condition. The text is split into words on whitespace (as Python's `str.split()`
/// does); anything but these six shapes is a config error. Note `owners`: the upstream docs'
/// `user in owner teams` does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `user is owner`: the resource has an owner and its principal is the caller's.
    UserIsOwner,
    /// `user is not owner`: the resource has no owner, or another principal owns it.
    UserIsNotOwner,
    /// `user with <value> in <attribute>`: the caller's `attribute` lists `value`.
    UserWithValueIn { value: String, attribute: String },
    /// `user with <value> not in <attribute>`: the negation of the above.
    UserWithValueNotIn { value: String, attribute: String },
    /// `user in owners <attribute>`: the owner has no values for `attribute` (vacuously true,
    /// also when there is no owner), or the caller shares at least one of them.
    UserInOwners { attribute: String },
    /// `user not in owners <attribute>`: the negation of the above.
    UserNotInOwners { attribute: String },
}

/// A condition that is none of the six shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid condition {0:?}: expected `user is owner`, `user is not owner`, `user with <value> in <attribute>`, \
     `user with <value> not in <attribute>`, `user in owners <attribute>` or `user not in owners <attribute>`"
)]
pub struct InvalidCondition(pub String);

impl FromStr for Condition {
    type Err = InvalidCondition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = text.split(is_python_space).filter(|w| !w.is_empty()).collect();
        let owned = |s: &str| s.to_owned();
        Ok(match words.as_slice() {
            ["user", "is", "owner"] => Condition::UserIsOwner,
            ["user", "is", "not", "owner"] => Condition::UserIsNotOwner,
            ["user", "with", value, "in", attribute] => {
                Condition::UserWithValueIn { value: owned(value), attribute: owned(attribute) }
            }
            ["user", "with", value, "not", "in", attribute] => {
                Condition::UserWithValueNotIn { value: owned(value), attribute: owned(attribute) }
            }
            ["user", "in", "owners", attribute] => Condition::UserInOwners { attribute: owned(attribute) },
            ["user", "not", "in", "owners", attribute] => Condition::UserNotInOwners { attribute: owned(attribute) },
            _ => return Err(InvalidCondition(text.to_owned())),
        })
    }
}

/// Python's `str.isspace`: Unicode White_Space plus the information separators U+001C..U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::UserIsOwner => f.write_str("user is owner"),
            Condition::UserIsNotOwner => f.write_str("user is not owner"),
            Condition::UserWithValueIn { value, attribute } => write!(f, "user with {value} in {attribute}"),
            Condition::UserWithValueNotIn { value, attribute } => write!(f, "user with {value} not in {attribute}"),
            Condition::UserInOwners { attribute } => write!(f, "user in owners {attribute}"),
            Condition::UserNotInOwners { attribute } => write!(f, "user not in owners {attribute}"),
        }
    }
}

impl Condition {
    /// Whether the condition holds for `user` acting on `resource`.
    pub fn matches(&self, resource: &ProtectedResource<'_>, user: &User) -> bool {
        match self {
            Condition::UserIsOwner => resource.owner.is_some_and(|owner| owner.principal == user.principal),
            Condition::UserIsNotOwner => resource.owner.is_none_or(|owner| owner.principal != user.principal),
            Condition::UserWithValueIn { value, attribute } => has_value(user, attribute, value),
            Condition::UserWithValueNotIn { value, attribute } => !has_value(user, attribute, value),
            Condition::UserInOwners { attribute } => in_owners(resource, user, attribute),
            Condition::UserNotInOwners { attribute } => !in_owners(resource, user, attribute),
        }
    }
}

fn has_value(user: &User, attribute: &str, value: &str) -> bool {
    user.attributes.get(attribute).is_some_and(|values| values.iter().any(|v| v == value))
}

fn in_owners(resource: &ProtectedResource<'_>, user: &User, attribute: &str) -> bool {
    let required = match resource.owner.and_then(|owner| owner.attributes.get(attribute)) {
        Some(values) if !values.is_empty() => values,
        _ => return true,
    };
    let Some(held) = user.attributes.get(attribute) else {
        return false;
    };
    required.iter().any(|value| held.contains(value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lls_api_common::access::AccessAttributes;

    use super::*;

    fn user(principal: &str, pairs: &[(&str, &[&str])]) -> User {
        let attributes: AccessAttributes =
            pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect();
        User::new(principal, attributes)
    }

    fn cond(text: &str) -> Condition {
        text.parse().unwrap()
    }

    #[test]
    fn parses_the_six_shapes_and_prints_them_back() {
        let cases = [
            ("user is owner", Condition::UserIsOwner),
            ("user is not owner", Condition::UserIsNotOwner),
            ("user with admin in roles", Condition::UserWithValueIn { value: "admin".into(), attribute: "roles".into() }),
            (
                "user with admin not in roles",
                Condition::UserWithValueNotIn { value: "admin".into(), attribute: "roles".into() },
            ),
            ("user in owners teams", Condition::UserInOwners { attribute: "teams".into() }),
            ("user not in owners teams", Condition::UserNotInOwners { attribute: "teams".into() }),
        ];
        for (text, expected) in cases {
            let parsed = cond(text);
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn words_are_split_on_any_whitespace_run() {
        assert_eq!(cond("  user \t in\nowners   roles "), Condition::UserInOwners { attribute: "roles".into() });
        assert_eq!(cond("user\u{1f}is\u{a0}owner "), Condition::UserIsOwner);
        // "not" and "in" are ordinary words where a value goes
        assert_eq!(cond("user with not in roles"), Condition::UserWithValueIn { value: "not".into(), attribute: "roles".into() });
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "   ",
            "user in owner teams", // the upstream docs' example: not the grammar
            "User is owner",
            "user is the owner",
            "user with admin in",
            "user with admin in roles teams",
            "user in owners",
            "user not in owners a b",
            "principal is owner",
            "user with a b in roles",
        ] {
            let err = text.parse::<Condition>().unwrap_err();
            assert_eq!(err.0, text);
            assert!(err.to_string().starts_with(&format!("invalid condition {text:?}")), "{err}");
        }
    }

    #[test]
    fn ownership_conditions() {
        let alice = user("alice", &[]);
        let bob = user("bob", &[]);
        let unowned = ProtectedResource::new("model", "m", None);
        let owned_by_alice = ProtectedResource::new("model", "m", Some(&alice));
        let is_owner = cond("user is owner");
        let is_not_owner = cond("user is not owner");
        assert!(is_owner.matches(&owned_by_alice, &alice));
        assert!(!is_owner.matches(&owned_by_alice, &bob));
        assert!(!is_owner.matches(&unowned, &alice));
        assert!(!is_not_owner.matches(&owned_by_alice, &alice));
        assert!(is_not_owner.matches(&owned_by_alice, &bob));
        assert!(is_not_owner.matches(&unowned, &alice));
        // a SQL row written without auth has the owner "" (never a real caller)
        let nobody = user("", &[]);
        let public_row = ProtectedResource::new("sql_record::t", "1", Some(&nobody));
        assert!(!is_owner.matches(&public_row, &alice));
        assert!(is_not_owner.matches(&public_row, &alice));
    }

    #[test]
    fn user_attribute_conditions() {
        let resource = ProtectedResource::new("model", "m", None);
        type Attrs<'a> = &'a [(&'a str, &'a [&'a str])];
        let cases: &[(Attrs, bool)] = &[
            (&[("roles", &["admin", "dev"])], true),
            (&[("roles", &["dev"])], false),
            (&[("roles", &[])], false),
            (&[("teams", &["admin"])], false),
            (&[], false),
            (&[("roles", &["Admin"])], false),
        ];
        let with = cond("user with admin in roles");
        let without = cond("user with admin not in roles");
        for (attributes, has) in cases {
            let u = user("u", attributes);
            assert_eq!(with.matches(&resource, &u), *has, "{attributes:?}");
            assert_eq!(without.matches(&resource, &u), !*has, "{attributes:?}");
        }
    }

    #[test]
    fn owners_conditions_with_vacuous_truth() {
        type Attrs<'a> = &'a [(&'a str, &'a [&'a str])];
        // (owner's attributes or no owner, caller's attributes, `user in owners teams`)
        let cases: &[(Option<Attrs>, Attrs, bool)] = &[
            (None, &[], true),
            (None, &[("teams", &["a"])], true),
            (Some(&[]), &[], true),
            (Some(&[("roles", &["r"])]), &[], true),
            (Some(&[("teams", &[])]), &[], true),
            (Some(&[("teams", &["a"])]), &[], false),
            (Some(&[("teams", &["a"])]), &[("teams", &[])], false),
            (Some(&[("teams", &["a"])]), &[("roles", &["a"])], false),
            (Some(&[("teams", &["a"])]), &[("teams", &["b"])], false),
            (Some(&[("teams", &["a", "b"])]), &[("teams", &["c", "b"])], true),
            (Some(&[("teams", &["a"])]), &[("teams", &["a"])], true),
        ];
        let in_owners = cond("user in owners teams");
        let not_in_owners = cond("user not in owners teams");
        for (owner_attrs, caller_attrs, expected) in cases {
            let owner = owner_attrs.map(|a| user("owner", a));
            let resource = ProtectedResource::new("model", "m", owner.as_ref());
            let caller = user("caller", caller_attrs);
            assert_eq!(in_owners.matches(&resource, &caller), *expected, "{owner_attrs:?} {caller_attrs:?}");
            assert_eq!(not_in_owners.matches(&resource, &caller), !*expected, "{owner_attrs:?} {caller_attrs:?}");
        }
    }
}
