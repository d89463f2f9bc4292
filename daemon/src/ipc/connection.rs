//! One client connection: reads request lines (bounded), runs each request on its own task so
//! a long `webauthn.create` does not block `session.cancel`, and writes responses and
//! notifications in order through one writer. When the client goes away, or sends a line over
//! the limit, its sessions are cancelled (the phones are told) and the connection closes.
//!
//! Two bounds, so that a cancel never waits behind the calls it cancels: at most
//! `max_requests_per_client` requests run at once (beyond that a request is answered
//! `too_many_requests` at once; `session.cancel` and `daemon.status` are always served), and
//! at most twice that many answers wait to be written (a client that does not read its
//! answers is not read from: back-pressure, not buffering).

use crate::ipc::error::{codes, RpcError};
use crate::ipc::lines::{LineError, LineReader};
use crate::ipc::methods;
use crate::ipc::server::{ClientPlace, Daemon};
use crate::ipc::sessions::ClientId;
use crate::ipc::wire::{self, Id};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a closing connection keeps trying to deliver what is queued for it.
const DRAIN: Duration = Duration::from_secs(5);

/// A queued line, and the request permit it holds until it is written.
type Queued = (String, Option<OwnedSemaphorePermit>);

/// Lines queued for the client. The channel is unbounded but what goes in is bounded: each
/// answer holds one of the connection's output permits until it is written (so a client that
/// sends without reading is no longer read from), and notifications are bounded by the
/// session limit times a session's events.
#[derive(Clone)]
pub struct Outbox(mpsc::UnboundedSender<Queued>);

impl Outbox {
    /// Queues one line (without `\n`); silently dropped once the client is gone.
    pub fn send(&self, line: String) {
        let _ = self.0.send((line, None));
    }

    /// Queues an answer that keeps `permit` until it has been written.
    fn answer(&self, line: String, permit: OwnedSemaphorePermit) {
        let _ = self.0.send((line, Some(permit)));
    }
}

/// What a request handler knows about its connection.
pub struct Client {
    pub id: ClientId,
    /// Cancelled when the client disconnects (or the daemon stops); parent of the client's
    /// session tokens.
    pub cancel: CancellationToken,
    pub out: Outbox,
}

impl Client {
    /// A client without a socket, for tests of the methods: what it is sent arrives on the
    /// returned receiver.
    #[cfg(test)]
    pub(crate) fn detached(
        id: ClientId,
        cancel: CancellationToken,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Queued>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = Self {
            id,
            cancel,
            out: Outbox(tx),
        };
        (Arc::new(client), rx)
    }
}

pub async fn serve(daemon: Arc<Daemon>, stream: UnixStream, place: ClientPlace) {
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let client = Arc::new(Client {
        id: place.id,
        cancel: daemon.shutdown.child_token(),
        out: Outbox(tx),
    });
    let mut writer = tokio::spawn(write_lines(write, rx, client.cancel.clone()));
    let limits = daemon.config.limits;
    let mut lines = LineReader::new(BufReader::new(read), limits.max_line_bytes);
    let max_running = limits.max_requests_per_client;
    let running = Arc::new(Semaphore::new(max_running));
    // Room for every running request's answer and as many more (errors, cancels, status).
    let unwritten = Arc::new(Semaphore::new(max_running.saturating_mul(2)));
    let mut requests = JoinSet::new();

    loop {
        let line = tokio::select! {
            biased;
            _ = client.cancel.cancelled() => break,
            line = lines.next_line() => line,
        };
        while requests.try_join_next().is_some() {}
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(LineError::TooLong { max }) => {
                tracing::warn!(
                    client = client.id,
                    max,
                    "closing a connection: line too long"
                );
                client
                    .out
                    .send(wire::failure(&Id::null(), &RpcError::line_too_long(max)));
                break;
            }
            Err(LineError::Io(e)) => {
                tracing::debug!(client = client.id, error = %e, "read failed");
                break;
            }
        };
        // Every line holds an output permit until its answer is written. A client with too
        // many answers unread is not read further: back-pressure, not buffering.
        let permit = tokio::select! {
            biased;
            _ = client.cancel.cancelled() => break,
            permit = unwritten.clone().acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let request = match wire::parse_line(&line) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(rejected) => {
                tracing::debug!(client = client.id, code = %rejected.error.code, "bad request line");
                if let Some(id) = rejected.id {
                    client
                        .out
                        .answer(wire::failure(&id, &rejected.error), permit);
                }
                continue;
            }
        };
        // Control methods never wait for a phone and always run; the others run while the
        // connection has room, and are refused at once (not queued) when it has none.
        let slot = if methods::is_control(&request.method) {
            None
        } else {
            match running.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    tracing::debug!(client = client.id, method = %request.method, "too many requests");
                    if let Some(id) = request.id {
                        let error = too_many_requests(max_running);
                        client.out.answer(wire::failure(&id, &error), permit);
                    }
                    continue;
                }
            }
        };
        let (daemon, client) = (daemon.clone(), client.clone());
        requests.spawn(async move {
            handle(&daemon, &client, request, permit).await;
            drop(slot);
        });
    }

    // Disconnected (or refused further input): cancel this client's sessions; the handlers
    // answer (cancelled / shutting_down) and the phones are sent shutdown.
    client.cancel.cancel();
    daemon.prompts.unsubscribe(client.id);
    while requests.join_next().await.is_some() {}
    let id = client.id;
    drop(client);
    if tokio::time::timeout(DRAIN, &mut writer).await.is_err() {
        writer.abort();
    }
    tracing::debug!(client = id, "client disconnected");
    drop(place);
}

fn too_many_requests(max: usize) -> RpcError {
    RpcError::server(
        codes::TOO_MANY_REQUESTS,
        format!(
            "this connection already has {max} requests in progress (max_requests_per_client); \
             wait for an answer before sending more (session.cancel and daemon.status are \
             always served)"
        ),
    )
}

async fn handle(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    request: wire::Request,
    permit: OwnedSemaphorePermit,
) {
    let wire::Request { id, method, params } = request;
    tracing::debug!(client = client.id, %method, "request");
    let answer = methods::call(daemon, client, &method, id.as_ref(), params).await;
    let Some(id) = id else { return };
    match answer {
        Ok(methods::Answer::Result(result)) => {
            client.out.answer(wire::success(&id, &result), permit)
        }
        Ok(methods::Answer::Sent) => {}
        Err(error) => {
            tracing::debug!(client = client.id, %method, code = %error.code, "request failed");
            client.out.answer(wire::failure(&id, &error), permit);
        }
    }
}

/// Writes queued lines until every sender is gone; a failed write means the client is gone,
/// which cancels its sessions.
async fn write_lines(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Queued>,
    cancel: CancellationToken,
) {
    while let Some((mut line, permit)) = queue.recv().await {
        line.push('\n');
        if write.write_all(line.as_bytes()).await.is_err() {
            cancel.cancel();
            return;
        }
        // Written: the client may send another request.
        drop(permit);
    }
    let _ = write.shutdown().await;
}
