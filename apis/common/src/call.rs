//! Provider calls as the registry's layers see them. Each API crate's wrapper (its
//! [`crate::ApiSpec::layer`]) sends every provider method through a [`CallStack`]; the
//! platform supplies the [`CallLayer`]s (timeout, retry, allowed models, error context,
//! metrics), so cross-cutting behaviour is written once for every API and provider.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::{Api, Error, Result};

/// A call's result with its type erased, so one layer serves every method of every API.
pub type Erased = Box<dyn Any + Send>;

type AttemptFn<'n> = dyn FnMut() -> BoxFuture<'static, Result<Erased>> + Send + 'n;

/// What a layer knows about the call it wraps.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub api: Api,
    pub provider_id: &'a str,
    /// The provider trait method (`chat_completion`, `list_models`, …).
    pub method: &'static str,
    /// Safe to send again after a failure (no side effects, or none that matter).
    pub idempotent: bool,
    /// The provider's model id, for calls that name one.
    pub model: Option<&'a str>,
}

/// One cross-cutting behaviour around provider calls, tower-style: do something, then call
/// `next` (zero, one or several times), then do something with its result.
#[async_trait]
pub trait CallLayer: Send + Sync {
    async fn call(&self, call: &Call<'_>, next: Next<'_>) -> Result<Erased>;
}

/// The rest of the stack below a layer.
pub struct Next<'n> {
    layers: &'n [Arc<dyn CallLayer>],
    attempt: &'n mut AttemptFn<'n>,
}

impl Next<'_> {
    /// Runs the remaining layers and the provider call once.
    pub async fn run(&mut self, call: &Call<'_>) -> Result<Erased> {
        match self.layers.split_first() {
            Some((layer, rest)) => {
                layer
                    .call(
                        call,
                        Next {
                            layers: rest,
                            attempt: &mut *self.attempt,
                        },
                    )
                    .await
            }
            None => (self.attempt)().await,
        }
    }
}

/// What a provider's config asks of the layers (its `ProviderConfig::policy`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallPolicy {
    /// Model ids (the provider's own) this provider may serve; `None` allows all.
    pub allowed_models: Option<Vec<String>>,
    /// Longest a call may take before it fails with a timeout (504); `None`: the platform default.
    pub timeout: Option<Duration>,
    /// Extra attempts of idempotent calls after a retryable failure; `None`: the platform default.
    pub retries: Option<u32>,
}

/// The layers around one provider. Cheap to clone.
#[derive(Clone)]
pub struct CallStack {
    api: Api,
    provider_id: Arc<str>,
    layers: Arc<[Arc<dyn CallLayer>]>,
}

impl std::fmt::Debug for CallStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStack")
            .field("provider_id", &self.provider_id)
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl CallStack {
    pub fn new(api: Api, provider_id: &str, layers: Vec<Arc<dyn CallLayer>>) -> Self {
        CallStack {
            api,
            provider_id: provider_id.into(),
            layers: layers.into(),
        }
    }

    /// No layers: calls go straight to the provider.
    pub fn empty(api: Api, provider_id: &str) -> Self {
        Self::new(api, provider_id, Vec::new())
    }

    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }

    fn call<'a>(
        &'a self,
        method: &'static str,
        idempotent: bool,
        model: Option<&'a str>,
    ) -> Call<'a> {
        Call {
            api: self.api,
            provider_id: &self.provider_id,
            method,
            idempotent,
            model,
        }
    }

    /// A call that is made at most once (it has side effects or costs money: chat, uploads).
    pub async fn once<T, Fut>(
        &self,
        method: &'static str,
        model: Option<&str>,
        fut: Fut,
    ) -> Result<T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if self.layers.is_empty() {
            return fut.await;
        }
        let mut slot = Some(fut);
        let mut attempt = move || -> BoxFuture<'static, Result<Erased>> {
            match slot.take() {
                Some(fut) => Box::pin(async move { fut.await.map(|t| Box::new(t) as Erased) }),
                None => Box::pin(async {
                    Err(Error::internal(
                        "a call that must not be repeated was attempted twice",
                    ))
                }),
            }
        };
        let call = self.call(method, false, model);
        let out = Next {
            layers: &self.layers,
            attempt: &mut attempt,
        }
        .run(&call)
        .await?;
        downcast(out)
    }

    /// A call that may be attempted again after a retryable failure (`make` builds each attempt).
    pub async fn repeatable<T, F, Fut>(
        &self,
        method: &'static str,
        model: Option<&str>,
        mut make: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if self.layers.is_empty() {
            return make().await;
        }
        let mut attempt = move || -> BoxFuture<'static, Result<Erased>> {
            let fut = make();
            Box::pin(async move { fut.await.map(|t| Box::new(t) as Erased) })
        };
        let call = self.call(method, true, model);
        let out = Next {
            layers: &self.layers,
            attempt: &mut attempt,
        }
        .run(&call)
        .await?;
        downcast(out)
    }
}

fn downcast<T: 'static>(out: Erased) -> Result<T> {
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| Error::internal("a call layer returned a value of the wrong type"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::ErrorKind;

    /// Counts calls and retries retryable failures twice.
    struct Twice(AtomicU32);

    #[async_trait]
    impl CallLayer for Twice {
        async fn call(&self, call: &Call<'_>, mut next: Next<'_>) -> Result<Erased> {
            self.0.fetch_add(1, Ordering::SeqCst);
            match next.run(call).await {
                Err(e) if e.is_retryable() && call.idempotent => next.run(call).await,
                other => other,
            }
        }
    }

    #[tokio::test]
    async fn repeatable_calls_can_be_attempted_again() {
        let layer = Arc::new(Twice(AtomicU32::new(0)));
        let stack = CallStack::new(Api::Inference, "p", vec![layer.clone()]);
        let attempts = AtomicU32::new(0);
        let out: u32 = stack
            .repeatable("list_models", None, || {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(Error::new(ErrorKind::UpstreamUnavailable, "down"))
                    } else {
                        Ok(7)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(
            (
                out,
                attempts.load(Ordering::SeqCst),
                layer.0.load(Ordering::SeqCst)
            ),
            (7, 2, 1)
        );
    }

    #[tokio::test]
    async fn once_calls_are_never_repeated() {
        let stack = CallStack::new(
            Api::Inference,
            "p",
            vec![Arc::new(Twice(AtomicU32::new(0)))],
        );
        let err = stack
            .once::<u32, _>("chat_completion", Some("m"), async {
                Err(Error::new(ErrorKind::UpstreamUnavailable, "down"))
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
    }

    #[tokio::test]
    async fn an_empty_stack_calls_straight_through() {
        let stack = CallStack::empty(Api::Files, "p");
        assert_eq!(
            stack
                .once("x", None, async { Ok::<_, Error>("direct") })
                .await
                .unwrap(),
            "direct"
        );
    }
}
