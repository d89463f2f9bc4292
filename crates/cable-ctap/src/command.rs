//! Framing of CTAP messages inside a hybrid CTAP frame (HYBRID.md §7.5, §8): a request is
//! `command || canonical CBOR`, a response is `status || CBOR`.

use crate::entities::CborMessage;
use crate::error::CtapError;
use crate::get_assertion::GetAssertionRequest;
use crate::make_credential::MakeCredentialRequest;
use crate::status::CtapStatus;
use crate::Result;

/// CTAP2 command bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CommandCode {
    MakeCredential = 0x01,
    GetAssertion = 0x02,
    GetInfo = 0x04,
    GetNextAssertion = 0x08,
    /// authenticatorSelection; Chrome-Android ends the transaction after it.
    Selection = 0x0B,
}

impl CommandCode {
    pub fn from_u8(byte: u8) -> Option<Self> {
        Some(match byte {
            0x01 => Self::MakeCredential,
            0x02 => Self::GetAssertion,
            0x04 => Self::GetInfo,
            0x08 => Self::GetNextAssertion,
            0x0B => Self::Selection,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MakeCredential => "authenticatorMakeCredential",
            Self::GetAssertion => "authenticatorGetAssertion",
            Self::GetInfo => "authenticatorGetInfo",
            Self::GetNextAssertion => "authenticatorGetNextAssertion",
            Self::Selection => "authenticatorSelection",
        }
    }
}

/// A CTAP2 request.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    MakeCredential(MakeCredentialRequest),
    GetAssertion(GetAssertionRequest),
    GetInfo,
    GetNextAssertion,
    Selection,
}

impl Command {
    pub fn code(&self) -> CommandCode {
        match self {
            Command::MakeCredential(_) => CommandCode::MakeCredential,
            Command::GetAssertion(_) => CommandCode::GetAssertion,
            Command::GetInfo => CommandCode::GetInfo,
            Command::GetNextAssertion => CommandCode::GetNextAssertion,
            Command::Selection => CommandCode::Selection,
        }
    }

    /// `command || canonical CBOR` (just the command byte for parameterless commands).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.code() as u8];
        match self {
            Command::MakeCredential(r) => out.extend(r.to_cbor()),
            Command::GetAssertion(r) => out.extend(r.to_cbor()),
            Command::GetInfo | Command::GetNextAssertion | Command::Selection => {}
        }
        out
    }

    /// Reads `command || CBOR`. Parameterless commands must carry no bytes after the command.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (&first, rest) = bytes
            .split_first()
            .ok_or(CtapError::Empty("CTAP request"))?;
        let code = CommandCode::from_u8(first).ok_or(CtapError::UnknownCommand(first))?;
        let no_payload = |command| {
            if rest.is_empty() {
                Ok(command)
            } else {
                Err(CtapError::UnexpectedPayload {
                    command: code.name(),
                    len: rest.len(),
                })
            }
        };
        match code {
            CommandCode::MakeCredential => Ok(Command::MakeCredential(
                MakeCredentialRequest::from_cbor(rest)?,
            )),
            CommandCode::GetAssertion => {
                Ok(Command::GetAssertion(GetAssertionRequest::from_cbor(rest)?))
            }
            CommandCode::GetInfo => no_payload(Command::GetInfo),
            CommandCode::GetNextAssertion => no_payload(Command::GetNextAssertion),
            CommandCode::Selection => no_payload(Command::Selection),
        }
    }
}

/// `status || body`: a successful response carrying `body` (CBOR, possibly empty).
pub fn encode_response(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(CtapStatus::Ok.code());
    out.extend_from_slice(body);
    out
}

/// An error response: the status byte alone.
pub fn encode_error(status: CtapStatus) -> Vec<u8> {
    vec![status.code()]
}

/// Splits `status || body` without judging the status.
pub fn split_response(bytes: &[u8]) -> Result<(CtapStatus, &[u8])> {
    let (&status, body) = bytes
        .split_first()
        .ok_or(CtapError::Empty("CTAP response"))?;
    Ok((CtapStatus::from_u8(status), body))
}

/// The body of a successful response; an error status becomes [`CtapError::Status`].
pub fn response_body(bytes: &[u8]) -> Result<&[u8]> {
    match split_response(bytes)? {
        (CtapStatus::Ok, body) => Ok(body),
        (status, _) => Err(CtapError::Status(status)),
    }
}

/// Decodes a whole `status || CBOR` response into message `M`.
pub fn decode_response<M: CborMessage>(bytes: &[u8]) -> Result<M> {
    M::from_cbor(response_body(bytes)?)
}
