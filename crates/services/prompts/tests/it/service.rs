//! The service's behaviour, each scenario on SQLite and PostgreSQL: versions, conflicts (and
//! exactly one winner among concurrent updates from two replicas), defaults, deletes, variable
//! and id checks, reads through the store from a second replica, and 0.3.5's key layout.

use std::sync::Arc;

use lls_api_common::{ErrorKind, RequestContext};
use lls_api_prompts::{CreatePromptRequest, Prompt, Prompts, UpdatePromptRequest};
use lls_service_prompts::KvPrompts;
use serde_json::{Value, json};

use crate::support::{Backend, on_both};

on_both!(
    create_get_and_list,
    updates_make_versions_and_stale_ones_conflict,
    concurrent_updates_have_one_winner,
    default_version_is_chosen,
    delete_removes_every_version,
    variables_must_be_declared,
    ids_and_versions_are_checked,
    a_second_replica_reads_through,
    keys_and_values_as_0_3_5_writes_them,
);

fn ctx() -> RequestContext {
    RequestContext::default()
}

async fn create(svc: &KvPrompts, text: &str, variables: &[&str]) -> Prompt {
    svc.create(
        &ctx(),
        CreatePromptRequest {
            prompt: text.into(),
            variables: Some(variables.iter().map(|v| (*v).to_owned()).collect()),
        },
    )
    .await
    .unwrap()
}

fn update(text: &str, version: i64, set_as_default: bool) -> UpdatePromptRequest {
    UpdatePromptRequest {
        prompt: text.into(),
        version,
        variables: None,
        set_as_default,
    }
}

fn versions(list: &[Prompt]) -> Vec<(i64, bool)> {
    list.iter().map(|p| (p.version, p.is_default)).collect()
}

async fn create_get_and_list(b: Backend) {
    let svc = &b.service;
    assert!(svc.list(&ctx()).await.unwrap().data.is_empty());
    let p = create(svc, "Hello {{ name }}!", &["name"]).await;
    assert!(
        lls_api_prompts::template::is_prompt_id(&p.prompt_id),
        "{}",
        p.prompt_id
    );
    assert_eq!(
        (
            p.prompt.as_deref(),
            p.version,
            p.variables.clone(),
            p.is_default
        ),
        (Some("Hello {{ name }}!"), 1, vec!["name".to_owned()], true)
    );
    assert_eq!(svc.get(&ctx(), &p.prompt_id, None).await.unwrap(), p);
    assert_eq!(svc.get(&ctx(), &p.prompt_id, Some(1)).await.unwrap(), p);
    let other = create(svc, "second", &[]).await;
    let listed = svc.list(&ctx()).await.unwrap().data;
    assert_eq!(listed.len(), 2);
    // Newest id first, as 0.3.5 sorts (ids are random, so that is descending id order).
    let mut ids = vec![p.prompt_id.clone(), other.prompt_id.clone()];
    ids.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        listed
            .iter()
            .map(|p| p.prompt_id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    assert!(listed.iter().all(|p| p.is_default && p.version == 1));
}

async fn updates_make_versions_and_stale_ones_conflict(b: Backend) {
    let svc = &b.service;
    let p = create(svc, "V1", &[]).await;
    let v2 = svc
        .update(
            &ctx(),
            &p.prompt_id,
            UpdatePromptRequest {
                prompt: "V2 {{ v }}".into(),
                version: 1,
                variables: Some(vec!["v".into()]),
                set_as_default: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.is_default, v2.variables.clone()),
        (2, true, vec!["v".to_owned()])
    );
    assert_eq!(svc.get(&ctx(), &p.prompt_id, None).await.unwrap(), v2);
    for stale in [1, 3, 99] {
        let e = svc
            .update(&ctx(), &p.prompt_id, update("again", stale, true))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{stale}: {e:?}");
        assert!(
            e.message().contains("Use the latest version '2'"),
            "{}",
            e.message()
        );
    }
    let v3 = svc
        .update(&ctx(), &p.prompt_id, update("V3", 2, true))
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    let all = svc.list_versions(&ctx(), &p.prompt_id).await.unwrap().data;
    assert_eq!(versions(&all), [(1, false), (2, false), (3, true)]);
    assert_eq!(
        all.iter()
            .map(|p| p.prompt.clone().unwrap())
            .collect::<Vec<_>>(),
        ["V1", "V2 {{ v }}", "V3"]
    );
    // Each version keeps its own text and variables.
    assert_eq!(
        svc.get(&ctx(), &p.prompt_id, Some(2)).await.unwrap(),
        Prompt {
            is_default: false,
            ..v2
        }
    );
}

async fn concurrent_updates_have_one_winner(b: Backend) {
    let p = create(&b.service, "V1", &[]).await;
    let replicas = [Arc::new(b.service), Arc::new(b.replica)];
    let tries: Vec<_> = (0..8)
        .map(|i| {
            let svc = replicas[i % 2].clone();
            let id = p.prompt_id.clone();
            tokio::spawn(async move {
                svc.update(&ctx(), &id, update(&format!("by {i}"), 1, true))
                    .await
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tries {
        match t.await.unwrap() {
            Ok(p) => won.push(p),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(won[0].version, 2);
    let all = replicas[0]
        .list_versions(&ctx(), &p.prompt_id)
        .await
        .unwrap()
        .data;
    assert_eq!(versions(&all), [(1, false), (2, true)]);
    assert_eq!(all[1].prompt, won[0].prompt);
    // The next update after the winner's version goes through.
    let v3 = replicas[1]
        .update(&ctx(), &p.prompt_id, update("V3", 2, true))
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
}

async fn default_version_is_chosen(b: Backend) {
    let svc = &b.service;
    let p = create(svc, "V1", &[]).await;
    svc.update(&ctx(), &p.prompt_id, update("V2", 1, true))
        .await
        .unwrap();
    // Not the default: reads without a version still get version 2.
    let v3 = svc
        .update(&ctx(), &p.prompt_id, update("V3", 2, false))
        .await
        .unwrap();
    assert_eq!((v3.version, v3.is_default), (3, false));
    assert_eq!(
        svc.get(&ctx(), &p.prompt_id, None).await.unwrap().version,
        2
    );

    let chosen = svc
        .set_default_version(&ctx(), &p.prompt_id, 1)
        .await
        .unwrap();
    assert_eq!(
        (chosen.version, chosen.is_default, chosen.prompt.as_deref()),
        (1, true, Some("V1"))
    );
    let got = svc.get(&ctx(), &p.prompt_id, None).await.unwrap();
    assert_eq!((got.version, got.is_default), (1, true));
    assert!(
        !svc.get(&ctx(), &p.prompt_id, Some(3))
            .await
            .unwrap()
            .is_default
    );
    let listed = svc.list(&ctx()).await.unwrap().data;
    assert_eq!(
        (listed[0].version, listed[0].prompt.as_deref()),
        (1, Some("V1"))
    );
    let all = svc.list_versions(&ctx(), &p.prompt_id).await.unwrap().data;
    assert_eq!(versions(&all), [(1, true), (2, false), (3, false)]);
    // Updates still follow the latest version, whatever the default.
    let e = svc
        .update(&ctx(), &p.prompt_id, update("x", 1, true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        svc.update(&ctx(), &p.prompt_id, update("V4", 3, true))
            .await
            .unwrap()
            .version,
        4
    );

    let e = svc
        .set_default_version(&ctx(), &p.prompt_id, 9)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = svc
        .set_default_version(&ctx(), &p.prompt_id, 0)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        svc.get(&ctx(), &p.prompt_id, None).await.unwrap().version,
        4
    );
}

async fn delete_removes_every_version(b: Backend) {
    let svc = &b.service;
    let p = create(svc, "V1", &[]).await;
    let kept = create(svc, "kept", &[]).await;
    svc.update(&ctx(), &p.prompt_id, update("V2", 1, false))
        .await
        .unwrap();
    svc.delete(&ctx(), &p.prompt_id).await.unwrap();
    for version in [None, Some(1), Some(2)] {
        let e = svc.get(&ctx(), &p.prompt_id, version).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{version:?}");
    }
    assert_eq!(
        svc.list_versions(&ctx(), &p.prompt_id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        svc.delete(&ctx(), &p.prompt_id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        svc.update(&ctx(), &p.prompt_id, update("V3", 2, true))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let prefix = format!("prompts:v1:{}:", p.prompt_id);
    assert!(
        b.kv.keys_in_range(&prefix, &format!("{prefix}~"))
            .await
            .unwrap()
            .is_empty()
    );
    let listed = svc.list(&ctx()).await.unwrap().data;
    assert_eq!(listed, vec![kept]);
}

async fn variables_must_be_declared(b: Backend) {
    let svc = &b.service;
    let p = create(
        svc,
        "Hello {{ name }}, you live in {{city}}!",
        &["name", "city"],
    )
    .await;
    assert_eq!(p.variables, ["name", "city"]);
    let e = svc
        .create(
            &ctx(),
            CreatePromptRequest {
                prompt: "Hello {{ name }}, invalid {{ unknown }} {{ also }}!".into(),
                variables: Some(vec!["name".into()]),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        e.message(),
        "Prompt contains undeclared variables: ['also', 'unknown']"
    );
    // Without `variables`, an update declares none.
    let e = svc
        .update(&ctx(), &p.prompt_id, update("Hi {{ name }}", 1, true))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("['name']"), "{}", e.message());
    // Nothing was written by the refused calls.
    assert_eq!(svc.list(&ctx()).await.unwrap().data.len(), 1);
    assert_eq!(
        svc.list_versions(&ctx(), &p.prompt_id)
            .await
            .unwrap()
            .data
            .len(),
        1
    );
}

async fn ids_and_versions_are_checked(b: Backend) {
    let svc = &b.service;
    let unknown = format!("pmpt_{}", "ab".repeat(24));
    for bad in [
        "invalid_id",
        "pmpt_123",
        &format!("pmpt_{}", "AB".repeat(24)),
    ] {
        let kinds = [
            svc.get(&ctx(), bad, None).await.unwrap_err().kind(),
            svc.list_versions(&ctx(), bad).await.unwrap_err().kind(),
            svc.update(&ctx(), bad, update("x", 1, true))
                .await
                .unwrap_err()
                .kind(),
            svc.delete(&ctx(), bad).await.unwrap_err().kind(),
            svc.set_default_version(&ctx(), bad, 1)
                .await
                .unwrap_err()
                .kind(),
        ];
        assert_eq!(kinds, [ErrorKind::InvalidRequest; 5], "{bad}");
    }
    let kinds = [
        svc.get(&ctx(), &unknown, None).await.unwrap_err().kind(),
        svc.get(&ctx(), &unknown, Some(1)).await.unwrap_err().kind(),
        svc.list_versions(&ctx(), &unknown)
            .await
            .unwrap_err()
            .kind(),
        svc.update(&ctx(), &unknown, update("x", 1, true))
            .await
            .unwrap_err()
            .kind(),
        svc.delete(&ctx(), &unknown).await.unwrap_err().kind(),
        svc.set_default_version(&ctx(), &unknown, 1)
            .await
            .unwrap_err()
            .kind(),
    ];
    assert_eq!(kinds, [ErrorKind::NotFound; 6]);
    let p = create(svc, "V1", &[]).await;
    for bad in [0, -1] {
        assert_eq!(
            svc.get(&ctx(), &p.prompt_id, Some(bad))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            svc.update(&ctx(), &p.prompt_id, update("x", bad, true))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidRequest
        );
    }
}

async fn a_second_replica_reads_through(b: Backend) {
    let (one, two) = (&b.service, &b.replica);
    // Each replica reads once before the other writes, so a cache would show stale data.
    assert!(two.list(&ctx()).await.unwrap().data.is_empty());
    let p = create(one, "V1", &[]).await;
    assert_eq!(two.get(&ctx(), &p.prompt_id, None).await.unwrap(), p);
    assert_eq!(two.list(&ctx()).await.unwrap().data, vec![p.clone()]);
    let v2 = two
        .update(&ctx(), &p.prompt_id, update("V2", 1, true))
        .await
        .unwrap();
    assert_eq!(one.get(&ctx(), &p.prompt_id, None).await.unwrap(), v2);
    one.set_default_version(&ctx(), &p.prompt_id, 1)
        .await
        .unwrap();
    assert_eq!(
        two.get(&ctx(), &p.prompt_id, None).await.unwrap().version,
        1
    );
    assert_eq!(
        versions(&two.list_versions(&ctx(), &p.prompt_id).await.unwrap().data),
        [(1, true), (2, false)]
    );
    two.delete(&ctx(), &p.prompt_id).await.unwrap();
    assert_eq!(
        one.get(&ctx(), &p.prompt_id, None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(one.list(&ctx()).await.unwrap().data.is_empty());
}

async fn keys_and_values_as_0_3_5_writes_them(b: Backend) {
    let svc = &b.service;
    let p = create(svc, "Hi {{ name }} ✓", &["name"]).await;
    svc.update(&ctx(), &p.prompt_id, update("V2", 1, true))
        .await
        .unwrap();
    let id = &p.prompt_id;
    let v1 =
        b.kv.get(&format!("prompts:v1:{id}:1"))
            .await
            .unwrap()
            .unwrap();
    // json.dumps: its separators, its key order, non-ASCII escaped.
    assert_eq!(
        v1,
        format!(
            r#"{{"prompt_id": "{id}", "prompt": "Hi {{{{ name }}}} \u2713", "version": 1, "variables": ["name"], "is_default": true}}"#
        )
    );
    assert_eq!(
        b.kv.get(&format!("prompts:v1:{id}:default"))
            .await
            .unwrap()
            .as_deref(),
        Some("2")
    );
    assert!(
        b.kv.get(&format!("prompts:v1:{id}:2"))
            .await
            .unwrap()
            .is_some()
    );

    // A prompt written by 0.3.5 (its stored is_default is stale: 0.3.5 writes false) reads
    // with the default as its default key says, and updates after its latest version.
    let legacy = format!("pmpt_{}", "c0ffee".repeat(8));
    for (version, text) in [(1, "old one"), (2, "old two")] {
        let value = json!({"prompt_id": legacy, "prompt": text, "version": version, "variables": [], "is_default": false});
        b.kv.set(
            &format!("prompts:v1:{legacy}:{version}"),
            &value.to_string(),
            None,
        )
        .await
        .unwrap();
    }
    b.kv.set(&format!("prompts:v1:{legacy}:default"), "1", None)
        .await
        .unwrap();
    let got = svc.get(&ctx(), &legacy, None).await.unwrap();
    assert_eq!(
        (got.version, got.is_default, got.prompt.as_deref()),
        (1, true, Some("old one"))
    );
    assert!(
        svc.list(&ctx())
            .await
            .unwrap()
            .data
            .iter()
            .any(|p| p.prompt_id == legacy && p.is_default)
    );
    let v3 = svc
        .update(&ctx(), &legacy, update("new", 2, true))
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    let stored: Value = serde_json::from_str(
        &b.kv
            .get(&format!("prompts:v1:{legacy}:3"))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["prompt"], "new");
}
