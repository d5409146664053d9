//! The safety router: `Safety` over the shields table. `run-shield` goes to the shield's
//! provider; a moderation goes to the provider of the one shield whose `provider_resource_id`
//! is the request's `model`.

use std::sync::Arc;

use async_trait::async_trait;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_safety::{
    ModerationObject, RunModerationRequest, RunShieldRequest, RunShieldResponse, Safety, Shield,
};

use crate::ShieldsTable;

/// What the safety routes and dependent APIs (the Responses API's guardrails) call.
pub struct SafetyRouter {
    table: Arc<ShieldsTable>,
}

impl SafetyRouter {
    pub fn new(table: Arc<ShieldsTable>) -> Self {
        SafetyRouter { table }
    }
}

#[async_trait]
impl Safety for SafetyRouter {
    async fn run_shield(
        &self,
        ctx: &RequestContext,
        request: RunShieldRequest,
    ) -> Result<RunShieldResponse> {
        request.validate()?;
        let (shield, provider) = self.table.resolve(ctx, &request.shield_id).await?;
        let params = request.params.unwrap_or_default();
        provider
            .run_shield(ctx, &shield, &request.messages, &params)
            .await
    }

    /// Only the shields the caller may read are candidates.
    async fn run_moderation(
        &self,
        ctx: &RequestContext,
        request: RunModerationRequest,
    ) -> Result<ModerationObject> {
        let inputs = request.inputs()?;
        let model = request.model()?;
        let mut matches: Vec<_> = self
            .table
            .list(ctx)
            .await?
            .into_iter()
            .filter(|s| s.provider_resource_id.as_deref() == Some(model))
            .collect();
        let shield = match matches.len() {
            1 => matches.swap_remove(0),
            0 => {
                return Err(Error::invalid(format!(
                    "No shield associated with provider_resource id {model}"
                ))
                .with_param("model"));
            }
            _ => {
                return Err(Error::invalid(format!(
                    "Multiple shields associated with provider_resource id {model}"
                ))
                .with_param("model"));
            }
        };
        let provider = self.table.provider_of(&shield)?;
        provider.run_moderation(ctx, &shield, &inputs).await
    }

    async fn get_shield(&self, ctx: &RequestContext, shield_id: &str) -> Result<Shield> {
        self.table.get(ctx, shield_id).await
    }

    async fn moderate_with(
        &self,
        ctx: &RequestContext,
        shield_id: &str,
        inputs: &[String],
    ) -> Result<ModerationObject> {
        let (shield, provider) = self.table.resolve(ctx, shield_id).await?;
        provider.run_moderation(ctx, &shield, inputs).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use async_trait::async_trait;
    use lls_api_common::store::{KvStoreRef, StoreResolver};
    use lls_api_common::{ErrorKind, RequestContext, Result};
    use lls_api_inference::ChatMessage;
    use lls_api_safety::{
        ModerationObject, ModerationResult, RegisterShieldRequest, RunModerationRequest,
        RunShieldRequest, RunShieldResponse, Safety, SafetyProvider, SafetyViolation, Shield,
        ViolationLevel,
    };
    use lls_registry::ResourceRegistry;
    use lls_storage::Stores;
    use lls_testkit::callers::{caller_ctx, default_policy};
    use serde_json::{Map, Value, json};

    use super::*;

    /// Flags any text containing "bad"; refuses to register shields named `refused`.
    struct Keyword;

    #[async_trait]
    impl SafetyProvider for Keyword {
        async fn register_shield(&self, _: &RequestContext, shield: &Shield) -> Result<()> {
            if shield.identifier == "refused" {
                return Err(Error::invalid("this provider cannot serve 'refused'"));
            }
            Ok(())
        }

        async fn run_shield(
            &self,
            _: &RequestContext,
            shield: &Shield,
            messages: &[ChatMessage],
            _: &Map<String, Value>,
        ) -> Result<RunShieldResponse> {
            let bad = serde_json::to_string(messages).unwrap().contains("bad");
            let violation = bad.then(|| SafetyViolation {
                violation_level: ViolationLevel::Error,
                user_message: Some(format!("blocked by {}", shield.identifier)),
                metadata: Map::new(),
            });
            Ok(RunShieldResponse { violation })
        }

        async fn run_moderation(
            &self,
            _: &RequestContext,
            shield: &Shield,
            inputs: &[String],
        ) -> Result<ModerationObject> {
            let results = inputs
                .iter()
                .map(|t| ModerationResult {
                    flagged: t.contains("bad"),
                    categories: None,
                    category_applied_input_types: None,
                    category_scores: None,
                    user_message: None,
                    metadata: Map::new(),
                })
                .collect();
            Ok(ModerationObject {
                id: "modr-1".into(),
                model: shield.provider_resource().to_owned(),
                results,
            })
        }
    }

    async fn router(providers: &[&str]) -> (Arc<ShieldsTable>, SafetyRouter) {
        router_over(&Stores::in_memory(), providers).await
    }

    /// A table over `stores`, as a (re)started server opens it.
    async fn router_over(stores: &Stores, providers: &[&str]) -> (Arc<ShieldsTable>, SafetyRouter) {
        let kv = stores
            .kv(&KvStoreRef {
                backend: "kv_default".into(),
                namespace: "registry".into(),
            })
            .await
            .unwrap();
        let registry = Arc::new(ResourceRegistry::open(kv).await.unwrap());
        let providers: BTreeMap<String, Arc<dyn SafetyProvider>> = providers
            .iter()
            .map(|p| (p.to_string(), Arc::new(Keyword) as Arc<dyn SafetyProvider>))
            .collect();
        let table = Arc::new(ShieldsTable::new(registry, providers));
        (table.clone(), SafetyRouter::new(table))
    }

    fn register(id: &str, resource: Option<&str>) -> RegisterShieldRequest {
        RegisterShieldRequest {
            shield_id: id.into(),
            provider_shield_id: resource.map(str::to_owned),
            provider_id: None,
            params: None,
        }
    }

    fn run(id: &str, text: &str) -> RunShieldRequest {
        serde_json::from_value(
            json!({"shield_id": id, "messages": [{"role": "user", "content": text}], "params": {}}),
        )
        .unwrap()
    }

    fn moderate(model: &str, input: Value) -> RunModerationRequest {
        serde_json::from_value(json!({"input": input, "model": model})).unwrap()
    }

    #[tokio::test]
    async fn shields_are_registered_run_and_removed() {
        let (table, router) = router(&["kw"]).await;
        let ctx = RequestContext::default();
        let s = table
            .register(&ctx, register("guard", Some("mock/guard")))
            .await
            .unwrap();
        assert_eq!(
            (s.provider_id.as_str(), s.provider_resource()),
            ("kw", "mock/guard")
        );
        assert_eq!(
            table
                .register(&ctx, register("guard", Some("mock/guard")))
                .await
                .unwrap(),
            s
        );
        let taken = table
            .register(&ctx, register("guard", Some("other")))
            .await
            .unwrap_err();
        assert!(taken.message().contains("already exists"), "{taken}");
        assert!(
            table
                .register(&ctx, register("refused", None))
                .await
                .unwrap_err()
                .message()
                .contains("cannot serve")
        );
        assert_eq!(table.list(&ctx).await.unwrap().len(), 1);

        assert!(
            router
                .run_shield(&ctx, run("guard", "hello"))
                .await
                .unwrap()
                .violation
                .is_none()
        );
        let v = router
            .run_shield(&ctx, run("guard", "bad words"))
            .await
            .unwrap()
            .violation
            .unwrap();
        assert_eq!(
            (v.violation_level, v.user_message.as_deref()),
            (ViolationLevel::Error, Some("blocked by guard"))
        );
        let unknown = router.run_shield(&ctx, run("nope", "x")).await.unwrap_err();
        assert_eq!(unknown.kind(), ErrorKind::InvalidRequest);
        assert!(
            unknown
                .message()
                .starts_with("Shield `nope` not served by provider: `kw`"),
            "{unknown}"
        );

        let m = router
            .run_moderation(&ctx, moderate("mock/guard", json!(["fine", "bad"])))
            .await
            .unwrap();
        assert_eq!(
            m.results.iter().map(|r| r.flagged).collect::<Vec<_>>(),
            [false, true]
        );
        let none = router
            .run_moderation(&ctx, moderate("mock/other", json!("x")))
            .await
            .unwrap_err();
        assert_eq!(
            none.message(),
            "No shield associated with provider_resource id mock/other"
        );
        table
            .register(&ctx, register("guard2", Some("mock/guard")))
            .await
            .unwrap();
        let many = router
            .run_moderation(&ctx, moderate("mock/guard", json!("x")))
            .await
            .unwrap_err();
        assert_eq!(
            many.message(),
            "Multiple shields associated with provider_resource id mock/guard"
        );

        table.unregister(&ctx, "guard").await.unwrap();
        assert_eq!(
            table.get(&ctx, "guard").await.unwrap_err().message(),
            "Shield 'guard' not found"
        );
        assert!(table.unregister(&ctx, "guard").await.is_err());
    }

    #[tokio::test]
    async fn shields_survive_a_restart_with_their_owner() {
        let stores = Stores::in_memory();
        let alice = caller_ctx("alice", &[("roles", &["alice"])], default_policy());
        let (table, _) = router_over(&stores, &["kw"]).await;
        table
            .register(&alice, register("kept", Some("mock/kept")))
            .await
            .unwrap();
        let (restarted, router) = router_over(&stores, &["kw"]).await;
        assert_eq!(
            restarted.get(&alice, "kept").await.unwrap().provider_resource(),
            "mock/kept"
        );
        let bob = caller_ctx("bob", &[("roles", &["bob"])], default_policy());
        assert!(restarted.get(&bob, "kept").await.is_err());
        assert!(
            router
                .run_shield(&alice, run("kept", "bad"))
                .await
                .unwrap()
                .violation
                .is_some()
        );
    }

    #[tokio::test]
    async fn several_providers_need_a_provider_id() {
        let (table, _) = router(&["a", "b"]).await;
        let e = table
            .register(&RequestContext::default(), register("s", None))
            .await
            .unwrap_err();
        assert_eq!(e.param(), Some("provider_id"));
        let mut named = register("s", None);
        named.provider_id = Some("b".into());
        assert_eq!(
            table
                .register(&RequestContext::default(), named)
                .await
                .unwrap()
                .provider_resource(),
            "s"
        );
    }

    #[tokio::test]
    async fn tenants_see_and_use_only_their_shields_and_unowned_ones() {
        let (table, router) = router(&["kw"]).await;
        let (alice, bob) = (
            caller_ctx("alice", &[("roles", &["alice"])], default_policy()),
            caller_ctx("bob", &[("roles", &["bob"])], default_policy()),
        );
        table
            .register_from_config(
                &RequestContext::default(),
                register("shared", Some("mock/shared")),
            )
            .await
            .unwrap();
        table
            .register(&alice, register("mine", Some("mock/mine")))
            .await
            .unwrap();
        let ids = |shields: Vec<Shield>| shields.into_iter().map(|s| s.identifier).collect::<Vec<_>>();
        assert_eq!(ids(table.list(&alice).await.unwrap()), ["mine", "shared"]);
        assert_eq!(ids(table.list(&bob).await.unwrap()), ["shared"]);
        // Bob's answers for alice's shield are those for one that does not exist.
        let hidden = table
            .get(&bob, "mine")
            .await
            .unwrap_err()
            .message()
            .replace("mine", "x");
        assert_eq!(hidden, table.get(&bob, "x").await.unwrap_err().message());
        let hidden = router
            .run_shield(&bob, run("mine", "bad"))
            .await
            .unwrap_err()
            .message()
            .replace("mine", "x");
        assert_eq!(
            hidden,
            router
                .run_shield(&bob, run("x", "bad"))
                .await
                .unwrap_err()
                .message()
        );
        assert!(
            router
                .run_moderation(&bob, moderate("mock/mine", json!("bad")))
                .await
                .unwrap_err()
                .message()
                .starts_with("No shield")
        );
        assert!(
            table
                .unregister(&bob, "mine")
                .await
                .unwrap_err()
                .message()
                .contains("not found")
        );
        assert!(
            router
                .run_shield(&alice, run("mine", "bad"))
                .await
                .unwrap()
                .violation
                .is_some()
        );
        assert!(
            router
                .run_shield(&bob, run("shared", "bad"))
                .await
                .unwrap()
                .violation
                .is_some()
        );
        table.unregister(&alice, "mine").await.unwrap();
    }
}
