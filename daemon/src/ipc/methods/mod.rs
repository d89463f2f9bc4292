//! The methods: dispatch decodes each request's params with the method's type from `api`,
//! runs it, and encodes its typed result. Session progress goes to the caller as
//! `session.event` notifications.

pub(crate) mod devices;
mod history;
mod prompts;
pub(crate) mod session;
mod status;

use crate::ipc::api::{self, decode_params, Method};
use crate::ipc::connection::Client;
use crate::ipc::error::RpcError;
use crate::ipc::server::Daemon;
use crate::ipc::wire::Id;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A method's outcome.
pub enum Answer {
    /// Send this as the result.
    Result(Value),
    /// The method already queued its response (so that it precedes the session's events).
    Sent,
}

/// Methods that never wait for a phone: they are served even when the connection has its
/// limit of requests in progress, so a cancel is never stuck behind the calls it cancels.
pub fn is_control(method: &str) -> bool {
    [
        api::SessionCancel::NAME,
        api::DaemonStatus::NAME,
        api::PromptsSubscribe::NAME,
        api::PromptsPick::NAME,
        api::HistoryList::NAME,
        api::HistoryGet::NAME,
        api::DaemonStats::NAME,
    ]
    .contains(&method)
}

pub async fn call(
    daemon: &Arc<Daemon>,
    client: &Arc<Client>,
    method: &str,
    id: Option<&Id>,
    params: Map<String, Value>,
) -> Result<Answer, RpcError> {
    use api::*;
    match method {
        WebAuthnCreate::NAME => {
            let p = decode::<WebAuthnCreate>(params)?;
            answer::<WebAuthnCreate>(session::webauthn(daemon, client, true, p).await)
        }
        WebAuthnGet::NAME => {
            let p = decode::<WebAuthnGet>(params)?;
            answer::<WebAuthnGet>(session::webauthn(daemon, client, false, p).await)
        }
        HybridStart::NAME => {
            session::hybrid_start(daemon, client, id, decode::<HybridStart>(params)?)
        }
        CtapSend::NAME => {
            let p = decode::<CtapSend>(params)?;
            answer::<CtapSend>(session::ctap_send(daemon, client, p).await)
        }
        SessionCancel::NAME => {
            let p = decode::<SessionCancel>(params)?;
            answer::<SessionCancel>(session::cancel(daemon, client, p))
        }
        DevicesList::NAME => {
            decode::<DevicesList>(params)?;
            answer::<DevicesList>(devices::list(daemon))
        }
        DevicesRename::NAME => {
            answer::<DevicesRename>(devices::rename(daemon, decode::<DevicesRename>(params)?))
        }
        DevicesForget::NAME => {
            answer::<DevicesForget>(devices::forget(daemon, decode::<DevicesForget>(params)?))
        }
        DaemonStatus::NAME => {
            decode::<DaemonStatus>(params)?;
            answer::<DaemonStatus>(Ok(status::status(daemon, client).await))
        }
        PromptsSubscribe::NAME => {
            decode::<PromptsSubscribe>(params)?;
            answer::<PromptsSubscribe>(Ok(prompts::subscribe(daemon, client)))
        }
        PromptsPick::NAME => answer::<PromptsPick>(prompts::pick(
            daemon,
            client,
            decode::<PromptsPick>(params)?,
        )),
        HistoryList::NAME => {
            answer::<HistoryList>(history::list(daemon, decode::<HistoryList>(params)?))
        }
        HistoryGet::NAME => {
            answer::<HistoryGet>(history::get(daemon, decode::<HistoryGet>(params)?))
        }
        DaemonStats::NAME => {
            answer::<DaemonStats>(history::stats(daemon, decode::<DaemonStats>(params)?))
        }
        _ => Err(RpcError::method_not_found(method)),
    }
}

fn decode<M: Method>(params: Map<String, Value>) -> Result<M::Params, RpcError> {
    decode_params(M::NAME, params)
}

fn answer<M: Method>(result: Result<M::Result, RpcError>) -> Result<Answer, RpcError> {
    let result = result?;
    serde_json::to_value(&result)
        .map(Answer::Result)
        .map_err(|e| RpcError::internal(format!("{}: cannot encode the result: {e}", M::NAME)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::config::DaemonConfig;
    use crate::ipc::connection::Client;
    use tokio_util::sync::CancellationToken;

    /// Every listed name is dispatched (bad params, not `method_not_found`), and an unknown
    /// one is not.
    #[tokio::test]
    async fn every_name_in_the_table_is_dispatched() {
        let daemon = Daemon::new(DaemonConfig::default());
        let (client, _lines) = Client::detached(1, CancellationToken::new());
        let mut bogus = Map::new();
        bogus.insert("no_such_member".into(), Value::Bool(true));
        for name in api::NAMES {
            let outcome = call(&daemon, &client, name, None, bogus.clone()).await;
            let error = outcome.err().expect("bogus params are refused");
            assert_eq!(error.code, "invalid_params", "{name}: {error}");
            assert!(error.message.starts_with(name), "{name}: {error}");
        }
        let error = call(&daemon, &client, "no.such", None, Map::new())
            .await
            .err()
            .unwrap();
        assert_eq!(error.code, "method_not_found");
    }
}
