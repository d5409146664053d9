//! The deterministic "model" shared by the fake inference provider (`inline::fake`) and the
//! mock OpenAI server of the testkit, so both answer alike: [`responder`] (what the model
//! says), [`embedding`] (hashed bag-of-words vectors), [`schema_fill`] (documents for JSON
//! Schemas) and [`failure`] (model names that inject failures).

pub mod embedding;
pub mod failure;
pub mod responder;
pub mod schema_fill;
