//! The tools of the test MCP server: their JSON Schemas (nested objects, `$defs`/`$ref`,
//! `anyOf`, an output schema) and what calling each one answers.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, Content, JsonObject, Tool};
use serde_json::{Map, Value, json};

/// What `greet_everyone` answers, as upstream's test server does.
pub const GREETING: &str = "Hello, world!";

/// What the `always_fails` tool reports (as a tool error, not a protocol error).
pub const FAILURE_TEXT: &str = "this tool always fails";

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The input schema of `book_flight`: `$defs` referenced with `$ref`, as pydantic writes them.
pub fn book_flight_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "$defs": {
            "Passenger": {
                "type": "object",
                "properties": { "name": { "type": "string" }, "age": { "type": "integer", "minimum": 0 } },
                "required": ["name"],
            },
            "Payment": {
                "type": "object",
                "properties": {
                    "method": { "type": "string", "enum": ["card", "voucher"] },
                    "amount": { "type": "number" },
                },
                "required": ["method", "amount"],
            },
        },
        "properties": {
            "flight": {
                "type": "object",
                "properties": { "from": { "type": "string" }, "to": { "type": "string" }, "date": { "type": "string", "format": "date" } },
                "required": ["from", "to"],
            },
            "passengers": { "type": "array", "items": { "$ref": "#/$defs/Passenger" } },
            "payment": { "$ref": "#/$defs/Payment" },
        },
        "required": ["flight", "passengers", "payment"],
    }))
}

fn string_arg(name: &str, description: &str) -> JsonObject {
    object(json!({
        "type": "object",
        "properties": { name: { "type": "string", "description": description } },
        "required": [name],
    }))
}

/// Every tool the server lists, in listing order.
pub fn all() -> Vec<Tool> {
    let mut weather = Tool::new(
        "get_weather",
        "Current weather with structured output.",
        string_arg("location", "A city"),
    );
    weather.output_schema = Some(
        object(json!({
            "type": "object",
            "properties": { "temperature": { "type": "number" }, "conditions": { "type": "string" } },
            "required": ["temperature", "conditions"],
        }))
        .into(),
    );
    vec![
        Tool::new(
            "greet_everyone",
            "Greets the world.",
            string_arg("url", "Any URL"),
        ),
        Tool::new(
            "get_boiling_point",
            "Returns the boiling point of a liquid in Celsius or Fahrenheit.",
            object(json!({
                "type": "object",
                "properties": {
                    "liquid_name": { "type": "string" },
                    "celsius": { "type": "boolean", "default": true },
                },
                "required": ["liquid_name"],
            })),
        ),
        Tool::new(
            "book_flight",
            "Books a flight; uses $defs and $ref.",
            book_flight_schema(),
        ),
        Tool::new(
            "process_order",
            "Processes an order with nested address information.",
            object(json!({
                "type": "object",
                "properties": {
                    "order_data": {
                        "type": "object",
                        "properties": {
                            "items": { "type": "array", "items": { "type": "object" } },
                            "shipping": {
                                "type": "object",
                                "properties": { "address": { "type": "object", "properties": { "city": { "type": "string" } } } },
                            },
                        },
                    },
                },
                "required": ["order_data"],
            })),
        ),
        Tool::new(
            "flexible_contact",
            "Accepts an email or a phone number.",
            object(json!({
                "type": "object",
                "properties": { "contact_info": { "anyOf": [ { "type": "string", "format": "email" }, { "type": "string" } ] } },
                "required": ["contact_info"],
            })),
        ),
        weather,
        Tool::new(
            "always_fails",
            "Reports a tool error.",
            object(json!({ "type": "object", "properties": {} })),
        ),
        Tool::new(
            "pixel",
            "Answers a one-pixel PNG image.",
            object(json!({ "type": "object", "properties": {} })),
        ),
    ]
}

/// A one-pixel PNG, base64.
pub const PIXEL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn text(value: impl Into<String>) -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(vec![Content::text(value)]))
}

fn str_arg<'a>(args: &'a JsonObject, name: &str) -> Result<&'a str, ErrorData> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorData::invalid_params(format!("missing string argument '{name}'"), None))
}

/// Runs a tool; an unknown name is a JSON-RPC "invalid params" error, as rmcp's tool router does.
pub fn call(name: &str, args: &JsonObject) -> Result<CallToolResult, ErrorData> {
    match name {
        "greet_everyone" => text(GREETING),
        "get_boiling_point" => {
            let liquid = str_arg(args, "liquid_name")?;
            let celsius = args.get("celsius").and_then(Value::as_bool).unwrap_or(true);
            let point = match (liquid.to_lowercase().as_str(), celsius) {
                ("myawesomeliquid", true) => -100,
                ("myawesomeliquid", false) => -212,
                _ => -1,
            };
            text(point.to_string())
        }
        "book_flight" => {
            let booking = json!({ "booking_id": "BK12345", "status": "confirmed", "flight": args.get("flight") });
            let mut result = CallToolResult::success(vec![Content::text(booking.to_string())]);
            result.structured_content = Some(booking);
            Ok(result)
        }
        "process_order" => text(
            json!({ "order_id": "ORD789", "status": "processing", "data": args.get("order_data") })
                .to_string(),
        ),
        "flexible_contact" => {
            let contact = str_arg(args, "contact_info")?;
            let kind = if contact.contains('@') {
                "email"
            } else {
                "phone"
            };
            text(json!({ "type": kind, "value": contact }).to_string())
        }
        "get_weather" => {
            let weather = json!({ "temperature": 72.5, "conditions": "Sunny" });
            let mut result = CallToolResult::success(vec![Content::text(weather.to_string())]);
            result.structured_content = Some(weather);
            Ok(result)
        }
        "always_fails" => Ok(CallToolResult::error(vec![Content::text(FAILURE_TEXT)])),
        "pixel" => Ok(CallToolResult::success(vec![Content::image(
            PIXEL_PNG,
            "image/png",
        )])),
        other => Err(ErrorData::invalid_params(
            format!("tool not found: {other}"),
            None,
        )),
    }
}
