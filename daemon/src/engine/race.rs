//! Reaching the phone: the QR code and every linked phone are tried at once, as browsers do;
//! the first path whose channel opens wins and the others are cancelled (each cancelled path
//! that had opened a tunnel sends the phone shutdown).

use crate::engine::error::{RequestProblem, SessionError};
use crate::engine::events::EventKind;
use crate::engine::links::{Route, StoredLink};
use crate::engine::session::{establish_linked, establish_qr, show_qr, Ctx, Established};
use cable_qr::RequestType;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

type PathResult = (Option<String>, Result<Established, SessionError>);

pub(crate) async fn establish(
    ctx: Ctx,
    route: Route,
    request_type: RequestType,
    cancel: CancellationToken,
) -> Result<Established, SessionError> {
    let links = candidates(&ctx, &route)?;
    // One token per path, so the winner's survives when the others are cancelled.
    let mut tokens: Vec<(Option<String>, CancellationToken)> = Vec::new();
    let mut set: JoinSet<PathResult> = JoinSet::new();
    if !matches!(route, Route::Device(_)) {
        // Shown before any linked phone is contacted, so `qr` is always the first event.
        let shown = show_qr(&ctx, request_type).await?;
        let (ctx, token) = (ctx.clone(), cancel.child_token());
        tokens.push((None, token.clone()));
        set.spawn(async move { (None, establish_qr(ctx, shown, token).await) });
    }
    for link in links {
        let (ctx, token) = (ctx.clone(), cancel.child_token());
        let device = Some(link.id.clone());
        tokens.push((device.clone(), token.clone()));
        set.spawn(async move {
            (
                device,
                establish_linked(ctx, link, request_type, token).await,
            )
        });
    }

    let mut qr_error = None;
    let mut link_error = None;
    while let Some(joined) = set.join_next().await {
        let (device, result) = joined.unwrap_or_else(|e| {
            let failure = SessionError::Internal(format!("a session path failed: {e}"));
            (None, Err(failure))
        });
        match result {
            Ok(winner) => {
                for (_, token) in tokens.iter().filter(|(path, _)| *path != device) {
                    token.cancel();
                }
                close_losers(&mut set).await;
                announce(&ctx, device.as_deref());
                return Ok(winner);
            }
            Err(e) => match device {
                None => qr_error = Some(e),
                Some(device) => {
                    link_failed(&ctx, &device, &e);
                    link_error = Some(e);
                }
            },
        }
    }
    Err(qr_error
        .or(link_error)
        .unwrap_or(SessionError::InvalidRequest(RequestProblem::NoRoute)))
}

fn candidates(ctx: &Ctx, route: &Route) -> Result<Vec<StoredLink>, SessionError> {
    let all = || match &ctx.book {
        None => Ok(Vec::new()),
        Some(book) => book.links().map_err(SessionError::DeviceStore),
    };
    match route {
        Route::QrOnly => Ok(Vec::new()),
        // A broken store must not stop a QR sign-in: say so and go on without links.
        Route::Any => Ok(all().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "linked phones unavailable");
            Vec::new()
        })),
        Route::Device(id) => {
            let wanted = id.to_ascii_lowercase();
            let matching: Vec<StoredLink> = all()?
                .into_iter()
                .filter(|l| l.id.to_ascii_lowercase().starts_with(&wanted))
                .collect();
            match matching.len() {
                1 => Ok(matching),
                0 => Err(SessionError::InvalidRequest(RequestProblem::UnknownDevice(
                    id.clone(),
                ))),
                _ => Err(SessionError::InvalidRequest(
                    RequestProblem::AmbiguousDevice(id.clone()),
                )),
            }
        }
    }
}

/// Paths that lost: any that opened a channel meanwhile is shut down properly.
async fn close_losers(set: &mut JoinSet<PathResult>) {
    while let Some(joined) = set.join_next().await {
        if let Ok((_, Ok(mut late))) = joined {
            late.abort().await;
        }
    }
}

fn announce(ctx: &Ctx, device: Option<&str>) {
    if let (Some(device), Some(book)) = (device, &ctx.book) {
        book.touch(device);
    }
    ctx.events.emit(EventKind::Path {
        path: if device.is_some() { "linked" } else { "qr" }.into(),
        device: device.map(str::to_string),
    });
}

/// 410 Gone means the phone withdrew the link for good: forget it (HYBRID.md §5.3).
fn link_failed(ctx: &Ctx, device: &str, error: &SessionError) {
    if matches!(error, SessionError::Cancelled) {
        return;
    }
    let gone = error.is_link_gone();
    let forgotten = gone
        && ctx
            .book
            .as_ref()
            .is_some_and(|b| b.forget(device).unwrap_or(false));
    ctx.events.emit(EventKind::LinkFailed {
        device: device.to_string(),
        code: error.code().to_string(),
        message: error.to_string(),
        forgotten,
    });
}
