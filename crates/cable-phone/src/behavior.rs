//! How the person holding the software phone acts, and how a test makes the phone misbehave.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the person does when the phone asks them to approve a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserChoice {
    /// Approves (presence and verification: a phone always verifies for passkeys).
    #[default]
    Approve,
    /// Cancels on the phone. What the desktop then sees depends on the profile
    /// ([`crate::PhoneProfile::cancel_style`]): Android answers `CTAP2_ERR_OPERATION_DENIED`,
    /// iOS closes the tunnel.
    Deny,
    /// Never answers: the phone gives up and closes the tunnel without a CTAP reply, whatever
    /// the profile (a person who walked away, an app that was swiped away).
    NoAnswer,
}

/// A point of the session after which a test phone can vanish (close its socket abruptly,
/// without a close handshake and without a shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The tunnel is open and the advert went out once; the desktop's handshake never gets an
    /// answer because the phone is gone before it arrives. (Only the async runner has this
    /// stage: a [`crate::PhoneChannel`] starts after it.)
    Advertised,
    /// The desktop's handshake message arrived; no answer is sent.
    HandshakeReceived,
    /// The handshake answer was sent; the post-handshake message never follows.
    HandshakeSent,
    /// The post-handshake (and update) messages were sent; no request is ever read.
    PostHandshakeSent,
    /// A makeCredential/getAssertion request arrived; it is never answered.
    RequestReceived,
    /// The CTAP answer was sent; the phone leaves without waiting for the shutdown.
    ResponseSent,
}

impl Stage {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Advertised => "after advertising, before the desktop's handshake",
            Self::HandshakeReceived => "after receiving the desktop's handshake, without answering",
            Self::HandshakeSent => "after answering the handshake",
            Self::PostHandshakeSent => "after sending the post-handshake message",
            Self::RequestReceived => "after receiving the CTAP request, without answering",
            Self::ResponseSent => "after sending the CTAP response",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How the software phone behaves in one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneBehavior {
    /// The person's answer to the approval prompt.
    pub user: UserChoice,
    /// How long the person takes to answer a prompt (applied by the async runner; the sans-IO
    /// channel reports [`crate::PhoneEvent::UserPrompted`] so its driver knows when).
    pub answer_delay: Duration,
    /// If set, the phone disappears after this stage (for tests of desktop timeouts).
    pub vanish_after: Option<Stage>,
}

impl Default for PhoneBehavior {
    fn default() -> Self {
        Self::approve()
    }
}

impl PhoneBehavior {
    /// Approves at once and never vanishes.
    pub fn approve() -> Self {
        Self {
            user: UserChoice::Approve,
            answer_delay: Duration::ZERO,
            vanish_after: None,
        }
    }

    /// Cancels at once.
    pub fn deny() -> Self {
        Self::approve().with_user(UserChoice::Deny)
    }

    pub fn with_user(mut self, user: UserChoice) -> Self {
        self.user = user;
        self
    }

    pub fn with_answer_delay(mut self, delay: Duration) -> Self {
        self.answer_delay = delay;
        self
    }

    pub fn vanishing_after(mut self, stage: Stage) -> Self {
        self.vanish_after = Some(stage);
        self
    }

    /// True if the phone should vanish right after `stage`.
    pub(crate) fn vanishes_after(&self, stage: Stage) -> bool {
        self.vanish_after == Some(stage)
    }
}
