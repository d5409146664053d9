//! Backends for the tests: a fresh SQLite file, or the PostgreSQL at `LLS_TEST_POSTGRES_URL`
//! with a conversations table of its own (items share `conversation_items`; ids are random).

use std::sync::Arc;

use lls_api_agents::{ContentPart, Item, MessageContent, Role};
use lls_api_common::store::{SqlStore, StoreResolver};
use lls_service_conversations::SqlConversations;
use lls_storage::{BackendSpec, Stores};
use lls_testkit::Prerequisite;
use tempfile::TempDir;

pub const POSTGRES: Prerequisite = Prerequisite {
    what: "PostgreSQL (LLS_TEST_POSTGRES_URL)",
    how: "export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)",
    opt_out: "LLS_TEST_NO_POSTGRES",
};

/// A service and what keeps its database alive.
pub struct Backend {
    pub service: SqlConversations,
    pub store: Arc<dyn SqlStore>,
    _dir: Option<TempDir>,
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::new([(
        "sql".to_owned(),
        BackendSpec::SqliteSql {
            path: dir.path().join("sql.db"),
        },
    )])
    .unwrap();
    let store = stores.sql("sql").await.unwrap();
    let service = SqlConversations::open(store.clone(), "openai_conversations")
        .await
        .unwrap();
    Backend {
        service,
        store,
        _dir: Some(dir),
    }
}

/// `None` only when PostgreSQL is opted out (the test then says it did not run).
pub async fn postgres(test: &str) -> Option<Backend> {
    let url = std::env::var("LLS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let url = POSTGRES.require(
        test,
        url,
        "the conversations tables are checked on PostgreSQL too",
    )?;
    let stores = Stores::new([("sql".to_owned(), BackendSpec::PostgresSql { url })]).unwrap();
    let store = stores.sql("sql").await.unwrap();
    let table = format!("conv_test_{}", uuid_like());
    let service = SqlConversations::open(store.clone(), &table).await.unwrap();
    Some(Backend {
        service,
        store,
        _dir: None,
    })
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// A user message with one input text part, without id.
pub fn user(text: &str) -> Item {
    Item::message(
        Role::User,
        MessageContent::Parts(vec![ContentPart::InputText { text: text.into() }]),
    )
}

/// The text of a message item.
pub fn text(item: &Item) -> String {
    match item {
        Item::Message(m) => m.text(),
        other => panic!("not a message: {other:?}"),
    }
}

/// Runs an async scenario taking a [`Backend`] on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(crate::support::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() {
                if let Some(b) = crate::support::postgres(stringify!($name)).await { super::$name(b).await; }
            })*
        }
    };
}
pub(crate) use on_both;
