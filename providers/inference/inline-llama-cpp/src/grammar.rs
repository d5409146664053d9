//! GBNF grammars (llama.cpp's grammar format) that constrain decoding: any JSON object
//! (`response_format: json_object`), a JSON schema's documents (`json_schema`; a common subset,
//! the rest as any JSON value), and a call to one of the offered tools (`tool_choice`
//! `required` or named), written `{"name": …, "arguments": {…}}` as `tool_calls` parses it.
//! Whitespace is at most one space, so a small model cannot loop on blanks.

use std::fmt::Write as _;

use serde_json::Value;

/// JSON's values; the rules every grammar here builds on.
const JSON_RULES: &str = r#"value ::= object | array | string | number | boolean | null
object ::= "{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? "}" ws
array ::= "[" ws ( value ( "," ws value )* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] ) )* "\"" ws
number ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )? ws
integer ::= "-"? ( "0" | [1-9] [0-9]* ) ws
boolean ::= ( "true" | "false" ) ws
null ::= "null" ws
ws ::= " "?
"#;

/// Any JSON object.
pub fn json_object() -> String {
    format!("root ::= object\n{JSON_RULES}")
}

/// Documents of `schema`.
pub fn json_schema(schema: &Value) -> String {
    let mut g = Grammar::default();
    let root = g.rule_for(schema);
    g.finish(&root)
}

/// Text that is not a tool call: it must not open with `{`, `<` or a code fence (the shapes
/// `tool_calls` parses) nor with blanks, so `tool_choice: none` holds even for a model that
/// imitates the calls earlier in the conversation.
pub fn no_tool_call() -> String {
    "root ::= [^{<`\\x00-\\x20] [^\\x00]*\n".to_owned()
}

/// `grammar` (from [`tool_call`]) with the call inside `<tool_call>` tags, as Qwen-style
/// templates ask for it.
pub fn in_tool_call_tags(grammar: &str) -> String {
    match grammar
        .strip_prefix("root ::= ")
        .and_then(|rest| rest.split_once('\n'))
    {
        Some((root, rules)) => {
            format!("root ::= \"<tool_call>\\n\" {root} \"\\n</tool_call>\"\n{rules}")
        }
        None => grammar.to_owned(),
    }
}

/// A call to one of `tools` (name, parameters schema).
pub fn tool_call(tools: &[(&str, Option<&Value>)]) -> String {
    let mut g = Grammar::default();
    let alternatives: Vec<String> = tools
        .iter()
        .map(|(name, params)| {
            let args = match params {
                Some(schema) if schema.get("properties").is_some() => g.rule_for(schema),
                _ => "object".to_owned(),
            };
            let head = format!(
                "{{\"name\": {}, \"arguments\": ",
                Value::String((*name).to_owned())
            );
            format!("{} {args} \"}}\"", literal(&head))
        })
        .collect();
    g.finish(&format!("( {} )", alternatives.join(" | ")))
}

#[derive(Default)]
struct Grammar {
    rules: Vec<String>,
}

impl Grammar {
    fn finish(self, root: &str) -> String {
        let mut out = format!("root ::= {root}\n");
        for r in self.rules {
            out.push_str(&r);
            out.push('\n');
        }
        out.push_str(JSON_RULES);
        out
    }

    /// A new rule named `r<n>` for `body`; returns its name.
    fn add(&mut self, body: String) -> String {
        let name = format!("r{}", self.rules.len());
        self.rules.push(format!("{name} ::= {body}"));
        name
    }

    /// The expression for `schema` (a rule name or a short expression).
    fn rule_for(&mut self, schema: &Value) -> String {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            let alts: Vec<String> = values
                .iter()
                .map(|v| format!("{} ws", literal(&v.to_string())))
                .collect();
            return if alts.is_empty() {
                "value".into()
            } else {
                format!("( {} )", alts.join(" | "))
            };
        }
        if let Some(v) = schema.get("const") {
            return format!("{} ws", literal(&v.to_string()));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = schema
                .get(key)
                .and_then(Value::as_array)
                .filter(|o| !o.is_empty())
            {
                let alts: Vec<String> = options.iter().map(|o| self.rule_for(o)).collect();
                return format!("( {} )", alts.join(" | "));
            }
        }
        match schema.get("type") {
            Some(Value::String(t)) => self.rule_for_type(t, schema),
            Some(Value::Array(types)) => {
                let alts: Vec<String> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| self.rule_for_type(t, schema))
                    .collect();
                if alts.is_empty() {
                    "value".into()
                } else {
                    format!("( {} )", alts.join(" | "))
                }
            }
            _ if schema.get("properties").is_some() => self.rule_for_type("object", schema),
            _ => "value".into(),
        }
    }

    fn rule_for_type(&mut self, t: &str, schema: &Value) -> String {
        match t {
            "string" => "string".into(),
            "integer" => "integer".into(),
            "number" => "number".into(),
            "boolean" => "boolean".into(),
            "null" => "null".into(),
            "array" => {
                let item = schema
                    .get("items")
                    .map_or_else(|| "value".to_owned(), |i| self.rule_for(i));
                self.add(format!(
                    "\"[\" ws ( {item} ( \",\" ws {item} )* )? \"]\" ws"
                ))
            }
            "object" => self.object(schema),
            _ => "value".into(),
        }
    }

    /// An object with the schema's properties in order: the required ones always, each other
    /// one optionally (after a required one; without any required, the optional ones in order).
    fn object(&mut self, schema: &Value) -> String {
        let Some(props) = schema
            .get("properties")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
        else {
            return "object".into();
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |r| r.iter().filter_map(Value::as_str).collect());
        let mut members = Vec::new();
        for (key, sub) in props {
            let value = self.rule_for(sub);
            let pair = format!(
                "{} ws \":\" ws {value}",
                literal(&Value::String(key.clone()).to_string())
            );
            members.push((required.contains(&key.as_str()), pair));
        }
        let mut body = String::from("\"{\" ws ");
        let (req, opt): (Vec<_>, Vec<_>) = members.into_iter().partition(|(r, _)| *r);
        if req.is_empty() {
            // ( a ( "," b )? ( "," c )? )? : a prefix-free run of the optional members.
            let mut inner = String::new();
            for (i, (_, pair)) in opt.iter().enumerate() {
                if i == 0 {
                    inner.push_str(pair);
                } else {
                    let _ = write!(inner, " ( \",\" ws {pair} )?");
                }
            }
            let _ = write!(body, "( {inner} )? ");
        } else {
            let joined: Vec<&str> = req.iter().map(|(_, p)| p.as_str()).collect();
            body.push_str(&joined.join(" \",\" ws "));
            for (_, pair) in &opt {
                let _ = write!(body, " ( \",\" ws {pair} )?");
            }
            body.push(' ');
        }
        body.push_str("\"}\" ws");
        self.add(body)
    }
}

/// `text` as a GBNF string literal.
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_keep_their_property_order_and_required_members() {
        let g = json_schema(
            &json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b\"c"]}}}, "required": ["name", "age"]}),
        );
        assert!(g.starts_with("root ::= r1\n"), "{g}");
        assert!(g.contains(r#"r0 ::= "[" ws ( ( "\"a\"" ws | "\"b\\\"c\"" ws ) ( "," ws ( "\"a\"" ws | "\"b\\\"c\"" ws ) )* )? "]" ws"#), "{g}");
        assert!(
            g.contains(r#"r1 ::= "{" ws "\"name\"" ws ":" ws string "," ws "\"age\"" ws ":" ws integer ( "," ws "\"tags\"" ws ":" ws r0 )? "}" ws"#),
            "{g}"
        );
    }

    #[test]
    fn calls_can_be_wrapped_in_tool_call_tags() {
        let g = in_tool_call_tags(&tool_call(&[("now", None)]));
        assert!(g.starts_with("root ::= \"<tool_call>\\n\" ( "), "{g}");
        assert!(
            g.lines()
                .next()
                .is_some_and(|l| l.ends_with("\"\\n</tool_call>\"")),
            "{g}"
        );
    }

    #[test]
    fn tool_calls_name_one_of_the_tools() {
        let params = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
        let g = tool_call(&[("get_weather", Some(&params)), ("now", None)]);
        assert!(
            g.starts_with(r#"root ::= ( "{\"name\": \"get_weather\", \"arguments\": " r0 "}" | "{\"name\": \"now\", \"arguments\": " object "}" )"#),
            "{g}"
        );
    }

    #[test]
    fn what_it_does_not_know_is_any_value() {
        for schema in [
            json!({}),
            json!({"$ref": "#/defs/x"}),
            json!({"type": "object"}),
            json!({"type": ["string", "null"]}),
        ] {
            let g = json_schema(&schema);
            assert!(g.starts_with("root ::= "), "{g}");
        }
        assert!(json_object().starts_with("root ::= object\n"));
    }
}
