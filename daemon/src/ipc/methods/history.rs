//! `history.list`, `history.get`, `daemon.stats`: the daemon's recorded sessions, read from
//! its history folder on each call (records written by `cablectl` in-process sessions show
//! too, since both write the same folder).

use crate::history::{self, HistoryError, HistoryStore, Listing, SessionRecord, Stats};
use crate::ipc::api::{HistoryGetParams, HistoryListing, LastParams};
use crate::ipc::error::{codes, RpcError};
use crate::ipc::server::Daemon;

pub fn list(daemon: &Daemon, p: LastParams) -> Result<HistoryListing, RpcError> {
    let Some(store) = daemon.history.store() else {
        return Ok(HistoryListing {
            enabled: false,
            folder: None,
            sessions: Vec::new(),
            skipped: 0,
        });
    };
    let Listing { records, skipped } = read(store)?;
    Ok(HistoryListing {
        enabled: true,
        folder: Some(store.dir().display().to_string()),
        sessions: newest(records, p.last),
        skipped,
    })
}

pub fn get(daemon: &Daemon, p: HistoryGetParams) -> Result<SessionRecord, RpcError> {
    let not_found = || {
        RpcError::server(
            codes::HISTORY_NOT_FOUND,
            format!(
                "no recorded session has the ID {:?}; history.list shows the recorded sessions",
                p.id
            ),
        )
    };
    let store = daemon.history.store().ok_or_else(not_found)?;
    match store.get(&p.id) {
        Ok(Some(record)) => Ok(record),
        Ok(None) => Err(not_found()),
        Err(e @ HistoryError::Ambiguous { .. }) => {
            Err(RpcError::invalid_params(format!("history.get: {e}")))
        }
        Err(e) => Err(RpcError::server(codes::HISTORY_ERROR, e.to_string())),
    }
}

pub fn stats(daemon: &Daemon, p: LastParams) -> Result<Stats, RpcError> {
    let records = match daemon.history.store() {
        Some(store) => newest(read(store)?.records, p.last),
        None => Vec::new(),
    };
    Ok(history::stats::compute(&records))
}

fn read(store: &HistoryStore) -> Result<Listing, RpcError> {
    store
        .list()
        .map_err(|e| RpcError::server(codes::HISTORY_ERROR, e.to_string()))
}

fn newest(mut records: Vec<SessionRecord>, last: Option<usize>) -> Vec<SessionRecord> {
    if let Some(n) = last {
        records.truncate(n);
    }
    records
}
