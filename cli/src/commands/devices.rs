//! `cablectl devices list | rename | forget`: the linked phones in the local store.

use crate::cli::DevicesCommand;
use anyhow::Context;
use cable_store::LinkStore;
use serde_json::json;

pub fn run(cmd: DevicesCommand) -> anyhow::Result<()> {
    let store = LinkStore::open_default().context("cannot open the store of linked phones")?;
    match cmd {
        DevicesCommand::List { json } => list(&store, json),
        DevicesCommand::Rename { id, name } => {
            let id = resolve(&store, &id)?;
            store
                .rename(&id, &name)
                .context("cannot rename the phone")?;
            println!("renamed {id} to {name:?}");
            Ok(())
        }
        DevicesCommand::Forget { id } => {
            let id = resolve(&store, &id)?;
            store.forget(&id).context("cannot forget the phone")?;
            println!("forgot {id}: sign in with a QR code to link it again");
            Ok(())
        }
    }
}

fn resolve(store: &LinkStore, prefix: &str) -> anyhow::Result<String> {
    match store.resolve(prefix).context("cannot look up the phone")? {
        Some(id) => Ok(id.to_string()),
        None => anyhow::bail!("no linked phone has ID {prefix:?}: see `cablectl devices list`"),
    }
}

fn list(store: &LinkStore, as_json: bool) -> anyhow::Result<()> {
    let links = store.list().context("cannot list linked phones")?;
    if as_json {
        let items: Vec<_> = links
            .iter()
            .map(|l| {
                json!({
                    "id": l.id.to_string(),
                    "name": l.name,
                    "created": l.created,
                    "last_used": l.last_used,
                    "tunnel_domain_id": l.tunnel_domain_id,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return Ok(());
    }
    if links.is_empty() {
        println!(
            "no linked phones: sign in with a QR code and let the phone remember this computer"
        );
    }
    for l in links {
        let name: String = l.name.chars().filter(|c| !c.is_control()).collect();
        println!(
            "{}  {:<30}  created {}  last used {}",
            l.id, name, l.created, l.last_used
        );
    }
    Ok(())
}
