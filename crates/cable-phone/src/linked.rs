//! The software phone waiting to be woken for linked sessions (HYBRID.md §9.6, §13.4): the
//! tokio adapter around [`crate::wakeup`] and the shared [`Session`].
//!
//! It registers its contact ID with the local tunnel server's push stand-in and, for each
//! wake-up, re-reads the state file, finds the link the desktop named, joins the tunnel with
//! `connect`, advertises the link's EID on the virtual radio and answers the desktop's NKpsk0
//! handshake and CTAP request. Wake-ups that cannot be read or name a link this phone never
//! gave out are ignored (a real phone shows nothing either). Sessions run one at a time; a
//! wake-up arriving meanwhile waits on the server.

use std::time::{Duration, Instant};

use cable_tunnel::client::TunnelRequest;
use cable_tunnel::connect_url;
use rand_core::OsRng;
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::events::PhoneEvent;
use crate::linking::LinkIdentity;
use crate::push::{push_url, redact, PushSocket};
use crate::report::{RunFacts, SessionFlow};
use crate::runner::{advertise, linking_identity, open_tunnel, unix_now, Session, SessionSettings};
use crate::store_file::{load_state, update_state};
use crate::wakeup::{answer_wake_up, LinkedStart, WakeUp};
use crate::{LinkedConfig, PhoneError, PhoneProfile, PhoneReport, Result};

/// What a waiting phone reports as it goes (see [`run_linked_with_events`]).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LinkedEvent {
    /// The phone is registered for wake-ups: desktops holding one of its links can reach it.
    Registered {
        /// The push URL, with the contact ID left out.
        push_url: String,
        /// Links the phone has given out so far.
        links: usize,
    },
    /// A wake-up was ignored; `code` is the [`PhoneError::code`] of the reason.
    WakeUpIgnored { code: &'static str, reason: String },
    /// A woken session ended.
    SessionFinished { report: Box<PhoneReport> },
    /// A woken session failed.
    SessionFailed { code: &'static str, reason: String },
}

/// Waits to be woken for linked sessions, as configured: with `config.once`, until the first
/// session for a known link ends, returning its report or error; otherwise until the
/// registration ends or `config.wake_wait` passes without a wake-up, returning the last
/// session's report (or why it stopped, if it served none).
///
/// The state file is created with a linking identity if it has none, so the phone can register.
pub async fn run_linked(config: LinkedConfig) -> Result<PhoneReport> {
    run_linked_with_events(config, None).await
}

/// [`run_linked`], sending every [`LinkedEvent`] to `events` (for a command line printing
/// them, or a test waiting for the registration).
pub async fn run_linked_with_events(
    config: LinkedConfig,
    events: Option<UnboundedSender<LinkedEvent>>,
) -> Result<PhoneReport> {
    let notify = |event: LinkedEvent| {
        if let Some(events) = &events {
            let _ = events.send(event);
        }
    };
    let path = &config.store_path;
    let mut state = load_state(path)?;
    let identity = linking_identity(path, &mut state, &config.phone_name)?;
    let links = state.linking.as_ref().map_or(0, |l| l.links.len());
    let url = push_url(&config.tunnel, identity.contact_id())?;
    let mut push = PushSocket::register(&url, config.timeouts.tunnel_connect).await?;
    tracing::info!(push = %redact(&url), links, "phone: registered for wake-ups");
    notify(LinkedEvent::Registered {
        push_url: redact(&url),
        links,
    });

    let result = serve(&config, &identity, &mut push, &notify).await;
    push.close().await;
    result
}

async fn serve(
    config: &LinkedConfig,
    identity: &LinkIdentity,
    push: &mut PushSocket,
    notify: &impl Fn(LinkedEvent),
) -> Result<PhoneReport> {
    let mut last = None;
    loop {
        let text = match next_wake_up(push, config.wake_wait).await {
            Ok(text) => text,
            Err(e) => return last.ok_or(e),
        };
        let start = match accept(config, identity, &text) {
            Ok(start) => start,
            Err(Decision::Ignore(e)) => {
                match &e {
                    // Its text quotes the link ID, which stays out of logs.
                    PhoneError::UnknownLink { .. } => tracing::warn!(
                        "phone: wake-up ignored: a desktop asked for a link this phone never \
                         gave out (or has forgotten)"
                    ),
                    _ => tracing::warn!(error = %e, "phone: wake-up ignored"),
                }
                notify(LinkedEvent::WakeUpIgnored {
                    code: e.code(),
                    reason: e.to_string(),
                });
                continue;
            }
            Err(Decision::Fail(e)) => {
                notify(failed(&e));
                if config.once {
                    return Err(e);
                }
                continue;
            }
        };
        let total = config.timeouts.total;
        let result = match tokio::time::timeout(total, session(config, start)).await {
            Ok(result) => result,
            Err(_) => Err(PhoneError::TotalTimeout(total)),
        };
        match result {
            Ok(report) => {
                // The report names the link; the caller prints it, the log does not.
                tracing::info!("phone: linked session ended");
                notify(LinkedEvent::SessionFinished {
                    report: Box::new(report.clone()),
                });
                if config.once {
                    return Ok(report);
                }
                last = Some(report);
            }
            Err(e) => {
                tracing::warn!(error = %e, "phone: linked session failed");
                notify(failed(&e));
                if config.once {
                    return Err(e);
                }
            }
        }
    }
}

fn failed(e: &PhoneError) -> LinkedEvent {
    LinkedEvent::SessionFailed {
        code: e.code(),
        reason: e.to_string(),
    }
}

async fn next_wake_up(push: &mut PushSocket, wait: Option<Duration>) -> Result<String> {
    match wait {
        None => push.next().await,
        Some(limit) => tokio::time::timeout(limit, push.next())
            .await
            .unwrap_or(Err(PhoneError::NoWakeUp { waited: limit })),
    }
}

enum Decision {
    /// Not for this phone, or unreadable: carry on waiting.
    Ignore(PhoneError),
    /// The phone cannot work (its state file is unreadable).
    Fail(PhoneError),
}

/// Reads a wake-up against the state file as it is now.
fn accept(
    config: &LinkedConfig,
    identity: &LinkIdentity,
    text: &str,
) -> std::result::Result<(WakeUp, LinkedStart), Decision> {
    let wake_up = WakeUp::from_push_message(text).map_err(Decision::Ignore)?;
    let state = load_state(&config.store_path).map_err(Decision::Fail)?;
    let linking = match state.linking {
        Some(linking) if linking.identity.contact_id() == identity.contact_id() => linking,
        _ => return Err(Decision::Ignore(PhoneError::IdentityChanged)),
    };
    let start = answer_wake_up(
        &linking,
        state.passkeys,
        &wake_up,
        config.behavior.clone(),
        &mut OsRng,
    )
    .map_err(Decision::Ignore)?;
    Ok((wake_up, start))
}

/// One woken session: join the tunnel, advertise, answer.
async fn session(
    config: &LinkedConfig,
    (wake_up, start): (WakeUp, LinkedStart),
) -> Result<PhoneReport> {
    let started = Instant::now();
    let link_id = start.link_id;
    // No link ID: with the contact ID it names the desktop's link, and logs hold no secrets.
    tracing::info!(
        routing_id = %hex::encode_upper(wake_up.routing_id),
        request_type = %start.request_type,
        "phone: a desktop asked for a link; woken for a linked session"
    );
    let url = connect_url(&config.tunnel, &wake_up.routing_id, &wake_up.tunnel_id)
        .map_err(PhoneError::InvalidTunnelUrl)?;
    let request = TunnelRequest::Connect {
        routing_id: wake_up.routing_id,
        tunnel_id: wake_up.tunnel_id,
    };
    let socket = open_tunnel(
        request,
        &config.tunnel,
        config.timeouts.tunnel_connect,
        &url,
    )
    .await?;
    let profile = PhoneProfile::Android;
    let uuid = profile.advert_uuid();
    let advertiser = advertise(
        config.radio_target,
        uuid,
        start.service_data.to_vec(),
        config.advert_interval,
    )
    .await?;

    let facts = RunFacts {
        flow: SessionFlow::Linked,
        profile,
        tunnel_url: url,
        routing_id: wake_up.routing_id,
        advert_uuid: uuid,
        tunnel_domain_id: start.eid.tunnel_domain_id,
        radio_target: config.radio_target,
        request_type_hint: Some(start.request_type),
        linking_offered: false,
        link_id: Some(link_id),
    };
    let settings = SessionSettings {
        behavior: config.behavior.clone(),
        timeouts: config.timeouts,
        advert_interval: config.advert_interval,
        store_path: Some(config.store_path.clone()),
        link_contact_id: None,
    };
    let mut session = Session::new(socket, start.channel, advertiser, &settings);
    let result = session.run().await;
    let reached = session
        .events()
        .iter()
        .any(|e| matches!(e, PhoneEvent::HandshakeCompleted));
    if reached {
        let marked = update_state(&config.store_path, |state| {
            state
                .linking
                .as_mut()
                .is_some_and(|l| l.mark_used(&link_id, unix_now()))
        });
        if let Err(e) = marked {
            tracing::warn!(error = %e, "phone: cannot note when the link was used");
        }
    }
    result?;
    Ok(session.into_report(facts, started.elapsed()))
}
