//! `cablectl history [--json] [--last N]` and `cablectl history show ID`: the redacted
//! timelines of past sessions, from the running cabled (`history.list` / `history.get`) or,
//! when none runs, from the history folder directly (the same files).

use crate::cli::{HistoryArgs, HistoryCommand};
use cabled::engine::advice;
use cabled::history::{HistoryStore, Outcome, SessionRecord, StageKind};
use cabled::ipc::api::{HistoryGet, HistoryGetParams, HistoryList, LastParams};
use cabled::ipc::client::Client;

pub fn run(args: HistoryArgs) -> anyhow::Result<()> {
    let runtime = crate::commands::runtime()?;
    match args.show {
        Some(HistoryCommand::Show { id, json }) => {
            let record = runtime.block_on(one(&id))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&record)?);
            } else {
                print!("{}", timeline(&record));
            }
        }
        None => {
            let records = runtime.block_on(records(args.last))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else if records.is_empty() {
                println!("no sessions recorded yet: they appear here once a sign-in has run");
            } else {
                for record in &records {
                    println!("{}", summary_line(record));
                }
                println!("\n`cablectl history show ID` draws one session's timeline");
            }
        }
    }
    Ok(())
}

/// The newest `last` records (all when `None`), newest first.
pub async fn records(last: Option<usize>) -> anyhow::Result<Vec<SessionRecord>> {
    if let Ok(client) = Client::connect_default().await {
        let listing = client
            .call::<HistoryList>(LastParams { last })
            .await
            .map_err(|e| anyhow::anyhow!("cabled's history: {e} [{}]", e.code()))?;
        if listing.enabled {
            return Ok(listing.sessions);
        }
    }
    let mut records = local()?.list().map_err(|e| anyhow::anyhow!("{e}"))?.records;
    if let Some(n) = last {
        records.truncate(n);
    }
    Ok(records)
}

async fn one(id: &str) -> anyhow::Result<SessionRecord> {
    if let Ok(client) = Client::connect_default().await {
        let answer = client
            .call::<HistoryGet>(HistoryGetParams { id: id.to_string() })
            .await;
        match answer {
            Ok(record) => return Ok(record),
            // The daemon may record no history; the folder may still hold cablectl's.
            Err(e) if e.code() == "history_not_found" => {}
            Err(e) => anyhow::bail!("{e} [{}]", e.code()),
        }
    }
    local()?
        .get(id)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow::anyhow!("no recorded session has the ID {id:?}: see `cablectl history`")
        })
}

fn local() -> anyhow::Result<HistoryStore> {
    let dir = cabled::history::default_dir().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(HistoryStore::reader(dir))
}

/// `3fa2c1d0e9b7  2025-01-02 03:04:05Z  ipc  create  example.com  qr  android  ok  2.3 s`
pub fn summary_line(r: &SessionRecord) -> String {
    let outcome = match &r.error {
        Some(code) => format!("{} ({code})", r.outcome.name()),
        None => r.outcome.name().to_string(),
    };
    format!(
        "{}  {}  {:<12} {:<6} {:<28} {:<7} {:<8} {:<28} {}",
        r.id,
        utc(r.started_unix_ms),
        r.front_door.name(),
        r.operation.name(),
        printable(r.rp_id.as_deref().unwrap_or("-")),
        r.path.map_or("-", |p| p.name()),
        r.phone.as_ref().map_or("-", |p| p.profile.name()),
        outcome,
        seconds(r.duration_ms),
    )
}

/// One session drawn for people: a header, then each stage with when it began and how long
/// the session stayed in it, and the failure with what to do.
pub fn timeline(r: &SessionRecord) -> String {
    let mut out = String::new();
    out.push_str(&format!("session {}  {}\n", r.id, utc(r.started_unix_ms)));
    out.push_str(&format!(
        "  {} {} for {}, path {}\n",
        r.front_door.name(),
        r.operation.name(),
        printable(r.rp_id.as_deref().unwrap_or("(site unknown)")),
        r.path.map_or("none (no phone was reached)", |p| p.name()),
    ));
    if let Some(phone) = &r.phone {
        out.push_str(&format!(
            "  phone: {} (AAGUID {}, {})\n",
            phone.profile.name(),
            phone.aaguid,
            phone.versions.join(", ")
        ));
    }
    out.push_str(&format!(
        "  outcome: {}{} after {}\n\n",
        r.outcome.name(),
        r.error
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default(),
        seconds(r.duration_ms)
    ));
    out.push_str("         at      spent  stage\n");
    let failed_at = failing_stage(r);
    for (i, stage) in r.stages.iter().enumerate() {
        let next = r.stages.get(i + 1).map_or(r.duration_ms, |s| s.t_ms);
        let spent = next.saturating_sub(stage.t_ms);
        let detail = printable(&stage.kind.detail());
        let mark = match (Some(i) == failed_at, r.outcome) {
            (false, _) => "",
            (true, Outcome::Cancelled) => "  <- cancelled here",
            (true, _) => "  <- failed here",
        };
        let line = format!(
            "  {:>9}  {:>9}  {:<18} {detail}{mark}",
            millis(stage.t_ms),
            if matches!(stage.kind, StageKind::Error { .. }) {
                String::new()
            } else {
                millis(spent)
            },
            stage.kind.name(),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if r.stages_dropped > 0 {
        out.push_str(&format!(
            "  ({} stages left out to keep the record small)\n",
            r.stages_dropped
        ));
    }
    if let Some(code) = &r.error {
        out.push_str(&format!("\n  what to do: {}\n", advice(code)));
    }
    out
}

/// The stage the session was in when it failed: the one before its error.
fn failing_stage(r: &SessionRecord) -> Option<usize> {
    r.error.as_ref()?;
    let error = r
        .stages
        .iter()
        .rposition(|s| matches!(s.kind, StageKind::Error { .. }))?;
    error.checked_sub(1)
}

/// Text from a record shown on a terminal: no control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

fn millis(ms: u64) -> String {
    format!("{ms} ms")
}

/// `850 ms`, `12.3 s`.
pub fn seconds(ms: u64) -> String {
    if ms < 1000 {
        millis(ms)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// `2025-01-02 03:04:05Z` for milliseconds since the Unix epoch.
pub fn utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cabled::history::{FrontDoor, Operation, PathTaken, Stage};

    fn stage(kind: StageKind, t_ms: u64) -> Stage {
        Stage { kind, t_ms }
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(utc(1_735_787_045_123), "2025-01-02 03:04:05Z");
    }

    #[test]
    fn the_timeline_shows_time_spent_and_where_it_failed() {
        let record = SessionRecord {
            format: 1,
            id: "3fa2c1d0e9b7".into(),
            started_unix_ms: 1_735_787_045_123,
            front_door: FrontDoor::Ipc,
            operation: Operation::Get,
            rp_id: Some("example.com\u{1b}[2J".into()),
            path: Some(PathTaken::Qr),
            phone: None,
            stages: vec![
                stage(StageKind::Qr, 0),
                stage(
                    StageKind::Scanning {
                        radio: "Bluetooth".into(),
                    },
                    2,
                ),
                stage(
                    StageKind::Error {
                        code: "no_phone".into(),
                    },
                    120_002,
                ),
            ],
            stages_dropped: 0,
            outcome: Outcome::Failed,
            error: Some("no_phone".into()),
            duration_ms: 120_010,
        };
        let text = timeline(&record);
        let scanning = text.lines().find(|l| l.contains("scanning")).unwrap();
        assert!(scanning.contains("120000 ms"), "{text}");
        assert!(scanning.ends_with("<- failed here"), "{text}");
        assert!(text.contains("what to do: scan the QR code"), "{text}");
        assert!(!text.contains('\u{1b}'), "control characters are dropped");
        let line = summary_line(&record);
        assert!(
            line.contains("failed (no_phone)") && line.contains("120.0 s"),
            "{line}"
        );
    }
}
