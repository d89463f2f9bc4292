//! Per-stage metrics over the stored records: how many sessions reached each stage of the
//! flow, how long after the start (median and 90th percentile), by path and by phone, and
//! the most common reasons sessions failed with what to do about each. Computed from the
//! typed records only.

use super::record::{Outcome, SessionRecord, StageKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The stages measured, in flow order: (name in the stats, what reaching it means).
pub const STAGES: [&str; 5] = [
    "advert_seen",
    "tunnel_connected",
    "handshake",
    "phone_ready",
    "ctap_answer",
];

/// How many failure causes are listed.
const TOP_FAILURES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Sessions the figures are computed from.
    pub sessions: usize,
    pub outcomes: OutcomeCounts,
    pub all: GroupStats,
    /// `qr`, `linked`, and `undecided` (failed before either path won, having tried both).
    pub by_path: Vec<GroupStats>,
    /// `android`, `ios`, `unknown` (another AAGUID), `not_reached` (no phone was ready).
    pub by_phone: Vec<GroupStats>,
    /// The most common error codes of failed sessions, most common first.
    pub failures: Vec<FailureCause>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub ok: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub unfinished: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub group: String,
    pub sessions: usize,
    pub ok: usize,
    /// One entry per name in [`STAGES`], in that order.
    pub stages: Vec<StageStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    pub stage: String,
    /// Sessions of the group that reached the stage.
    pub reached: usize,
    /// `reached / sessions`, 0 to 1.
    pub share: f64,
    /// Milliseconds from the session's start, over the sessions that reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureCause {
    pub code: String,
    pub count: usize,
    /// Of the failed sessions.
    pub share: f64,
    /// What to do about it.
    pub fix: String,
}

/// When `record` reached each of [`STAGES`] (first time), in milliseconds from its start.
pub fn reached(record: &SessionRecord) -> [Option<u64>; 5] {
    let mut at = [None; 5];
    let mut operation_sent = false;
    for stage in &record.stages {
        let index = match &stage.kind {
            StageKind::Advert { .. } => Some(0),
            StageKind::TunnelConnected { .. } => Some(1),
            StageKind::Handshake { .. } => Some(2),
            StageKind::PhoneReady { .. } => Some(3),
            StageKind::CtapRequest { command } => {
                // getInfo is answered before the operation; the answer that counts is the
                // operation's.
                operation_sent |= command != "getInfo";
                None
            }
            StageKind::CtapResponse { .. } if operation_sent => Some(4),
            _ => None,
        };
        if let Some(i) = index {
            at[i].get_or_insert(stage.t_ms);
        }
    }
    at
}

pub fn compute(records: &[SessionRecord]) -> Stats {
    let mut outcomes = OutcomeCounts::default();
    for r in records {
        match r.outcome {
            Outcome::Ok => outcomes.ok += 1,
            Outcome::Failed => outcomes.failed += 1,
            Outcome::Cancelled => outcomes.cancelled += 1,
            Outcome::Unfinished => outcomes.unfinished += 1,
        }
    }
    let all: Vec<&SessionRecord> = records.iter().collect();
    let by_path = grouped(records, |r| {
        r.path.map_or("undecided", |p| p.name()).to_string()
    });
    let by_phone = grouped(records, |r| {
        r.phone
            .as_ref()
            .map_or("not_reached", |p| p.profile.name())
            .to_string()
    });
    Stats {
        sessions: records.len(),
        outcomes,
        all: group("all", &all),
        by_path,
        by_phone,
        failures: failures(records),
    }
}

fn grouped(records: &[SessionRecord], key: impl Fn(&SessionRecord) -> String) -> Vec<GroupStats> {
    let mut groups: BTreeMap<String, Vec<&SessionRecord>> = BTreeMap::new();
    for r in records {
        groups.entry(key(r)).or_default().push(r);
    }
    groups
        .iter()
        .map(|(name, members)| group(name, members))
        .collect()
}

fn group(name: &str, records: &[&SessionRecord]) -> GroupStats {
    let times: Vec<[Option<u64>; 5]> = records.iter().map(|r| reached(r)).collect();
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let mut at: Vec<u64> = times.iter().filter_map(|t| t[i]).collect();
            at.sort_unstable();
            StageStats {
                stage: (*stage).to_string(),
                reached: at.len(),
                share: ratio(at.len(), records.len()),
                median_ms: percentile(&at, 50),
                p90_ms: percentile(&at, 90),
            }
        })
        .collect();
    GroupStats {
        group: name.to_string(),
        sessions: records.len(),
        ok: records.iter().filter(|r| r.outcome == Outcome::Ok).count(),
        stages,
    }
}

fn failures(records: &[SessionRecord]) -> Vec<FailureCause> {
    let failed: Vec<&SessionRecord> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &failed {
        *counts
            .entry(r.error.as_deref().unwrap_or("unknown"))
            .or_default() += 1;
    }
    let mut causes: Vec<FailureCause> = counts
        .into_iter()
        .map(|(code, count)| FailureCause {
            code: code.to_string(),
            count,
            share: ratio(count, failed.len()),
            fix: crate::engine::advice(code).to_string(),
        })
        .collect();
    // Most common first; equal counts by code, so the order is stable.
    causes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    causes.truncate(TOP_FAILURES);
    causes
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The nearest-rank percentile of sorted `values`: the smallest value with at least `p`% of
/// the values at or below it.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::*;
    use crate::history::store::tests::record;

    fn stage(kind: StageKind, t_ms: u64) -> Stage {
        Stage { kind, t_ms }
    }

    /// A QR session that reached the phone's answer, with the advert at `advert_ms`.
    fn answered(id: &str, advert_ms: u64, profile: PhoneProfile) -> SessionRecord {
        let mut r = record(id, 1);
        r.phone = Some(PhoneInfo {
            profile,
            aaguid: String::new(),
            versions: vec![],
        });
        r.stages = vec![
            stage(StageKind::Qr, 0),
            stage(
                StageKind::Advert {
                    uuid: "fff9".into(),
                    source: "Virtual".into(),
                    tunnel_domain: "cable.ua5v.com".into(),
                    rssi: None,
                },
                advert_ms,
            ),
            stage(
                StageKind::TunnelConnected { http_status: 101 },
                advert_ms + 10,
            ),
            stage(
                StageKind::Handshake {
                    protocol: "KNpsk0".into(),
                },
                advert_ms + 20,
            ),
            stage(
                StageKind::PhoneReady {
                    versions: vec![],
                    features: vec![],
                    revision: 1,
                },
                advert_ms + 30,
            ),
            stage(
                StageKind::CtapRequest {
                    command: "getInfo".into(),
                },
                advert_ms + 31,
            ),
            stage(
                StageKind::CtapResponse {
                    status: "CTAP2_OK".into(),
                },
                advert_ms + 32,
            ),
            stage(
                StageKind::CtapRequest {
                    command: "getAssertion".into(),
                },
                advert_ms + 33,
            ),
            stage(
                StageKind::CtapResponse {
                    status: "CTAP2_OK".into(),
                },
                advert_ms + 900,
            ),
        ];
        r
    }

    fn failed(id: &str, code: &str) -> SessionRecord {
        let mut r = record(id, 1);
        r.path = None;
        r.outcome = Outcome::Failed;
        r.error = Some(code.into());
        r.stages = vec![
            stage(StageKind::Qr, 0),
            stage(StageKind::Error { code: code.into() }, 5),
        ];
        r
    }

    #[test]
    fn shares_and_latencies_per_stage() {
        let mut records: Vec<SessionRecord> = (1..=10)
            .map(|i| answered(&format!("a{i}"), i * 100, PhoneProfile::Android))
            .collect();
        records.push(failed("f1", "no_phone"));
        records.push(failed("f2", "no_phone"));
        records.push(failed("f3", "handshake_failed"));
        let mut linked = answered("l1", 50, PhoneProfile::Ios);
        linked.path = Some(PathTaken::Linked);
        records.push(linked);

        let stats = compute(&records);
        assert_eq!(stats.sessions, 14);
        assert_eq!((stats.outcomes.ok, stats.outcomes.failed), (11, 3));
        let advert = &stats.all.stages[0];
        assert_eq!((advert.stage.as_str(), advert.reached), ("advert_seen", 11));
        assert!((advert.share - 11.0 / 14.0).abs() < 1e-9);
        // Adverts at 50, 100, …, 1000 ms: the 6th of 11 is the median, the 10th the p90.
        assert_eq!(advert.median_ms, Some(500));
        assert_eq!(advert.p90_ms, Some(900));
        // The CTAP answer is the operation's, not getInfo's.
        assert_eq!(stats.all.stages[4].median_ms, Some(500 + 900));

        let groups: Vec<(&str, usize)> = stats
            .by_path
            .iter()
            .map(|g| (g.group.as_str(), g.sessions))
            .collect();
        assert_eq!(groups, [("linked", 1), ("qr", 10), ("undecided", 3)]);
        let undecided = &stats.by_path[2];
        assert!(undecided
            .stages
            .iter()
            .all(|s| s.reached == 0 && s.median_ms.is_none()));
        let phones: Vec<&str> = stats.by_phone.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(phones, ["android", "ios", "not_reached"]);

        assert_eq!(stats.failures[0].code, "no_phone");
        assert_eq!(stats.failures[0].count, 2);
        assert!(
            stats.failures[0].fix.contains("Bluetooth"),
            "{}",
            stats.failures[0].fix
        );
        assert_eq!(stats.failures[1].code, "handshake_failed");
    }

    #[test]
    fn no_records_no_figures() {
        let stats = compute(&[]);
        assert_eq!(stats.sessions, 0);
        assert!(stats
            .all
            .stages
            .iter()
            .all(|s| s.share == 0.0 && s.median_ms.is_none()));
        assert!(stats.failures.is_empty() && stats.by_path.is_empty());
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), Some(5));
    }
}
