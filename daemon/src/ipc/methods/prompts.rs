//! `prompts.subscribe` and `prompts.pick`: the prompt agent's methods.

use crate::ipc::api::{PickParams, Picked, Subscribed};
use crate::ipc::connection::Client;
use crate::ipc::error::RpcError;
use crate::ipc::prompts::PickError;
use crate::ipc::server::Daemon;
use std::sync::Arc;

pub fn subscribe(daemon: &Arc<Daemon>, client: &Arc<Client>) -> Subscribed {
    let open = daemon.prompts.subscribe(client.id, client.out.clone());
    tracing::info!(client = client.id, open, "prompt agent subscribed");
    Subscribed {
        subscribed: true,
        open,
    }
}

pub fn pick(daemon: &Arc<Daemon>, client: &Arc<Client>, p: PickParams) -> Result<Picked, RpcError> {
    daemon.require_hybrid()?;
    if p.device.is_empty() {
        return Err(RpcError::invalid_params(
            "prompts.pick: \"device\" must not be empty",
        ));
    }
    // The same resolution as a `device` param: a unique prefix of a linked phone's id.
    let route = super::session::route(daemon, Some(p.device), None)?;
    let crate::engine::Route::Device(device) = route else {
        return Err(RpcError::internal(
            "prompts.pick: a device route was expected",
        ));
    };
    match daemon.prompts.pick(client.id, &p.session, device.clone()) {
        Ok(()) => Ok(Picked {
            session: p.session,
            device,
        }),
        Err(PickError::NotAgent) => Err(RpcError::invalid_params(
            "prompts.pick: this connection is not a prompt agent; call prompts.subscribe first",
        )),
        Err(PickError::NoSuchPrompt) => Err(RpcError::session_not_found(&p.session)),
    }
}
