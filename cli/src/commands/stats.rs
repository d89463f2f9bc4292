//! `cablectl stats [--json] [--last N]`: per-stage metrics of past sessions, from the running
//! cabled (`daemon.stats`) or, when none runs, computed here from the same history folder.

use cabled::history::{GroupStats, Stats};
use cabled::ipc::api::{DaemonStats, LastParams};
use cabled::ipc::client::Client;

pub fn run(json: bool, last: Option<usize>) -> anyhow::Result<()> {
    let stats = crate::commands::runtime()?.block_on(stats(last))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{}", render(&stats));
    }
    Ok(())
}

pub async fn stats(last: Option<usize>) -> anyhow::Result<Stats> {
    if let Ok(client) = Client::connect_default().await {
        if let Ok(stats) = client.call::<DaemonStats>(LastParams { last }).await {
            if stats.sessions > 0 {
                return Ok(stats);
            }
        }
    }
    let records = crate::commands::history::records(last).await?;
    Ok(cabled::history::stats::compute(&records))
}

/// The figures as a table per group, then the failure causes.
pub fn render(stats: &Stats) -> String {
    let o = &stats.outcomes;
    let mut out = format!(
        "{} sessions: {} ok, {} failed, {} cancelled, {} unfinished\n",
        stats.sessions, o.ok, o.failed, o.cancelled, o.unfinished
    );
    if stats.sessions == 0 {
        out.push_str("no sessions recorded yet: figures appear once sign-ins have run\n");
        return out;
    }
    out.push_str(
        "(latencies from the session's start, over the sessions that reached the stage)\n",
    );
    group(&mut out, "all sessions", &stats.all);
    for g in &stats.by_path {
        group(&mut out, &format!("path {}", g.group), g);
    }
    for g in &stats.by_phone {
        group(&mut out, &format!("phone {}", g.group), g);
    }
    if !stats.failures.is_empty() {
        out.push_str("\nmost common failures\n");
        for f in &stats.failures {
            out.push_str(&format!(
                "  {:<24} {:>4} ({:>3.0}%)  fix: {}\n",
                f.code,
                f.count,
                f.share * 100.0,
                f.fix
            ));
        }
    }
    out
}

fn group(out: &mut String, title: &str, g: &GroupStats) {
    out.push_str(&format!(
        "\n{title}: {} sessions, {} ok\n",
        g.sessions, g.ok
    ));
    out.push_str("  stage               reached     median        p90\n");
    for s in &g.stages {
        let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        out.push_str(&format!(
            "  {:<18} {:>4.0}% {:>4}  {:>9}  {:>9}\n",
            s.stage,
            s.share * 100.0,
            s.reached,
            ms(s.median_ms),
            ms(s.p90_ms)
        ));
    }
}
