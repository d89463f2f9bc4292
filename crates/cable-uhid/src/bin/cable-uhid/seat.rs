//! Where the active user comes from: logind's seat0, or the configured `--user`.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cable_uhid::policy::ActiveUser;
use thiserror::Error;
use tokio::process::Command;

/// How long one loginctl call may take before we call the user unknown (and refuse).
const LOGINCTL_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub enum Seat {
    /// `--user`: this uid is always the one at the seat.
    Fixed(u32),
    /// Ask logind about seat0 each time, with this loginctl.
    Logind {
        loginctl: PathBuf,
        last: Arc<tokio::sync::Mutex<Option<(Instant, ActiveUser)>>>,
    },
}

#[derive(Debug, Error)]
pub enum SeatError {
    #[error("no user named {0:?} on this machine (give a name from /etc/passwd or a numeric uid)")]
    NoSuchUser(String),
    #[error("logind is not running here (no /run/systemd/seats), so cable-uhid cannot tell who sits at the machine: pass --user NAME|UID")]
    NoLogind,
}

impl Seat {
    /// `--user` wins when given: an explicit pin is what the administrator asked for. A
    /// `loginctl` path given (tests: a fake one) means logind even where none runs.
    pub fn choose(user: Option<&str>, loginctl: Option<PathBuf>) -> Result<Seat, SeatError> {
        match (user, loginctl) {
            (Some(u), _) => resolve_user(u).map(Seat::Fixed),
            (None, Some(loginctl)) => Ok(Seat::logind(loginctl)),
            (None, None) if Path::new("/run/systemd/seats").is_dir() => {
                Ok(Seat::logind("loginctl".into()))
            }
            (None, None) => Err(SeatError::NoLogind),
        }
    }

    fn logind(loginctl: PathBuf) -> Seat {
        Seat::Logind {
            loginctl,
            last: Default::default(),
        }
    }

    /// The active user as of a moment after this call began. Callers that wait together
    /// share one loginctl run (any local user can connect, so a flood of connections must
    /// not become a flood of processes).
    pub async fn active_user(&self) -> ActiveUser {
        match self {
            Seat::Fixed(uid) => ActiveUser::Uid(*uid),
            Seat::Logind { loginctl, last } => {
                let asked = Instant::now();
                let mut last = last.lock().await;
                if let Some((started, answer)) = &*last {
                    if *started >= asked {
                        return answer.clone();
                    }
                }
                let started = Instant::now();
                let answer = logind_active_user(loginctl).await;
                *last = Some((started, answer.clone()));
                answer
            }
        }
    }

    /// For the startup log line.
    pub fn describe(&self) -> String {
        match self {
            Seat::Fixed(uid) => format!("uid {uid} (--user)"),
            Seat::Logind { loginctl, .. } => {
                format!("the active user of seat0 ({})", loginctl.display())
            }
        }
    }

    /// Whether the answer can change while a cabled is attached (then it is re-checked).
    pub fn changes(&self) -> bool {
        matches!(self, Seat::Logind { .. })
    }
}

fn resolve_user(u: &str) -> Result<u32, SeatError> {
    if let Ok(uid) = u.parse::<u32>() {
        return Ok(uid);
    }
    let name = CString::new(u).map_err(|_| SeatError::NoSuchUser(u.into()))?;
    // SAFETY: passwd is plain old data; getpwnam_r fills it and points into buf.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; buf outlives it.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(SeatError::NoSuchUser(u.into()));
    }
    Ok(pw.pw_uid)
}

async fn loginctl(program: &Path, args: &[&str]) -> Result<String, String> {
    let run = Command::new(program).args(args).kill_on_drop(true).output();
    let out = match tokio::time::timeout(LOGINCTL_TIMEOUT, run).await {
        Err(_) => return Err("loginctl did not answer within 3 s".into()),
        Ok(Err(e)) => return Err(format!("cannot run {}: {e}", program.display())),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "loginctl {} failed: {}",
            args.join(" "),
            err.trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn logind_active_user(program: &Path) -> ActiveUser {
    let session = match loginctl(
        program,
        &["show-seat", "seat0", "-p", "ActiveSession", "--value"],
    )
    .await
    {
        Ok(s) => s,
        Err(why) => return ActiveUser::Unknown(why),
    };
    if session.is_empty() {
        return ActiveUser::NoActiveSession;
    }
    match loginctl(
        program,
        &["show-session", &session, "-p", "User", "--value"],
    )
    .await
    {
        Ok(uid) => match uid.parse() {
            Ok(uid) => ActiveUser::Uid(uid),
            Err(_) => ActiveUser::Unknown(format!(
                "logind gave {uid:?} as the user of session {session}"
            )),
        },
        Err(why) => ActiveUser::Unknown(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_names_or_uids() {
        assert_eq!(resolve_user("1234").unwrap(), 1234);
        assert_eq!(resolve_user("root").unwrap(), 0);
        assert!(matches!(
            resolve_user("no-such-user-here"),
            Err(SeatError::NoSuchUser(_))
        ));
    }
}
