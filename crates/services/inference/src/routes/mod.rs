//! The inference service's routes: OpenAI-compatible inference (with `/v1/openai/v1`
//! aliases), stored chat completions and the native models API.

mod inference;
mod models;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use lls_api_common::Api;
use lls_http::{RouteBook, op};

use lls_api_inference::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingsRequest, EmbeddingsResponse,
};
use lls_api_models::{ListModelsResponse, ModelObject, OpenAiListModelsResponse, RegisterModelRequest};

use crate::{InferenceService, ListChatCompletions, StoredChatCompletion};

pub(crate) fn book() -> RouteBook<Arc<InferenceService>> {
    RouteBook::new()
        .add(
            op("GET", "/v1/models", Api::Models, "list_models", "Registered models.").returns::<ListModelsResponse>(),
            get(models::list),
        )
        .add(
            op("POST", "/v1/models", Api::Models, "register_model", "Register a model.").body::<RegisterModelRequest>().returns::<ModelObject>(),
            post(models::register),
        )
        .add(op("GET", "/v1/models/{*model_id}", Api::Models, "get_model", "One model.").returns::<ModelObject>(), get(models::get))
        .add(
            op("DELETE", "/v1/models/{*model_id}", Api::Models, "unregister_model", "Unregister a model.").no_content(),
            delete(models::unregister),
        )
        .add(
            op("GET", "/v1/openai/v1/models", Api::Models, "openai_list_models", "Models in OpenAI's list shape (deprecated).")
                .returns::<OpenAiListModelsResponse>(),
            get(models::openai_list),
        )
        .add_with_alias(
            op("POST", "/v1/chat/completions", Api::Inference, "openai_chat_completion", "Create a chat completion.")
                .body::<ChatCompletionRequest>()
                .returns::<ChatCompletion>()
                .streams::<ChatCompletionChunk>(),
            post(inference::chat),
        )
        .add_with_alias(
            op("GET", "/v1/chat/completions", Api::Inference, "list_chat_completions", "Stored chat completions.")
                .query::<inference::ListParams>()
                .returns::<ListChatCompletions>(),
            get(inference::list_chats),
        )
        .add_with_alias(
            op("GET", "/v1/chat/completions/{completion_id}", Api::Inference, "get_chat_completion", "One stored chat completion.")
                .returns::<StoredChatCompletion>(),
            get(inference::get_chat),
        )
        .add_with_alias(
            op("POST", "/v1/completions", Api::Inference, "openai_completion", "Create a text completion.")
                .body::<CompletionRequest>()
                .returns::<Completion>()
                .streams::<Completion>(),
            post(inference::completion),
        )
        .add_with_alias(
            op("POST", "/v1/embeddings", Api::Inference, "openai_embeddings", "Create embeddings.")
                .body::<EmbeddingsRequest>()
                .returns::<EmbeddingsResponse>(),
            post(inference::embeddings),
        )
}
