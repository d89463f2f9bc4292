//! A whole WebAuthn ceremony over hybrid: Level 3 JSON options in, Level 3 JSON credential out.

use crate::engine::error::{RequestProblem, ResponseProblem, SessionError};
use crate::engine::links::Route;
use crate::engine::race::establish;
use crate::engine::session::{Ctx, Established};
use cable_ctap::webauthn_json::{
    PendingAuthentication, PendingRegistration, PublicKeyCredentialCreationOptionsJSON,
    PublicKeyCredentialRequestOptionsJSON,
};
use cable_ctap::{CborMessage, CtapStatus, GetInfoResponse};
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
    /// Validates the options and builds the CTAP request before anything is shown.
    fn prepare(request: WebAuthnRequest) -> Result<Self, SessionError> {
        let json = |e: serde_json::Error| {
            SessionError::InvalidRequest(RequestProblem::Options(std::sync::Arc::new(e)))
        };
        let rule = |e| SessionError::InvalidRequest(RequestProblem::WebAuthn(e));
        match request {
            WebAuthnRequest::Create { origin, options } => {
                let options: PublicKeyCredentialCreationOptionsJSON =
                    serde_json::from_value(options).map_err(json)?;
                let pending = options.to_ctap(&origin).map_err(rule)?;
                Ok(Self::Registration(Box::new(pending)))
            }
            WebAuthnRequest::Get { origin, options } => {
                let options: PublicKeyCredentialRequestOptionsJSON =
                    serde_json::from_value(options).map_err(json)?;
                let pending = options.to_ctap(&origin).map_err(rule)?;
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

pub(crate) async fn run(
    ctx: Ctx,
    route: Route,
    request: WebAuthnRequest,
    cancel: CancellationToken,
) -> Result<Value, SessionError> {
    let mut pending = Pending::prepare(request)?;
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
