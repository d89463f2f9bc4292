//! `cable-browser-host`: the native messaging host the browsers start for cable's extension,
//! one process per ceremony. It relays between the browser (stdin/stdout, native framing) and
//! cabled (its Unix socket, one JSON-RPC object per line) and holds no state of its own beyond
//! the relay's: when the browser closes the port the host exits, its socket closes, and cabled
//! cancels the session and tells the phone.
//!
//! Exit status 0 when the browser closed the stream between messages; 1, with one line on
//! stderr (browsers log it), for a caller that is not cable's extension or a malformed frame.

use cable_browser_host::{check_caller, socket, Decoder, Relay, Routed};
use serde_json::Value;
use std::io::ErrorKind;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Stdout};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Reads of this size from either side.
const CHUNK: usize = 64 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = check_caller(&args) {
        eprintln!("cable-browser-host: {e}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cable-browser-host: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(serve());
    // tokio reads stdin on a blocking thread that cannot be interrupted; do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("cable-browser-host: {reason}");
            ExitCode::from(1)
        }
    }
}

/// The connection to cabled, once a request needed it.
struct Daemon {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
}

async fn serve() -> Result<(), String> {
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut decoder = Decoder::default();
    let mut relay = Relay::default();
    let mut daemon: Option<Daemon> = None;
    let mut from_browser = vec![0u8; CHUNK];
    let mut from_daemon = vec![0u8; CHUNK];
    loop {
        tokio::select! {
            read = stdin.read(&mut from_browser) => {
                let n = read.map_err(|e| format!("cannot read from the browser: {e}"))?;
                if n == 0 {
                    // The port closed: end now, which closes the socket and cancels the session.
                    return decoder.finish().map_err(|e| e.to_string());
                }
                decoder.push(&from_browser[..n]);
                while let Some(message) = decoder.next_message().map_err(|e| e.to_string())? {
                    let routed = relay.from_browser(&message).map_err(|e| e.to_string())?;
                    match routed {
                        Routed::ToBrowser(frame) => send(&mut stdout, &frame).await?,
                        Routed::ToDaemon { id, line } => {
                            forward(&mut daemon, &mut relay, &mut stdout, &id, &line).await?;
                        }
                    }
                }
            }
            read = read_daemon(&mut daemon, &mut from_daemon) => {
                let frames = match read {
                    Ok(0) | Err(_) => None,
                    Ok(n) => relay.from_daemon(&from_daemon[..n]).ok(),
                };
                match frames {
                    Some(frames) => {
                        for frame in frames {
                            send(&mut stdout, &frame).await?;
                        }
                    }
                    None => {
                        daemon = None;
                        for frame in relay.daemon_gone() {
                            send(&mut stdout, &frame).await?;
                        }
                    }
                }
            }
        }
    }
}

/// Writes a request line to cabled, connecting first if need be; a cabled that cannot be
/// reached answers the request with `daemon_unavailable`, one that went away with
/// `daemon_gone`.
async fn forward(
    daemon: &mut Option<Daemon>,
    relay: &mut Relay,
    stdout: &mut Stdout,
    id: &Value,
    line: &[u8],
) -> Result<(), String> {
    if daemon.is_none() {
        match connect().await {
            Ok(connected) => *daemon = Some(connected),
            Err(detail) => return send(stdout, &relay.unavailable(id, detail.as_deref())).await,
        }
    }
    let Some(connected) = daemon.as_mut() else {
        return Ok(());
    };
    if connected.writer.write_all(line).await.is_err() {
        *daemon = None;
        for frame in relay.daemon_gone() {
            send(stdout, &frame).await?;
        }
    }
    Ok(())
}

/// Connects to cabled; `Err(None)` is the usual "not running", `Err(Some(why))` anything else.
async fn connect() -> Result<Daemon, Option<String>> {
    let path = socket::socket_path().map_err(|why| Some(why.to_string()))?;
    match UnixStream::connect(&path).await {
        Ok(stream) => {
            let (reader, writer) = stream.into_split();
            Ok(Daemon { reader, writer })
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Err(None)
        }
        Err(e) => Err(Some(format!("{}: {e}", path.display()))),
    }
}

/// The next bytes from cabled; never ready while there is no connection.
async fn read_daemon(daemon: &mut Option<Daemon>, buf: &mut [u8]) -> std::io::Result<usize> {
    match daemon {
        Some(connected) => connected.reader.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn send(stdout: &mut Stdout, frame: &[u8]) -> Result<(), String> {
    let written = async {
        stdout.write_all(frame).await?;
        stdout.flush().await
    };
    written
        .await
        .map_err(|e| format!("cannot write to the browser (it closed the port?): {e}"))
}
