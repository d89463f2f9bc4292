//! CTAP2 status bytes the key gives when the phone path fails (CTAP 2.2 §8.2.1).

use crate::engine::SessionError;

pub const OPERATION_DENIED: u8 = 0x27;
pub const KEEPALIVE_CANCEL: u8 = 0x2D;
pub const USER_ACTION_TIMEOUT: u8 = 0x2F;

/// The status a browser expects for a failed phone session: a cancel is the host's
/// KEEPALIVE_CANCEL, a phone that never came is a user-action timeout, anything else is
/// "denied" (browsers show NotAllowedError for each).
pub fn for_failure(e: &SessionError) -> u8 {
    match e.code() {
        "cancelled" => KEEPALIVE_CANCEL,
        "no_phone" | "timeout" => USER_ACTION_TIMEOUT,
        _ => OPERATION_DENIED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_the_statuses_browsers_know() {
        assert_eq!(for_failure(&SessionError::Cancelled), KEEPALIVE_CANCEL);
        let no_phone = SessionError::NoPhone {
            after: std::time::Duration::from_secs(120),
        };
        assert_eq!(for_failure(&no_phone), USER_ACTION_TIMEOUT);
        assert_eq!(
            for_failure(&SessionError::Internal("x".into())),
            OPERATION_DENIED
        );
    }
}
