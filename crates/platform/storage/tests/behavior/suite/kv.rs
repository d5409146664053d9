//! Key-value scenarios.

use lls_api_common::store::KvStore;
use lls_api_common::unix_now;

pub async fn kv_set_get_delete(kv: &dyn KvStore) {
    assert_eq!(kv.get("missing").await.unwrap(), None);
    kv.set("models:llama/3.1 ünï", "{\"a\": 1}", None)
        .await
        .unwrap();
    assert_eq!(
        kv.get("models:llama/3.1 ünï").await.unwrap().as_deref(),
        Some("{\"a\": 1}")
    );
    kv.set("models:llama/3.1 ünï", "second", None)
        .await
        .unwrap();
    assert_eq!(
        kv.get("models:llama/3.1 ünï").await.unwrap().as_deref(),
        Some("second")
    );
    kv.delete("models:llama/3.1 ünï").await.unwrap();
    assert_eq!(kv.get("models:llama/3.1 ünï").await.unwrap(), None);
    kv.delete("never-existed").await.unwrap();
    kv.set("empty", "", None).await.unwrap();
    assert_eq!(kv.get("empty").await.unwrap().as_deref(), Some(""));
}

pub async fn kv_ranges_in_key_order(kv: &dyn KvStore) {
    for key in ["k:c", "k:a", "k:B", "k:b", "k:d", "l:a", "k", "k:zz"] {
        kv.set(key, &format!("v-{key}"), None).await.unwrap();
    }
    // Bytewise order: uppercase before lowercase.
    assert_eq!(
        kv.keys_in_range("k:B", "k:c").await.unwrap(),
        ["k:B", "k:a", "k:b", "k:c"]
    );
    assert_eq!(
        kv.values_in_range("k:a", "k:c").await.unwrap(),
        ["v-k:a", "v-k:b", "v-k:c"]
    );
    // Upstream's prefix scan: [prefix, prefix + "\xff"].
    assert_eq!(
        kv.keys_in_range("k:", "k:\u{ff}").await.unwrap(),
        ["k:B", "k:a", "k:b", "k:c", "k:d", "k:zz"]
    );
    assert!(kv.keys_in_range("k:z", "k:a").await.unwrap().is_empty());
    assert!(kv.values_in_range("m", "n").await.unwrap().is_empty());
}

pub async fn kv_expired_rows_are_invisible(kv: &dyn KvStore) {
    let now = unix_now();
    kv.set("e:gone", "old", Some(now - 1)).await.unwrap();
    kv.set("e:kept", "fresh", Some(now + 3600)).await.unwrap();
    kv.set("e:forever", "always", None).await.unwrap();
    assert_eq!(kv.get("e:gone").await.unwrap(), None);
    assert_eq!(kv.get("e:kept").await.unwrap().as_deref(), Some("fresh"));
    assert_eq!(
        kv.keys_in_range("e:", "e:\u{ff}").await.unwrap(),
        ["e:forever", "e:kept"]
    );
    assert_eq!(
        kv.values_in_range("e:", "e:\u{ff}").await.unwrap(),
        ["always", "fresh"]
    );
    // Setting an expired key again without expiry revives it.
    kv.set("e:gone", "back", None).await.unwrap();
    assert_eq!(kv.get("e:gone").await.unwrap().as_deref(), Some("back"));
}

pub async fn kv_namespaces_are_isolated(one: &dyn KvStore, two: &dyn KvStore) {
    one.set("shared", "from one", None).await.unwrap();
    two.set("shared", "from two", None).await.unwrap();
    one.set("only-one", "x", None).await.unwrap();
    assert_eq!(
        one.get("shared").await.unwrap().as_deref(),
        Some("from one")
    );
    assert_eq!(
        two.get("shared").await.unwrap().as_deref(),
        Some("from two")
    );
    assert_eq!(two.get("only-one").await.unwrap(), None);
    // Range results carry keys without the namespace prefix, and never another namespace's keys.
    assert_eq!(
        one.keys_in_range("", "\u{ff}").await.unwrap(),
        ["only-one", "shared"]
    );
    assert_eq!(two.keys_in_range("", "\u{ff}").await.unwrap(), ["shared"]);
    assert_eq!(
        two.values_in_range("", "\u{ff}").await.unwrap(),
        ["from two"]
    );
    one.delete("shared").await.unwrap();
    assert_eq!(
        two.get("shared").await.unwrap().as_deref(),
        Some("from two")
    );
}

pub async fn kv_incr_counts_atomically(kv: &dyn KvStore) {
    let now = unix_now();
    assert_eq!(kv.incr("q:a", 1, Some(now + 3600)).await.unwrap(), 1);
    assert_eq!(kv.incr("q:a", 2, None).await.unwrap(), 3);
    assert_eq!(kv.get("q:a").await.unwrap().as_deref(), Some("3"));
    // Eight callers at once, ten increments each: every one is counted.
    let ten = |key: &'static str| async move {
        for _ in 0..10 {
            kv.incr(key, 1, Some(now + 3600)).await.unwrap();
        }
    };
    tokio::join!(ten("q:b"), ten("q:b"), ten("q:b"), ten("q:b"), ten("q:b"), ten("q:b"), ten("q:b"), ten("q:b"));
    assert_eq!(kv.get("q:b").await.unwrap().as_deref(), Some("80"));
    // Counters are ordinary keys.
    assert_eq!(
        kv.keys_in_range("q:", "q:\u{ff}").await.unwrap(),
        ["q:a", "q:b"]
    );
    // An expired counter starts again.
    kv.set("q:old", "41", Some(now - 1)).await.unwrap();
    assert_eq!(kv.incr("q:old", 1, Some(now + 60)).await.unwrap(), 1);
    assert_eq!(kv.get("q:old").await.unwrap().as_deref(), Some("1"));
    kv.set("q:word", "many", None).await.unwrap();
    assert!(kv.incr("q:word", 1, None).await.is_err());
    assert_eq!(kv.get("q:word").await.unwrap().as_deref(), Some("many"));
}
