//! The command-line grammar (clap). Behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cablectl",
    version,
    about = "Use a phone as the passkey authenticator of this computer (FIDO hybrid / caBLE v2)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, decode and draw FIDO:/ QR codes.
    #[command(subcommand)]
    Qr(QrCommand),
    /// Work with captured BLE adverts.
    #[command(subcommand)]
    Advert(AdvertCommand),
    /// Tunnel servers: names of domain IDs, and a local tunnel server.
    #[command(subcommand)]
    Tunnel(TunnelCommand),
    /// Create a passkey on your phone (the QR code is drawn here).
    Register(RegisterArgs),
    /// Sign in with a passkey from your phone.
    SignIn(SignInArgs),
    /// Play the phone: a software authenticator that answers a QR code on loopback.
    Phone(PhoneArgs),
    /// The cabled daemon.
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Linked phones ("remember this computer"): list, rename, forget.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Show hybrid adverts as they arrive (decrypted when the QR code or secret is given).
    Scan(ScanArgs),
    /// Let web browsers use cable: install or remove the manifests through which Firefox,
    /// Chromium, Chrome, Brave and Edge start cable's native messaging host.
    #[command(subcommand)]
    Browser(BrowserCommand),
    /// Check what hybrid needs on this computer, each with a verdict and a fix.
    Doctor {
        /// Print one JSON object per check.
        #[arg(long)]
        json: bool,
        /// Skip the network checks of the real tunnel servers.
        #[arg(long)]
        offline: bool,
    },
    /// Show the prompts of cabled's security-key requests (QR code, progress, Cancel): in a
    /// window when there is a display, else here.
    Agent {
        /// cabled's socket (default: $XDG_RUNTIME_DIR/cable/cabled.sock).
        #[arg(long, value_name = "PATH")]
        socket: Option<std::path::PathBuf>,
        /// Where to show them.
        #[arg(long, value_enum, default_value = "auto")]
        display: crate::commands::agent::Display,
    },
    /// The redacted timelines of past sessions: list them, or draw one with `show ID`.
    History(HistoryArgs),
    /// Per-stage metrics of past sessions: how many reached each stage, how fast, and the most
    /// common failures with their fixes.
    Stats {
        #[arg(long)]
        json: bool,
        /// Only the newest N sessions.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
    /// Write one file to attach to a bug report: versions, doctor, Bluetooth adapters, config,
    /// the last sessions' redacted timelines and stats. It holds no secret.
    DebugReport {
        /// Write here (default: cable-debug-report-<time>.txt in the current folder).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Skip the network checks of the real tunnel servers.
        #[arg(long)]
        offline: bool,
        /// How many of the newest sessions to draw.
        #[arg(long, value_name = "N", default_value_t = 20)]
        last: usize,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
    /// Run a registration and a sign-in on loopback: local tunnel server, virtual radio and a
    /// software phone, no Bluetooth or internet needed.
    Demo {
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
        /// Do not draw the QR code.
        #[arg(long)]
        no_qr: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum BrowserCommand {
    /// Write org.cable.hybrid.json for Firefox and the Chromium family (their per-user
    /// folders, or only the folders given), pointing at the cable-browser-host binary.
    Install {
        #[command(flatten)]
        dirs: BrowserDirs,
        /// The host binary (default: cable-browser-host next to cablectl, else on PATH).
        #[arg(long, value_name = "PATH")]
        host: Option<PathBuf>,
    },
    /// Remove the manifests `install` writes (from the same folders).
    Uninstall {
        #[command(flatten)]
        dirs: BrowserDirs,
    },
}

/// Where the manifests go. Without either flag: every standard per-user folder; with one or
/// both: only the folders given.
#[derive(Args, Debug)]
pub struct BrowserDirs {
    /// The folder the Chromium-family manifest goes in (e.g. <user-data-dir>/NativeMessagingHosts).
    #[arg(long, value_name = "DIR")]
    pub chromium_dir: Option<PathBuf>,
    /// The folder the Firefox manifest goes in.
    #[arg(long, value_name = "DIR")]
    pub firefox_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum QrCommand {
    /// Generate a fresh QR handshake and print its URL (and, for debugging, its secret and key).
    New {
        /// Print JSON: {"url", "qr_secret", "public_key", ...}.
        #[arg(long)]
        json: bool,
        /// Request type hint: ga (sign in) or mc (register).
        #[arg(long, default_value = "ga")]
        request_type: String,
        /// Offer linking ("remember this computer") in key 4.
        #[arg(long)]
        linking: bool,
    },
    /// Print every field of a FIDO:/ URL.
    Decode {
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// Draw a FIDO:/ URL as a QR code (terminal by default).
    Show {
        url: String,
        /// Write an SVG file instead of drawing in the terminal.
        #[arg(long, value_name = "FILE", conflicts_with = "png")]
        svg: Option<PathBuf>,
        /// Write a PNG file instead of drawing in the terminal.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdvertCommand {
    /// Decrypt and verify a captured advert (20 bytes of service data, hex; a CTAP 2.3 suffix may follow).
    Decrypt(AdvertDecrypt),
}

#[derive(Args, Debug)]
pub struct AdvertDecrypt {
    /// The QR secret (32 hex digits) the advert is expected to be encrypted for.
    #[arg(
        long,
        value_name = "HEX",
        required_unless_present = "qr",
        conflicts_with = "qr"
    )]
    pub secret: Option<String>,
    /// The FIDO:/ URL of the QR code instead of its secret.
    #[arg(long, value_name = "URL")]
    pub qr: Option<String>,
    /// The advert's service data, hex.
    pub advert_hex: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum TunnelCommand {
    /// Print the host name of a tunnel-server domain ID (decimal, or hex with 0x).
    Domain { id: String },
    /// Run a local tunnel server (for the virtual radio and software phone).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
}

/// Flags shared by commands that run a hybrid session.
#[derive(Args, Debug, Clone)]
pub struct SessionFlags {
    /// Print one JSON object per line (events, then the credential or the error).
    #[arg(long)]
    pub json: bool,
    /// Use this tunnel server for every tunnel domain, e.g. ws://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub tunnel_url: Option<String>,
    /// Where adverts come from: bluetooth (default), bluetooth:ADAPTER, or udp:HOST:PORT.
    #[arg(long, value_name = "RADIO", default_value = "bluetooth")]
    pub radio: String,
    /// Seconds to wait for the phone (scan the QR code and approach the computer).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
    /// Reach only this linked phone (ID or unique prefix from `cablectl devices list`), no QR code.
    #[arg(long, value_name = "ID", conflicts_with = "qr_only")]
    pub device: Option<String>,
    /// Only show the QR code; do not contact linked phones.
    #[arg(long)]
    pub qr_only: bool,
    /// Do not offer the phone to remember this computer, and do not use linked phones.
    #[arg(long, conflicts_with = "device")]
    pub no_link: bool,
    /// Run the session in this process even when cabled is running.
    #[arg(long)]
    pub no_daemon: bool,
    /// Seconds to wait after the answer for the phone's offer to remember this computer.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub link_wait: u64,
}

#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// The relying party ID (the site's domain), e.g. example.com.
    #[arg(long)]
    pub rp_id: String,
    /// The origin the request comes from, e.g. https://example.com.
    #[arg(long)]
    pub origin: String,
    /// The account name, e.g. alice@example.com.
    #[arg(long)]
    pub user_name: String,
    /// The name shown for the account (defaults to the account name).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Create a non-discoverable credential (server-side credential) instead of a passkey.
    #[arg(long)]
    pub non_discoverable: bool,
    #[command(flatten)]
    pub session: SessionFlags,
}

#[derive(Args, Debug)]
pub struct SignInArgs {
    /// The relying party ID (the site's domain), e.g. example.com.
    #[arg(long)]
    pub rp_id: String,
    /// The origin the request comes from, e.g. https://example.com.
    #[arg(long)]
    pub origin: String,
    /// Allow only this credential (base64url); repeatable. Default: any passkey of the site.
    // A base64url ID starts with `-` one time in 64: it is a value, not a flag.
    #[arg(
        long = "credential-id",
        value_name = "B64URL",
        allow_hyphen_values = true
    )]
    pub credential_ids: Vec<String>,
    #[command(flatten)]
    pub session: SessionFlags,
}

#[derive(Args, Debug)]
pub struct PhoneArgs {
    /// The FIDO:/ URL shown by the desktop.
    #[arg(long, required_unless_present = "linked", conflicts_with = "linked")]
    pub qr: Option<String>,
    /// Wait to be woken for a linked sign-in (needs --store, which holds the links).
    #[arg(long, requires = "store")]
    pub linked: bool,
    /// With --linked: answer one wake-up, then exit.
    #[arg(long, requires = "linked")]
    pub once: bool,
    /// Do not offer to remember the computer (Android profile offers it when the QR asks).
    #[arg(long)]
    pub no_link: bool,
    /// The phone's name, shown on the computer once linked.
    #[arg(long)]
    pub name: Option<String>,
    /// The tunnel server to use, e.g. ws://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub tunnel_url: String,
    /// The desktop's virtual radio address (HOST:PORT or udp:HOST:PORT).
    #[arg(long, value_name = "ADDR")]
    pub radio: String,
    /// Which phone to imitate.
    #[arg(long, value_enum, default_value = "android")]
    pub profile: ProfileArg,
    /// Keep passkeys in this file (JSON, created if missing) instead of in memory.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Decline the request, as a person tapping "Cancel" would.
    #[arg(long)]
    pub deny: bool,
    /// Take this long to answer the prompt, as a person would; a desktop that cancels
    /// meanwhile gets no answer (the report shows how the desktop left).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub answer_after: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum ProfileArg {
    Android,
    Ios,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Where adverts come from: bluetooth (default), bluetooth:ADAPTER, or udp:HOST:PORT.
    #[arg(long, default_value = "bluetooth")]
    pub radio: String,
    /// Decrypt adverts for this QR code.
    #[arg(long, value_name = "URL", conflicts_with = "secret")]
    pub qr: Option<String>,
    /// Decrypt adverts for this QR secret (32 hex digits).
    #[arg(long, value_name = "HEX")]
    pub secret: Option<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Print one JSON object per advert.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum DevicesCommand {
    /// List linked phones.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Give a linked phone another name.
    Rename { id: String, name: String },
    /// Forget a linked phone: it can no longer be reached without a QR code.
    Forget { id: String },
}

#[derive(Subcommand, Debug)]
pub enum DaemonCommand {
    /// Ask the running daemon how it is: version, sessions, radio, Bluetooth.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub show: Option<HistoryCommand>,
    /// Print the records as JSON (one array).
    #[arg(long)]
    pub json: bool,
    /// Only the newest N sessions.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Draw one session's timeline: the time spent in each stage and where it failed.
    Show {
        /// The session's ID from `cablectl history`, or a unique prefix.
        id: String,
        #[arg(long)]
        json: bool,
    },
}
