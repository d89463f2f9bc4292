//! Prompt agents and the prompts they show. A session no connection owns (the security
//! key's) is announced to every subscribed agent (`prompt.opened`), its events follow as
//! `session.event`s, and `prompt.ended` closes it. An agent that subscribes late is replayed
//! the open prompts and their QR codes, so a window opened after the request still shows it.

use crate::ipc::api::{PromptEnded, PromptEndedNotice, PromptOpened, PromptOpenedNotice};
use crate::ipc::connection::Outbox;
use crate::ipc::sessions::ClientId;
use crate::ipc::wire;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

#[derive(Default)]
pub struct Prompts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    agents: HashMap<ClientId, Outbox>,
    open: HashMap<String, Open>,
}

struct Open {
    opened: String,
    /// The `qr` event's line, replayed to late agents.
    qr: Option<String>,
    /// Where `prompts.pick` sends the chosen linked phone.
    picks: mpsc::Sender<String>,
}

/// Why a pick was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum PickError {
    NotAgent,
    NoSuchPrompt,
}

impl Prompts {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update is one insert or remove: a poisoned lock holds no half-done change.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `client` shows prompts from now on; it is first sent the prompts already open.
    /// Answers how many those were.
    pub fn subscribe(&self, client: ClientId, out: Outbox) -> usize {
        let mut inner = self.inner();
        for open in inner.open.values() {
            out.send(open.opened.clone());
            if let Some(qr) = &open.qr {
                out.send(qr.clone());
            }
        }
        inner.agents.insert(client, out);
        inner.open.len()
    }

    pub fn unsubscribe(&self, client: ClientId) {
        self.inner().agents.remove(&client);
    }

    pub fn is_agent(&self, client: ClientId) -> bool {
        self.inner().agents.contains_key(&client)
    }

    pub fn agents(&self) -> usize {
        self.inner().agents.len()
    }

    /// Announces a prompt to every agent; `picks` receives what an agent picks. Answers false
    /// (and announces nothing) when no agent listens: nobody could show the QR code.
    pub fn open(&self, prompt: &PromptOpened, picks: mpsc::Sender<String>) -> bool {
        let line = wire::notification::<PromptOpenedNotice>(prompt);
        let mut inner = self.inner();
        if inner.agents.is_empty() {
            return false;
        }
        for out in inner.agents.values() {
            out.send(line.clone());
        }
        let open = Open {
            opened: line,
            qr: None,
            picks,
        };
        inner.open.insert(prompt.session.clone(), open);
        true
    }

    /// Sends one of a prompt's `session.event` lines to every agent; `is_qr` keeps it for
    /// agents that come later.
    pub fn event(&self, session: &str, line: String, is_qr: bool) {
        let mut inner = self.inner();
        for out in inner.agents.values() {
            out.send(line.clone());
        }
        if is_qr {
            if let Some(open) = inner.open.get_mut(session) {
                open.qr = Some(line);
            }
        }
    }

    /// The prompt's last notification.
    pub fn end(&self, ended: &PromptEnded) {
        let line = wire::notification::<PromptEndedNotice>(ended);
        let mut inner = self.inner();
        inner.open.remove(&ended.session);
        for out in inner.agents.values() {
            out.send(line.clone());
        }
    }

    /// An agent's choice of linked phone for an open prompt.
    pub fn pick(&self, client: ClientId, session: &str, device: String) -> Result<(), PickError> {
        let inner = self.inner();
        if !inner.agents.contains_key(&client) {
            return Err(PickError::NotAgent);
        }
        let open = inner.open.get(session).ok_or(PickError::NoSuchPrompt)?;
        open.picks
            .try_send(device)
            .map_err(|_| PickError::NoSuchPrompt)
    }
}
