//! Where a running response's events go: numbered in order (from 0) and sent to the client's
//! stream. A client that went away does not stop a stored response from finishing.

use lls_api_agents::{Emitted, ResponseEvent};
use lls_api_common::Error;
use tokio::sync::mpsc;

pub struct Sink {
    tx: mpsc::Sender<Emitted>,
    next: u64,
    gone: bool,
}

impl Sink {
    pub fn new(tx: mpsc::Sender<Emitted>) -> Self {
        Sink {
            tx,
            next: 0,
            gone: false,
        }
    }

    /// Numbers and sends an event.
    pub async fn emit(&mut self, event: ResponseEvent) {
        self.send(event, None).await;
    }

    /// Numbers and sends the `response.failed` event with its cause.
    pub async fn fail(&mut self, event: ResponseEvent, cause: Error) {
        self.send(event, Some(cause)).await;
    }

    async fn send(&mut self, mut event: ResponseEvent, cause: Option<Error>) {
        event.set_sequence_number(self.next);
        self.next += 1;
        if !self.gone && self.tx.send(Emitted { event, cause }).await.is_err() {
            self.gone = true;
        }
    }

    /// Whether the client stopped listening.
    pub fn gone(&self) -> bool {
        self.gone
    }
}
