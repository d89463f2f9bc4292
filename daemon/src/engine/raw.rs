//! A raw CTAP relay session for callers that build their own CTAP requests (browsers): the
//! session runs in a task; `ctap` hands it requests and waits for the phone's answers.

use crate::engine::error::SessionError;
use crate::engine::links::Route;
use crate::engine::race::establish;
use crate::engine::session::Ctx;
use cable_qr::RequestType;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Reply = oneshot::Sender<Result<Vec<u8>, SessionError>>;

pub struct RawSession {
    requests: mpsc::Sender<(Vec<u8>, Reply)>,
    cancel: CancellationToken,
    failure: Arc<Mutex<Option<SessionError>>>,
    task: JoinHandle<Result<(), SessionError>>,
}

pub(crate) fn start(
    ctx: Ctx,
    route: Route,
    request_type: RequestType,
    cancel: CancellationToken,
) -> RawSession {
    let (requests, mut inbox) = mpsc::channel::<(Vec<u8>, Reply)>(4);
    let failure = Arc::new(Mutex::new(None));
    let recorded = failure.clone();
    let token = cancel.clone();
    let task = tokio::spawn(async move {
        let result = relay(ctx, route, request_type, &token, &mut inbox).await;
        if let Err(e) = &result {
            if let Ok(mut slot) = recorded.lock() {
                *slot = Some(e.clone());
            }
        }
        result
    });
    RawSession {
        requests,
        cancel,
        failure,
        task,
    }
}

async fn relay(
    ctx: Ctx,
    route: Route,
    request_type: RequestType,
    cancel: &CancellationToken,
    inbox: &mut mpsc::Receiver<(Vec<u8>, Reply)>,
) -> Result<(), SessionError> {
    let mut session = establish(ctx, route, request_type, cancel.clone()).await?;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => None,
            next = inbox.recv() => next,
        };
        let Some((request, reply)) = next else {
            // Cancelled, or the caller went away: tell the phone.
            session.abort().await;
            return Err(SessionError::Cancelled);
        };
        match session.ctap(&request).await {
            Ok(response) => {
                let _ = reply.send(Ok(response));
                if session.answered() {
                    // Phones take one operation per session.
                    session.finish().await;
                    return Ok(());
                }
            }
            Err(e) => {
                let _ = reply.send(Err(e.clone()));
                session.abort().await;
                return Err(e);
            }
        }
    }
}

impl RawSession {
    /// Sends `command || CBOR` and returns the phone's `status || CBOR`. Waits until the phone
    /// is ready. getInfo is answered locally; after one makeCredential/getAssertion the session
    /// ends.
    pub async fn ctap(&self, request: Vec<u8>) -> Result<Vec<u8>, SessionError> {
        let (reply, answer) = oneshot::channel();
        if self.requests.send((request, reply)).await.is_err() {
            return Err(self.ended());
        }
        answer.await.unwrap_or_else(|_| Err(self.ended()))
    }

    fn ended(&self) -> SessionError {
        match self.failure.lock().ok().and_then(|f| f.clone()) {
            Some(failure) => failure,
            None => SessionError::Finished,
        }
    }

    /// Cancels the session; the phone is sent shutdown if the channel is open.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the session to end.
    pub async fn finished(self) -> Result<(), SessionError> {
        self.task.await.unwrap_or_else(|e| {
            Err(SessionError::Internal(format!(
                "the session task failed: {e}"
            )))
        })
    }
}
