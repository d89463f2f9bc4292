//! Who may attach: the one decision of cable-uhid, kept pure so it is tested with any uids.
//!
//! The device is a security key of the person at the seat. So the only cabled accepted is one
//! running as the user of the seat's active session (logind), or, where there is no logind,
//! the user named in the configuration. One cabled is attached at a time:
//!
//! * a newcomer of **another** user who is now the active user replaces the attached one
//!   (fast user switching: the person who switched in gets the key; the previous user's
//!   cabled is told why and its device destroyed first);
//! * a newcomer of the **same** user is refused while one is attached: two cabled of one
//!   user would fight over the phone, and the attached one keeps working. A cabled that
//!   restarts is not hurt: the old connection closed when the old process died.
//!
//! An attached cabled whose user stops being the active one is dropped (checked periodically
//! by the binary with [`admit`] again), so a switched-away session never hears the new
//! user's requests.

use std::fmt;

/// Whose key the device is right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveUser {
    /// The user of the active session on the seat, or the configured user.
    Uid(u32),
    /// logind runs but nobody is in front of the seat (greeter, locked to no one, remote only).
    NoActiveSession,
    /// logind could not be asked; the text says why.
    Unknown(String),
}

/// What to do with a connecting (or, on a re-check, an attached) cabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Accept,
    /// Accept, after dropping the attached cabled of `previous_uid`.
    Replace {
        previous_uid: u32,
    },
    Refuse(Refusal),
}

/// Why a cabled was refused or dropped. Display is the text sent in REFUSED and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotActiveUser {
        peer_uid: u32,
        active_uid: u32,
    },
    NoActiveSession {
        peer_uid: u32,
    },
    ActiveUserUnknown {
        peer_uid: u32,
        why: String,
    },
    AlreadyAttached {
        uid: u32,
    },
    /// Sent to the attached cabled when the active user's cabled replaces it.
    Replaced {
        by_uid: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotActiveUser { peer_uid, active_uid } => write!(
                f,
                "uid {peer_uid} is not the user of the active session on this seat (uid {active_uid} is); \
                 the security key belongs to whoever is at the seat"
            ),
            Refusal::NoActiveSession { peer_uid } => write!(
                f,
                "no session is active on seat0, so no one (uid {peer_uid} included) may use the security key; \
                 try again once you are logged in at the seat"
            ),
            Refusal::ActiveUserUnknown { peer_uid, why } => write!(
                f,
                "cannot tell whether uid {peer_uid} is the active user ({why}); \
                 if this machine has no logind, start cable-uhid with --user"
            ),
            Refusal::AlreadyAttached { uid } => write!(
                f,
                "another cabled of uid {uid} is already attached; stop it first (one cabled per seat)"
            ),
            Refusal::Replaced { by_uid } => write!(
                f,
                "the seat switched to uid {by_uid}, whose cabled now has the security key"
            ),
        }
    }
}

/// Decides for a cabled running as `peer_uid`, with `attached` the uid of the cabled that
/// holds the device now (`None` when none does, or when re-checking the attached one itself).
pub fn admit(peer_uid: u32, active: &ActiveUser, attached: Option<u32>) -> Admission {
    match active {
        ActiveUser::Uid(active_uid) if *active_uid != peer_uid => {
            Admission::Refuse(Refusal::NotActiveUser {
                peer_uid,
                active_uid: *active_uid,
            })
        }
        ActiveUser::Uid(_) => match attached {
            None => Admission::Accept,
            Some(uid) if uid == peer_uid => Admission::Refuse(Refusal::AlreadyAttached { uid }),
            Some(previous_uid) => Admission::Replace { previous_uid },
        },
        ActiveUser::NoActiveSession => Admission::Refuse(Refusal::NoActiveSession { peer_uid }),
        ActiveUser::Unknown(why) => Admission::Refuse(Refusal::ActiveUserUnknown {
            peer_uid,
            why: why.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_active_user_gets_in() {
        assert_eq!(admit(1000, &ActiveUser::Uid(1000), None), Admission::Accept);
        assert_eq!(
            admit(1001, &ActiveUser::Uid(1000), None),
            Admission::Refuse(Refusal::NotActiveUser {
                peer_uid: 1001,
                active_uid: 1000
            })
        );
        // Root is not special: it is refused unless root is the one at the seat.
        assert!(matches!(
            admit(0, &ActiveUser::Uid(1000), None),
            Admission::Refuse(_)
        ));
    }

    #[test]
    fn fast_user_switching_replaces_and_duplicates_are_refused() {
        assert_eq!(
            admit(1001, &ActiveUser::Uid(1001), Some(1000)),
            Admission::Replace { previous_uid: 1000 }
        );
        assert_eq!(
            admit(1000, &ActiveUser::Uid(1000), Some(1000)),
            Admission::Refuse(Refusal::AlreadyAttached { uid: 1000 })
        );
        // The switched-away user cannot take it back while not active.
        assert!(matches!(
            admit(1000, &ActiveUser::Uid(1001), Some(1001)),
            Admission::Refuse(Refusal::NotActiveUser { .. })
        ));
    }

    #[test]
    fn no_or_unknown_session_refuses_with_a_reason() {
        let r = admit(1000, &ActiveUser::NoActiveSession, None);
        assert_eq!(
            r,
            Admission::Refuse(Refusal::NoActiveSession { peer_uid: 1000 })
        );
        let Admission::Refuse(why) =
            admit(1000, &ActiveUser::Unknown("loginctl failed".into()), None)
        else {
            panic!("accepted without knowing the user");
        };
        let text = why.to_string();
        assert!(
            text.contains("loginctl failed") && text.contains("--user"),
            "{text}"
        );
    }
}
