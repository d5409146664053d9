//! The service's behaviour, each scenario on SQLite and PostgreSQL: ids, metadata, item order
//! and ids, pagination (`after`, exact `has_more`, both orders), limits, deletes, owners.

use lls_api_agents::{FunctionCall, Item};
use lls_api_common::ErrorKind;
use lls_api_common::RequestContext;
use lls_api_common::store::Filter;
use lls_api_conversations::{
    Conversations, CreateConversationRequest, ListItemsQuery, Metadata, UpdateConversationRequest,
};
use lls_service_conversations::ITEMS_TABLE;
use lls_testkit::callers::{admin_or_owner_policy, caller_ctx, default_policy};

use crate::support::{Backend, on_both, text, user};

on_both!(
    conversation_lifecycle,
    items_get_ids_in_order,
    pagination_is_exact,
    limits_are_400s,
    items_one_by_one,
    owners_are_isolated
);

fn meta(pairs: &[(&str, &str)]) -> Metadata {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn hex48(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|h| h.len() == 48 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

async fn conversation_lifecycle(b: Backend) {
    let ctx = RequestContext::default();
    let svc = &b.service;
    let created = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: Some(vec![user("hi")]),
                metadata: Some(meta(&[("topic", "demo")])),
            },
        )
        .await
        .unwrap();
    assert!(hex48(&created.id, "conv_"), "{}", created.id);
    assert_eq!(created.object, "conversation");
    assert!((lls_api_common::unix_now() - created.created_at).abs() < 5);
    assert_eq!(created.metadata, Some(meta(&[("topic", "demo")])));

    let got = svc.get(&ctx, &created.id).await.unwrap();
    assert_eq!(got, created);
    // Without metadata it stays null, as 0.3.5 answers.
    let bare = svc
        .create(&ctx, CreateConversationRequest::default())
        .await
        .unwrap();
    assert_eq!(svc.get(&ctx, &bare.id).await.unwrap().metadata, None);

    // Update replaces the whole map.
    let updated = svc
        .update(
            &ctx,
            &created.id,
            UpdateConversationRequest {
                metadata: meta(&[("other", "x")]),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.metadata, Some(meta(&[("other", "x")])));
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(
        svc.get(&ctx, &created.id).await.unwrap().metadata,
        Some(meta(&[("other", "x")]))
    );

    // Delete takes the items with it.
    let deleted = svc.delete(&ctx, &created.id).await.unwrap();
    assert_eq!(
        (
            deleted.id.as_str(),
            deleted.object.as_str(),
            deleted.deleted
        ),
        (created.id.as_str(), "conversation.deleted", true)
    );
    for e in [
        svc.get(&ctx, &created.id).await.unwrap_err(),
        svc.delete(&ctx, &created.id).await.unwrap_err(),
        svc.list_items(&ctx, &created.id, ListItemsQuery::default())
            .await
            .unwrap_err(),
        svc.update(
            &ctx,
            &created.id,
            UpdateConversationRequest {
                metadata: Metadata::new(),
            },
        )
        .await
        .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    assert!(
        b.store
            .fetch_one(
                ITEMS_TABLE,
                &Filter::eq("conversation_id", created.id.as_str())
            )
            .await
            .unwrap()
            .is_none()
    );
    // The other conversation is untouched.
    assert!(svc.get(&ctx, &bare.id).await.is_ok());
}

async fn items_get_ids_in_order(b: Backend) {
    let ctx = RequestContext::default();
    let svc = &b.service;
    let call = Item::FunctionCall(FunctionCall {
        call_id: "c1".into(),
        name: "f".into(),
        arguments: "{}".into(),
        id: None,
        status: None,
    });
    let conv = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: Some(vec![user("one"), call]),
                metadata: None,
            },
        )
        .await
        .unwrap();
    let all = svc.all_items(&ctx, &conv.id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(hex48(all[0].id().unwrap(), "msg_"), "{:?}", all[0].id());
    assert!(hex48(all[1].id().unwrap(), "item_"), "{:?}", all[1].id());

    let mut given = user("three");
    given.set_id_if_missing(|| "msg_given".into());
    let added = svc
        .add_items(&ctx, &conv.id, vec![user("two"), given])
        .await
        .unwrap();
    assert_eq!(added.object, "list");
    assert_eq!(added.data.len(), 2);
    assert_eq!(added.first_id.as_deref(), added.data[0].id());
    assert_eq!(added.last_id.as_deref(), Some("msg_given"));
    assert!(!added.has_more);
    // Many appends within one second keep their order exactly.
    for i in 4..=10 {
        svc.add_items(&ctx, &conv.id, vec![user(&i.to_string())])
            .await
            .unwrap();
    }
    let texts: Vec<String> = svc
        .all_items(&ctx, &conv.id)
        .await
        .unwrap()
        .iter()
        .skip(2)
        .map(text)
        .collect();
    assert_eq!(texts, ["two", "three", "4", "5", "6", "7", "8", "9", "10"]);

    // Adding an id again replaces that item and moves it last (0.3.5's upsert).
    let mut again = user("three again");
    again.set_id_if_missing(|| "msg_given".into());
    svc.add_items(&ctx, &conv.id, vec![again]).await.unwrap();
    let all = svc.all_items(&ctx, &conv.id).await.unwrap();
    assert_eq!(all.len(), 11);
    assert_eq!(text(all.last().unwrap()), "three again");
    assert_eq!(
        all.iter().filter(|i| i.id() == Some("msg_given")).count(),
        1
    );

    // The same id in another conversation is another item.
    let other = svc
        .create(&ctx, CreateConversationRequest::default())
        .await
        .unwrap();
    let mut copy = user("copy");
    copy.set_id_if_missing(|| "msg_given".into());
    svc.add_items(&ctx, &other.id, vec![copy]).await.unwrap();
    assert_eq!(
        text(&svc.get_item(&ctx, &conv.id, "msg_given").await.unwrap()),
        "three again"
    );
    assert_eq!(
        text(&svc.get_item(&ctx, &other.id, "msg_given").await.unwrap()),
        "copy"
    );
}

async fn pagination_is_exact(b: Backend) {
    let ctx = RequestContext::default();
    let svc = &b.service;
    let conv = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: Some((0..20).map(|i| user(&i.to_string())).collect()),
                metadata: None,
            },
        )
        .await
        .unwrap();
    svc.add_items(
        &ctx,
        &conv.id,
        (20..25).map(|i| user(&i.to_string())).collect(),
    )
    .await
    .unwrap();
    let list = |after: Option<String>, limit: Option<i64>, order: Option<&str>| {
        let query = ListItemsQuery {
            after,
            limit,
            order: order.map(Into::into),
            include: None,
        };
        svc.list_items(&ctx, &conv.id, query)
    };
    let texts = |l: &lls_api_conversations::ItemList| l.data.iter().map(text).collect::<Vec<_>>();
    let n = |r: std::ops::Range<i32>| r.map(|i| i.to_string()).collect::<Vec<_>>();
    let rev = |r: std::ops::Range<i32>| r.rev().map(|i| i.to_string()).collect::<Vec<_>>();

    // Default: newest first, 20 per page.
    let first = list(None, None, None).await.unwrap();
    assert_eq!(texts(&first), rev(5..25));
    assert!(first.has_more);
    assert_eq!(first.first_id.as_deref(), first.data[0].id());
    assert_eq!(first.last_id.as_deref(), first.data[19].id());
    let second = list(first.last_id.clone(), None, None).await.unwrap();
    assert_eq!(texts(&second), rev(0..5));
    assert!(!second.has_more);

    // Ascending, pages of 10: has_more is false exactly on the last page.
    let mut after = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = list(after.clone(), Some(10), Some("asc")).await.unwrap();
        pages += 1;
        seen.extend(texts(&page));
        if !page.has_more {
            break;
        }
        after = page.last_id.clone();
    }
    assert_eq!((pages, seen), (3, n(0..25)));
    // A page ending exactly at the last item says there is no more.
    let exact = list(None, Some(25), Some("asc")).await.unwrap();
    assert!(!exact.has_more);
    let past = list(exact.last_id.clone(), Some(5), Some("asc"))
        .await
        .unwrap();
    assert!(
        past.data.is_empty() && !past.has_more && past.first_id.is_none() && past.last_id.is_none()
    );

    // A cursor that is not an item of this conversation is a 400 naming `after`.
    let other = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: Some(vec![user("x")]),
                metadata: None,
            },
        )
        .await
        .unwrap();
    let foreign = svc.all_items(&ctx, &other.id).await.unwrap()[0]
        .id()
        .unwrap()
        .to_owned();
    for bad in ["msg_nope".to_owned(), foreign] {
        let e = list(Some(bad), None, None).await.unwrap_err();
        assert_eq!(
            (e.kind(), e.param()),
            (ErrorKind::InvalidRequest, Some("after")),
            "{e}"
        );
    }
    for limit in [0, 101] {
        assert_eq!(
            list(None, Some(limit), None).await.unwrap_err().param(),
            Some("limit")
        );
    }
    assert!(list(None, Some(100), None).await.is_ok());
    assert_eq!(
        list(None, None, Some("sideways"))
            .await
            .unwrap_err()
            .param(),
        Some("order")
    );
}

async fn limits_are_400s(b: Backend) {
    let ctx = RequestContext::default();
    let svc = &b.service;
    // The 20-item limit is the routes' (tests/it/http.rs): the Responses API appends a whole
    // turn through the trait.
    let many = (0..25).map(|i| user(&i.to_string())).collect::<Vec<_>>();
    let conv = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: Some(many.clone()),
                metadata: None,
            },
        )
        .await
        .unwrap();
    svc.add_items(&ctx, &conv.id, many).await.unwrap();
    assert_eq!(svc.all_items(&ctx, &conv.id).await.unwrap().len(), 50);
    let big: Metadata = (0..17).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let e = svc
        .create(
            &ctx,
            CreateConversationRequest {
                items: None,
                metadata: Some(big.clone()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.param()),
        (ErrorKind::InvalidRequest, Some("metadata"))
    );
    for metadata in [
        big,
        meta(&[(&"k".repeat(65), "v")]),
        meta(&[("k", &"v".repeat(513))]),
    ] {
        let e = svc
            .update(&ctx, &conv.id, UpdateConversationRequest { metadata })
            .await
            .unwrap_err();
        assert_eq!(e.param(), Some("metadata"));
    }
    assert!(
        svc.update(
            &ctx,
            &conv.id,
            UpdateConversationRequest {
                metadata: meta(&[(&"k".repeat(64), &"v".repeat(512))])
            }
        )
        .await
        .is_ok()
    );
    // Ids not shaped like conversation ids are refused as 0.3.5 does; well-shaped unknown ones are not found.
    let e = svc.get(&ctx, "nope").await.unwrap_err();
    assert_eq!(
        (e.kind(), e.param()),
        (ErrorKind::InvalidRequest, Some("conversation_id"))
    );
    assert_eq!(
        svc.get(&ctx, "conv_unknown").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        svc.add_items(&ctx, "conv_unknown", vec![user("x")])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

async fn items_one_by_one(b: Backend) {
    let ctx = RequestContext::default();
    let svc = &b.service;
    let conv = svc
        .create(&ctx, CreateConversationRequest::default())
        .await
        .unwrap();
    let added = svc
        .add_items(&ctx, &conv.id, vec![user("a"), user("b")])
        .await
        .unwrap();
    let id = added.data[0].id().unwrap().to_owned();
    let item = svc.get_item(&ctx, &conv.id, &id).await.unwrap();
    assert_eq!(item, added.data[0]);
    let deleted = svc.delete_item(&ctx, &conv.id, &id).await.unwrap();
    assert_eq!(
        (
            deleted.id.as_str(),
            deleted.object.as_str(),
            deleted.deleted
        ),
        (id.as_str(), "conversation.item.deleted", true)
    );
    for e in [
        svc.get_item(&ctx, &conv.id, &id).await.unwrap_err(),
        svc.delete_item(&ctx, &conv.id, &id).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains(&id), "{e}");
    }
    assert_eq!(
        svc.get_item(&ctx, "conv_unknown", &id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let left = svc
        .list_items(&ctx, &conv.id, ListItemsQuery::default())
        .await
        .unwrap();
    assert_eq!(left.data.iter().map(text).collect::<Vec<_>>(), ["b"]);
}

async fn owners_are_isolated(b: Backend) {
    let svc = &b.service;
    // The default policy isolates by attributes (a row whose owner has none is public).
    let alice = caller_ctx("alice", &[("teams", &["red"])], default_policy());
    let bob = caller_ctx("bob", &[("teams", &["blue"])], default_policy());
    let conv = svc
        .create(
            &alice,
            CreateConversationRequest {
                items: Some(vec![user("secret")]),
                metadata: None,
            },
        )
        .await
        .unwrap();
    let item = svc.all_items(&alice, &conv.id).await.unwrap()[0]
        .id()
        .unwrap()
        .to_owned();
    let errors = [
        svc.get(&bob, &conv.id).await.unwrap_err(),
        svc.update(
            &bob,
            &conv.id,
            UpdateConversationRequest {
                metadata: Metadata::new(),
            },
        )
        .await
        .unwrap_err(),
        svc.add_items(&bob, &conv.id, vec![user("x")])
            .await
            .unwrap_err(),
        svc.list_items(&bob, &conv.id, ListItemsQuery::default())
            .await
            .unwrap_err(),
        svc.all_items(&bob, &conv.id).await.unwrap_err(),
        svc.get_item(&bob, &conv.id, &item).await.unwrap_err(),
        svc.delete_item(&bob, &conv.id, &item).await.unwrap_err(),
        svc.delete(&bob, &conv.id).await.unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(e.message(), format!("Conversation {} not found", conv.id));
    }
    // Nothing bob tried changed anything.
    assert_eq!(svc.all_items(&alice, &conv.id).await.unwrap().len(), 1);
    assert_eq!(svc.get(&alice, &conv.id).await.unwrap().metadata, None);
    // Unauthenticated work (the server's own) and an admin under a custom policy see it.
    assert!(svc.get(&RequestContext::default(), &conv.id).await.is_ok());
    let admin = caller_ctx(
        "root",
        &[("roles", &["admin"])],
        admin_or_owner_policy().unwrap(),
    );
    assert!(svc.get(&admin, &conv.id).await.is_ok());
    let carol = caller_ctx("carol", &[], admin_or_owner_policy().unwrap());
    assert_eq!(
        svc.get(&carol, &conv.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(svc.delete(&alice, &conv.id).await.is_ok());
}
