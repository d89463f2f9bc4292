//! End-to-end loopback registration, QR to credential: median and p99 wall time over N runs,
//! and the engine's CPU time per transaction.
//!
//! The engine runs in this process; the tunnel server and the software phone run in a child
//! process (this same binary with `CABLE_BENCH_PEER=1`), so the CPU time this process spends
//! (getrusage) is the desktop side's alone. No artificial delays anywhere.
//!
//! `cargo bench -p cabled --bench e2e_loopback` (N = 200; `CABLE_BENCH_RUNS` overrides).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cabled::engine::{
    CancellationToken, Engine, EngineConfig, EventKind, EventSink, RadioConfig, TunnelConfig,
    WebAuthnRequest,
};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    if std::env::var_os("CABLE_BENCH_PEER").is_some() {
        return peer();
    }
    // `cargo bench` passes --bench; ignore arguments (no filtering here).
    let runs: usize = std::env::var("CABLE_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let radio = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free UDP port");

    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env("CABLE_BENCH_PEER", "1")
        .env("CABLE_BENCH_RADIO", radio.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the peer process");
    let mut to_peer = child.stdin.take().expect("peer stdin");
    let mut from_peer = BufReader::new(child.stdout.take().expect("peer stdout"));
    let mut tunnel_url = String::new();
    from_peer
        .read_line(&mut tunnel_url)
        .expect("peer announces its tunnel URL");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let engine = runtime.block_on(async {
        Engine::new(EngineConfig {
            tunnel: TunnelConfig::Override(tunnel_url.trim().to_string()),
            radio: RadioConfig::Virtual(radio),
            ..EngineConfig::default()
        })
    });

    let mut one = |i: usize| -> Duration {
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = EventSink::new(move |event| {
            if let EventKind::Qr { url } = event.kind {
                let _ = tx.send(url);
            }
        });
        let start = Instant::now();
        let engine = engine.clone();
        let session = runtime.spawn(async move {
            engine
                .webauthn(request(i), sink, CancellationToken::new())
                .await
        });
        let url = rx.recv().expect("the session shows a QR code");
        writeln!(to_peer, "{url}").expect("hand the QR to the phone");
        let credential = runtime.block_on(session).expect("session task");
        let elapsed = start.elapsed();
        credential.expect("registration succeeds");
        elapsed
    };

    for i in 0..5 {
        one(i); // warm-up: connections, caches, page faults
    }
    let cpu_before = cpu_time();
    let mut times: Vec<Duration> = (0..runs).map(|i| one(i + 5)).collect();
    let cpu = cpu_time() - cpu_before;
    drop(to_peer);
    let _ = child.wait();

    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    println!("e2e loopback registration, QR to credential, {runs} runs:");
    println!("  median {:>8.2} ms", ms(pct(0.50)));
    println!("  p99    {:>8.2} ms", ms(pct(0.99)));
    println!(
        "  min    {:>8.2} ms   max {:.2} ms",
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    println!(
        "  engine CPU time per transaction {:>6.2} ms (user+system, desktop process only)",
        ms(cpu) / runs as f64
    );
}

fn request(i: usize) -> WebAuthnRequest {
    WebAuthnRequest::Create {
        origin: "https://bench.cable.example".into(),
        options: json!({
            "rp": { "id": "bench.cable.example", "name": "bench" },
            "user": { "id": URL_SAFE_NO_PAD.encode(format!("user-{i}")), "name": format!("user{i}"), "displayName": "Bench" },
            "challenge": URL_SAFE_NO_PAD.encode([i as u8; 32]),
            "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
            "authenticatorSelection": { "residentKey": "required", "userVerification": "required" },
        }),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass; no other memory is touched.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The child: a tunnel server, and a software phone for every QR URL read from stdin.
fn peer() {
    let radio: std::net::SocketAddr = std::env::var("CABLE_BENCH_RADIO")
        .expect("radio address")
        .parse()
        .expect("radio address");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let server = cable_tunnel_server::TunnelServer::bind(
            "127.0.0.1:0".parse().expect("addr"),
            cable_tunnel_server::ServerLimits::default(),
        )
        .await
        .expect("tunnel server")
        .spawn();
        let base = server.base_url();
        println!("{base}");
        let _ = std::io::stdout().flush();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(url) => {
                        if tx.send(url).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        while let Some(url) = rx.recv().await {
            let config = cable_phone::PhoneConfig::new(url, base.clone(), radio);
            tokio::spawn(async move {
                if let Err(e) = cable_phone::run_qr(config).await {
                    eprintln!("phone: {e}");
                }
            });
        }
        let _ = server.shutdown().await;
    });
}
