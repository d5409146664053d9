//! Agent state in the `persistence.agent_state` kv store, under 0.3.5's keys: `agent:{id}`,
//! `session:{agent}:{session}`, `session:{agent}:{session}:{turn}` and
//! `in_progress_tool_call_step:{agent}:{session}:{turn}`.

use std::sync::Arc;

use lls_api_agents::{AgentConfig, Session, Step, Turn};
use lls_api_common::access::{Action, Owner, ProtectedResource};
use lls_api_common::store::KvStore;
use lls_api_common::{Error, RequestContext, Result};
use serde::{Deserialize, Serialize};

/// Past every id character: the end of a key range.
const RANGE_END: char = '\u{10FFFF}';

/// `agent:{id}`: 0.3.5's `AgentInfo` (the config and `created_at`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredAgent {
    #[serde(flatten)]
    pub config: AgentConfig,
    pub created_at: String,
}

/// `session:{agent}:{session}`: 0.3.5's `AgentSessionInfo`, plus the last response of the
/// session (the next turn continues from it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub session_id: String,
    pub session_name: String,
    #[serde(default)]
    pub turns: Vec<Turn>,
    pub started_at: String,
    #[serde(default)]
    pub vector_db_id: Option<String>,
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default = "session_type", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub last_response_id: Option<String>,
}

fn session_type() -> String {
    "session".into()
}

impl StoredSession {
    pub fn session(&self, turns: Vec<Turn>) -> Session {
        Session {
            session_id: self.session_id.clone(),
            session_name: self.session_name.clone(),
            turns,
            started_at: self.started_at.clone(),
        }
    }

    fn resource(&self) -> ProtectedResource<'_> {
        ProtectedResource::new("session", &self.session_id, self.owner.as_ref())
    }
}

pub(crate) struct AgentStore {
    kv: Arc<dyn KvStore>,
}

fn agent_key(agent_id: &str) -> String {
    format!("agent:{agent_id}")
}
fn session_key(agent_id: &str, session_id: &str) -> String {
    format!("session:{agent_id}:{session_id}")
}
fn turn_key(agent_id: &str, session_id: &str, turn_id: &str) -> String {
    format!("session:{agent_id}:{session_id}:{turn_id}")
}
fn pending_key(agent_id: &str, session_id: &str, turn_id: &str) -> String {
    format!("in_progress_tool_call_step:{agent_id}:{session_id}:{turn_id}")
}

fn parse<T: for<'de> Deserialize<'de>>(raw: &str, what: &str) -> Result<T> {
    serde_json::from_str(raw)
        .map_err(|e| Error::internal(format!("stored {what} is unreadable: {e}")))
}

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(e.to_string()))
}

impl AgentStore {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        AgentStore { kv }
    }

    pub async fn put_agent(&self, agent_id: &str, agent: &StoredAgent) -> Result<()> {
        self.kv.set(&agent_key(agent_id), &json(agent)?, None).await
    }

    /// 0.3.5 answers an unknown agent with a 400 (`ValueError`).
    pub async fn agent(&self, agent_id: &str) -> Result<StoredAgent> {
        match self.kv.get(&agent_key(agent_id)).await? {
            Some(raw) => parse(&raw, "agent"),
            None => Err(Error::invalid(format!(
                "Could not find agent info for {agent_id}"
            ))),
        }
    }

    /// Every agent, by id.
    pub async fn agents(&self) -> Result<Vec<(String, StoredAgent)>> {
        let keys = self
            .kv
            .keys_in_range("agent:", &format!("agent:{RANGE_END}"))
            .await?;
        let mut agents = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(raw) = self.kv.get(&key).await? else {
                continue;
            };
            match parse::<StoredAgent>(&raw, "agent") {
                Ok(agent) => agents.push((key["agent:".len()..].to_owned(), agent)),
                Err(e) => tracing::warn!("skipping {key}: {e}"),
            }
        }
        Ok(agents)
    }

    pub async fn delete_agent(&self, agent_id: &str) -> Result<()> {
        self.kv.delete(&agent_key(agent_id)).await
    }

    pub async fn put_session(&self, agent_id: &str, session: &StoredSession) -> Result<()> {
        self.kv
            .set(
                &session_key(agent_id, &session.session_id),
                &json(session)?,
                None,
            )
            .await
    }

    /// The session, if the caller may do `action` to it (else it does not exist for them).
    pub async fn session(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
        session_id: &str,
        action: Action,
    ) -> Result<StoredSession> {
        let not_found = || Error::not_found(format!("Session {session_id} not found"));
        let raw = self
            .kv
            .get(&session_key(agent_id, session_id))
            .await?
            .ok_or_else(not_found)?;
        let session: StoredSession = parse(&raw, "session")?;
        ctx.authorize(action, &session.resource())
            .map_err(|refusal| refusal.or_not_found(not_found))?;
        Ok(session)
    }

    /// The agent's sessions the caller may read (without their turns).
    pub async fn sessions(
        &self,
        ctx: &RequestContext,
        agent_id: &str,
    ) -> Result<Vec<StoredSession>> {
        let prefix = format!("session:{agent_id}:");
        let keys = self
            .kv
            .keys_in_range(&prefix, &format!("{prefix}{RANGE_END}"))
            .await?;
        let mut sessions = Vec::new();
        for key in keys.iter().filter(|k| !k[prefix.len()..].contains(':')) {
            let Some(raw) = self.kv.get(key).await? else {
                continue;
            };
            match parse::<StoredSession>(&raw, "session") {
                Ok(s) if ctx.can(Action::Read, &s.resource()) => sessions.push(s),
                Ok(_) => {}
                Err(e) => tracing::warn!("skipping {key}: {e}"),
            }
        }
        Ok(sessions)
    }

    pub async fn delete_session(&self, agent_id: &str, session_id: &str) -> Result<()> {
        for turn in self.turns(agent_id, session_id).await? {
            self.kv
                .delete(&turn_key(agent_id, session_id, &turn.turn_id))
                .await?;
            self.kv
                .delete(&pending_key(agent_id, session_id, &turn.turn_id))
                .await?;
        }
        self.kv.delete(&session_key(agent_id, session_id)).await
    }

    pub async fn put_turn(&self, agent_id: &str, turn: &Turn) -> Result<()> {
        self.kv
            .set(
                &turn_key(agent_id, &turn.session_id, &turn.turn_id),
                &json(turn)?,
                None,
            )
            .await
    }

    pub async fn turn(&self, agent_id: &str, session_id: &str, turn_id: &str) -> Result<Turn> {
        match self
            .kv
            .get(&turn_key(agent_id, session_id, turn_id))
            .await?
        {
            Some(raw) => parse(&raw, "turn"),
            None => Err(Error::not_found(format!("Turn {turn_id} not found"))),
        }
    }

    /// The session's turns, oldest first.
    pub async fn turns(&self, agent_id: &str, session_id: &str) -> Result<Vec<Turn>> {
        let prefix = format!("{}:", session_key(agent_id, session_id));
        let mut turns: Vec<Turn> = Vec::new();
        for raw in self
            .kv
            .values_in_range(&prefix, &format!("{prefix}{RANGE_END}"))
            .await?
        {
            match parse(&raw, "turn") {
                Ok(turn) => turns.push(turn),
                Err(e) => tracing::warn!("skipping a turn of session {session_id}: {e}"),
            }
        }
        turns.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Ok(turns)
    }

    /// The client tool calls a turn waits for.
    pub async fn put_pending(
        &self,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
        step: Option<&Step>,
    ) -> Result<()> {
        let key = pending_key(agent_id, session_id, turn_id);
        match step {
            Some(step) => self.kv.set(&key, &json(step)?, None).await,
            None => self.kv.delete(&key).await,
        }
    }

    pub async fn pending(
        &self,
        agent_id: &str,
        session_id: &str,
        turn_id: &str,
    ) -> Result<Option<Step>> {
        match self
            .kv
            .get(&pending_key(agent_id, session_id, turn_id))
            .await?
        {
            Some(raw) => parse(&raw, "tool call step").map(Some),
            None => Ok(None),
        }
    }
}

/// Now as pydantic writes a UTC datetime: `2025-01-02T03:04:05.123456Z`.
pub(crate) fn iso_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    iso(now.as_secs() as i64, now.subsec_micros())
}

fn iso(secs: i64, micros: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso(1_709_251_199, 5), "2024-02-29T23:59:59.000005Z");
    }
}
