//! `cablectl agent`: shows the person the prompts of sessions no program shows itself (the
//! security key's). It subscribes to cabled (`prompts.subscribe`) and, for each prompt, draws
//! the QR code and the timeline here, or, with a display, in the prompt window
//! (`cable-prompt`, fed JSON lines), whose Cancel and "use this phone" it passes back.

use crate::printer::Printer;
use anyhow::Context;
use cabled::ipc::api::{
    self, NoParams, PickParams, PromptEnded, PromptOpened, PromptsPick, PromptsSubscribe,
    SessionCancel, SessionEventParams, SessionParams,
};
use cabled::ipc::client::{Client, Notification};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};

/// Where the prompts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Display {
    /// The window when a display is there, else this terminal.
    Auto,
    Window,
    Terminal,
    /// One JSON object per notification on stdout (for programs and tests).
    Json,
}

pub fn run(socket: Option<PathBuf>, display: Display) -> anyhow::Result<()> {
    crate::commands::runtime()?.block_on(async move {
        let client = match &socket {
            Some(path) => Client::connect(path).await,
            None => Client::connect_default().await,
        }
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot reach cabled ({e}): start it (systemctl --user start cabled.socket) and \
                 run the agent again"
            )
        })?;
        let client = Arc::new(client);
        let mut window = match display {
            Display::Window => Some(Window::spawn(client.clone()).await?),
            Display::Auto if has_display() => match Window::spawn(client.clone()).await {
                Ok(window) => Some(window),
                Err(e) => {
                    eprintln!("cablectl agent: no prompt window ({e:#}); prompts are drawn here");
                    None
                }
            },
            _ => None,
        };
        let subscribed = client
            .call::<PromptsSubscribe>(NoParams {})
            .await
            .map_err(|e| anyhow::anyhow!("cabled refused the prompt agent: {e} [{}]", e.code()))?;
        eprintln!(
            "cablectl agent: showing cabled's prompts ({} open now); Ctrl-C stops",
            subscribed.open
        );
        while let Some(note) = client.next_notification().await {
            match &mut window {
                Some(window) => window.show(&note).await,
                None if display == Display::Json => print_json(&note),
                None => print_terminal(&note),
            }
        }
        anyhow::bail!("cabled closed the connection (it stopped?); the agent ends")
    })
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

fn print_json(note: &Notification) {
    println!("{}", json!({"method": note.method, "params": note.params}));
}

fn print_terminal(note: &Notification) {
    if let Some(Ok(opened)) = note.typed::<api::PromptOpenedNotice>() {
        println!();
        println!(
            "{} asks to {} at {} — scan the QR code with your phone's camera",
            opened.front_door.describe(),
            if opened.operation == "create" {
                "create a passkey"
            } else {
                "sign in"
            },
            opened.rp_id.as_deref().unwrap_or("an unnamed site")
        );
        for device in &opened.devices {
            println!(
                "  or confirm on your linked phone {:?} when it asks",
                device.name
            );
        }
    } else if let Some(Ok(ended)) = note.typed::<api::PromptEndedNotice>() {
        match ended.message {
            Some(message) => println!("{}: {message}", ended.session),
            None => println!("{}: done", ended.session),
        }
    } else if let Some(Ok(event)) = note.session_event() {
        let printer = Printer {
            json: false,
            draw_qr: true,
        };
        printer.event(&event.event);
    }
}

/// The prompt window process and its stdin.
struct Window {
    stdin: ChildStdin,
}

impl Window {
    async fn spawn(client: Arc<Client>) -> anyhow::Result<Self> {
        let program = prompt_program();
        let mut child = Command::new(&program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdin = child.stdin.take().context("the window has no stdin")?;
        let stdout = child.stdout.take().context("the window has no stdout")?;
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                act(&client, &line).await;
            }
            // The window is gone: the agent cannot show prompts any more.
            let status = child.wait().await;
            eprintln!("cablectl agent: the prompt window ended ({status:?})");
            std::process::exit(1);
        });
        Ok(Self { stdin })
    }

    /// Feeds one notification to the window in its line protocol.
    async fn show(&mut self, note: &Notification) {
        let Some(line) = window_line(note) else {
            return;
        };
        let _ = self.stdin.write_all(format!("{line}\n").as_bytes()).await;
    }
}

/// `cable-prompt` next to this binary (an install or a cargo build), else from `PATH`.
fn prompt_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("cable-prompt")))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("cable-prompt"))
}

/// The window's line for a notification: `prompt`, `event` or `end`.
fn window_line(note: &Notification) -> Option<Value> {
    if let Some(Ok(opened)) = note.typed::<api::PromptOpenedNotice>() {
        let PromptOpened {
            session,
            front_door,
            rp_id,
            operation,
            devices,
        } = opened;
        return Some(json!({
            "type": "prompt", "session": session, "front_door": front_door.describe(),
            "rp_id": rp_id, "operation": operation, "devices": devices,
        }));
    }
    if let Some(Ok(ended)) = note.typed::<api::PromptEndedNotice>() {
        let PromptEnded {
            session,
            outcome,
            message,
            ..
        } = ended;
        return Some(
            json!({"type": "end", "session": session, "outcome": outcome, "message": message}),
        );
    }
    let Some(Ok(SessionEventParams { session, event, .. })) = note.session_event() else {
        return None;
    };
    let mut line = serde_json::to_value(&event).ok()?;
    let object = line.as_object_mut()?;
    object.insert("type".into(), json!("event"));
    object.insert("session".into(), json!(session));
    Some(line)
}

/// One action line from the window.
async fn act(client: &Client, line: &str) {
    let Ok(action) = serde_json::from_str::<Value>(line) else {
        eprintln!("cablectl agent: the window sent a line that is not JSON: {line:?}");
        return;
    };
    let session = action["session"].as_str().unwrap_or_default().to_string();
    let outcome = match action["action"].as_str() {
        Some("cancel") => client
            .call::<SessionCancel>(SessionParams { session })
            .await
            .map(drop),
        Some("use_device") => {
            let device = action["device"].as_str().unwrap_or_default().to_string();
            client
                .call::<PromptsPick>(PickParams { session, device })
                .await
                .map(drop)
        }
        _ => {
            eprintln!("cablectl agent: unknown action from the window: {line}");
            return;
        }
    };
    if let Err(e) = outcome {
        // A prompt that ended meanwhile is not found: nothing to do.
        if e.code() != "session_not_found" {
            eprintln!("cablectl agent: {e} [{}]", e.code());
        }
    }
}
