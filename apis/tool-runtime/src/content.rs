//! 0.3.5's `InterleavedContent`: a plain string, one content item, or a list of items
//! (text, or an image given by URL or base64 data). Tool results carry it.

use serde::{Deserialize, Serialize};

use crate::McpEndpoint;

/// `str | InterleavedContentItem | list[InterleavedContentItem]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum InterleavedContent {
    Text(String),
    Item(ContentItem),
    Items(Vec<ContentItem>),
}

impl InterleavedContent {
    /// Every text part joined with newlines (images are left out).
    pub fn text(&self) -> String {
        match self {
            InterleavedContent::Text(t) => t.clone(),
            InterleavedContent::Item(item) => item.text().unwrap_or_default().to_owned(),
            InterleavedContent::Items(items) => items
                .iter()
                .filter_map(ContentItem::text)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// One content item, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ContentItem {
    Text { text: String },
    Image { image: ImageSource },
}

impl ContentItem {
    pub fn text(&self) -> Option<&str> {
        match self {
            ContentItem::Text { text } => Some(text),
            ContentItem::Image { .. } => None,
        }
    }
}

/// An image as a URL (`{"uri": ...}`, possibly a `data:` URL) or as base64 `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct ImageSource {
    #[serde(default)]
    pub url: Option<McpEndpoint>,
    #[serde(default)]
    pub data: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_round_trips_in_every_form() {
        for wire in [
            json!("plain"),
            json!({ "type": "text", "text": "one" }),
            json!([{ "type": "text", "text": "a" }, { "type": "image", "image": { "url": null, "data": "aGk=" } }]),
        ] {
            let parsed: InterleavedContent = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
        }
    }

    #[test]
    fn text_joins_text_parts_only() {
        let c = InterleavedContent::Items(vec![
            ContentItem::Text { text: "a".into() },
            ContentItem::Image {
                image: ImageSource {
                    url: None,
                    data: Some("x".into()),
                },
            },
            ContentItem::Text { text: "b".into() },
        ]);
        assert_eq!(c.text(), "a\nb");
    }
}
