//! A whole WebAuthn ceremony over hybrid: Level 3 JSON options in, Level 3 JSON credential out.

use crate::engine::error::{RequestProblem, ResponseProblem, SessionError};
use crate::engine::links::Route;
use crate::engine::race::establish;
use crate::engine::session::{Ctx, Established};
use cable_ctap::webauthn_json::{
    PendingAuthentication, PendingRegistration, PublicKeyCredentialCreationOptionsJSON,
    PublicKeyCredentialRequestOptionsJSON,
};
use cable_ctap::{
    canonical_origin, client_data_hash, client_data_json_embedded, CborMessage, ClientDataType,
    CtapError, CtapStatus, Embedding, GetInfoResponse,
};
use cable_qr::RequestType;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// What the caller asks for; `options` is the WebAuthn Level 3 JSON form
/// (`PublicKeyCredentialCreationOptionsJSON` / `PublicKeyCredentialRequestOptionsJSON`).
#[derive(Debug, Clone)]
pub enum WebAuthnRequest {
    Create { origin: String, options: Value },
    Get { origin: String, options: Value },
}

enum Pending {
    Registration(Box<PendingRegistration>),
    Authentication(Box<PendingAuthentication>),
}

impl Pending {
    /// Validates the options and builds the CTAP request before anything is shown. A caller
    /// in a cross-origin iframe gives the top-level page's origin: the client data then says
    /// `"crossOrigin":true,"topOrigin":…` (WebAuthn L3 §5.8.1), and the RP ID is still
    /// checked against the caller's own origin.
    fn prepare(request: WebAuthnRequest, top_origin: Option<&str>) -> Result<Self, SessionError> {
        let json = |e: serde_json::Error| {
            SessionError::InvalidRequest(RequestProblem::Options(std::sync::Arc::new(e)))
        };
        let rule = |e| SessionError::InvalidRequest(RequestProblem::WebAuthn(e));
        match request {
            WebAuthnRequest::Create { origin, options } => {
                let options: PublicKeyCredentialCreationOptionsJSON =
                    serde_json::from_value(options).map_err(json)?;
                let mut pending = options.to_ctap(&origin).map_err(rule)?;
                if let Some(top) = top_origin {
                    pending.client_data_json =
                        cross_origin(ClientDataType::Create, &options.challenge.0, &origin, top)
                            .map_err(rule)?;
                    pending.request.client_data_hash = client_data_hash(&pending.client_data_json);
                }
                Ok(Self::Registration(Box::new(pending)))
            }
            WebAuthnRequest::Get { origin, options } => {
                let options: PublicKeyCredentialRequestOptionsJSON =
                    serde_json::from_value(options).map_err(json)?;
                let mut pending = options.to_ctap(&origin).map_err(rule)?;
                if let Some(top) = top_origin {
                    pending.client_data_json =
                        cross_origin(ClientDataType::Get, &options.challenge.0, &origin, top)
                            .map_err(rule)?;
                    pending.request.client_data_hash = client_data_hash(&pending.client_data_json);
                }
                Ok(Self::Authentication(Box::new(pending)))
            }
        }
    }

    fn request_type(&self) -> RequestType {
        match self {
            Self::Registration(_) => RequestType::MakeCredential,
            Self::Authentication(_) => RequestType::GetAssertion,
        }
    }

    /// Adapts to the phone's getInfo, sends the request, turns the answer into JSON.
    async fn exchange(&mut self, session: &mut Established) -> Result<Value, SessionError> {
        let info = session.ctap(&[0x04]).await?;
        let info = GetInfoResponse::from_cbor(info.get(1..).unwrap_or_default())
            .map_err(|e| SessionError::BadResponse(ResponseProblem::GetInfo(e)))?;
        let bad = |e| SessionError::BadResponse(ResponseProblem::Ctap(e));
        let request = match self {
            Self::Registration(p) => {
                p.adapt_to(&info)
                    .map_err(|e| SessionError::InvalidRequest(RequestProblem::WebAuthn(e)))?;
                p.command().encode()
            }
            Self::Authentication(p) => {
                p.adapt_to(&info);
                p.command().encode()
            }
        };
        let response = session.ctap(&request).await?;
        let status = CtapStatus::from_u8(response.first().copied().unwrap_or(0xff));
        if !status.is_ok() {
            return Err(SessionError::Phone(status));
        }
        let json = match self {
            Self::Registration(p) => serde_json::to_value(p.finish_bytes(&response).map_err(bad)?),
            Self::Authentication(p) => {
                serde_json::to_value(p.finish_bytes(&response).map_err(bad)?)
            }
        };
        json.map_err(|e| SessionError::BadResponse(ResponseProblem::Json(std::sync::Arc::new(e))))
    }
}

/// The client data of a call from a cross-origin iframe of `top_origin`, both origins in
/// canonical form. The top-level page must itself be a secure origin (https or localhost).
fn cross_origin(
    ty: ClientDataType,
    challenge: &[u8],
    origin: &str,
    top_origin: &str,
) -> Result<Vec<u8>, CtapError> {
    let origin = canonical_origin(origin)?;
    let top = canonical_origin(top_origin)?;
    let embedding = Embedding::CrossOrigin {
        top_origin: Some(&top),
    };
    Ok(client_data_json_embedded(ty, challenge, &origin, embedding))
}

/// `top_origin`: the top-level page's origin when the caller is a cross-origin iframe.
pub(crate) async fn run(
    ctx: Ctx,
    route: Route,
    request: WebAuthnRequest,
    top_origin: Option<String>,
    cancel: CancellationToken,
) -> Result<Value, SessionError> {
    let mut pending = Pending::prepare(request, top_origin.as_deref())?;
    let background = ctx.config.link_wait_in_background;
    let mut session = establish(ctx, route, pending.request_type(), cancel).await?;
    match pending.exchange(&mut session).await {
        Ok(credential) => {
            if background {
                tokio::spawn(session.finish());
            } else {
                session.finish().await;
            }
            Ok(credential)
        }
        Err(e) => {
            session.abort().await;
            Err(e)
        }
    }
}
