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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::api::{FrontDoor, Outcome};
    use crate::ipc::connection::Client;
    use tokio_util::sync::CancellationToken;

    fn prompt(session: &str) -> PromptOpened {
        PromptOpened {
            session: session.into(),
            front_door: FrontDoor::SecurityKey,
            rp_id: Some("example.com".into()),
            operation: "create".into(),
            devices: Vec::new(),
        }
    }

    #[test]
    fn nobody_to_show_it_means_no_prompt() {
        let prompts = Prompts::default();
        let (picks, _) = mpsc::channel(1);
        assert!(!prompts.open(&prompt("s1"), picks));
        assert_eq!(prompts.agents(), 0);
    }

    #[tokio::test]
    async fn agents_see_prompts_late_ones_get_the_open_ones_and_only_agents_pick() {
        let prompts = Prompts::default();
        let (early, mut early_lines) = Client::detached(1, CancellationToken::new());
        assert_eq!(prompts.subscribe(1, early.out.clone()), 0);
        let (picks, mut picked) = mpsc::channel(1);
        assert!(prompts.open(&prompt("s1"), picks));
        prompts.event("s1", "{\"qr\":1}".into(), true);
        prompts.event("s1", "{\"scanning\":1}".into(), false);
        let (line, _) = early_lines.recv().await.unwrap();
        assert!(
            line.contains("prompt.opened") && line.contains("example.com"),
            "{line}"
        );
        assert_eq!(early_lines.recv().await.unwrap().0, "{\"qr\":1}");

        // A late agent is replayed the prompt and its QR code, not the rest.
        let (late, mut late_lines) = Client::detached(2, CancellationToken::new());
        assert_eq!(prompts.subscribe(2, late.out.clone()), 1);
        assert!(late_lines.recv().await.unwrap().0.contains("prompt.opened"));
        assert_eq!(late_lines.recv().await.unwrap().0, "{\"qr\":1}");

        assert_eq!(prompts.pick(9, "s1", "d1".into()), Err(PickError::NotAgent));
        assert_eq!(
            prompts.pick(2, "nope", "d1".into()),
            Err(PickError::NoSuchPrompt)
        );
        prompts.pick(2, "s1", "d1".into()).unwrap();
        assert_eq!(picked.recv().await.unwrap(), "d1");

        prompts.end(&PromptEnded {
            session: "s1".into(),
            outcome: Outcome::Ok,
            code: None,
            message: None,
        });
        // The late agent missed the earlier scanning event: next is the end.
        assert!(late_lines.recv().await.unwrap().0.contains("prompt.ended"));
        assert_eq!(
            prompts.pick(2, "s1", "d1".into()),
            Err(PickError::NoSuchPrompt)
        );
        prompts.unsubscribe(1);
        assert!(!prompts.is_agent(1) && prompts.is_agent(2));
    }
}
