//! What the native host adds to a ceremony: the request in, cabled's lines of a whole
//! registration back out (twelve `session.event`s, the `qr` one with a 30 KB SVG, and the
//! result), through the sans-IO relay and through the binary over pipes against a stand-in
//! cabled — warm (one host, many ceremonies) and as browsers run it (a new process per
//! ceremony).

use cable_browser_host::{encode, Decoder, Relay, Routed};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};
use std::hint::black_box;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const CHROMIUM: &str = "chrome-extension://cpljglomlfjdmdmkoikijgaiomcikked/";

/// The extension's `webauthn.create` message, as a native frame.
fn request(id: u64) -> Vec<u8> {
    let message = json!({"id": id, "method": "webauthn.create", "params": {
        "origin": "https://login.example.com",
        "options": {
            "rp": {"id": "example.com", "name": "Example"},
            "user": {"id": "dXNlci0xMjM0NTY3ODkw", "name": "alice@example.com", "displayName": "Alice"},
            "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtMTIzNA",
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
            "excludeCredentials": [{"type": "public-key", "id": "4zeGBDQtPfKtfXLYSZ4CsyOmzFA9uEf2xga4E0unVvU"}],
            "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "attestation": "none",
            "extensions": {"credProps": true}
        }
    }});
    encode(message.to_string().as_bytes()).unwrap()
}

/// An SVG of a version-10-ish QR code drawn as one path per module row: about 30 KB.
fn qr_svg() -> String {
    let mut svg = String::from(
        "<?xml version=\"1.0\" standalone=\"yes\"?><svg xmlns=\"http://www.w3.org/2000/svg\" \
         version=\"1.1\" width=\"456\" height=\"456\" viewBox=\"0 0 456 456\" \
         shape-rendering=\"crispEdges\"><rect x=\"0\" y=\"0\" width=\"456\" height=\"456\" \
         fill=\"#fff\"/><path fill=\"#000\" d=\"",
    );
    let mut n = 0u32;
    while svg.len() < 30 * 1024 {
        n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        svg.push_str(&format!(
            "M{} {}h8v8h-8z",
            (n >> 8) % 57 * 8,
            (n >> 16) % 57 * 8
        ));
    }
    svg.push_str("\"/></svg>");
    svg
}

/// cabled's lines for request `id`: the events of a QR registration, then the credential.
fn daemon_lines(id: u64) -> Vec<u8> {
    let event = |params: Value| {
        json!({"jsonrpc": "2.0", "method": "session.event", "params": params}).to_string()
    };
    let s = "3a482bf1944387a1";
    let qr_url = format!("FIDO:/{}", "0123456789".repeat(16));
    let mut lines = vec![
        event(json!({"session": s, "event": "qr", "url": qr_url, "svg": qr_svg(), "t_ms": 0})),
        event(json!({"session": s, "event": "scanning", "radio": "Bluetooth", "t_ms": 2})),
        event(
            json!({"session": s, "event": "advert", "uuid": "FFF9", "source": "Bluetooth", "tunnel_domain": "cable.ua5v.com", "rssi": -58, "t_ms": 4210}),
        ),
        event(
            json!({"session": s, "event": "tunnel_connecting", "host": "cable.ua5v.com", "t_ms": 4211}),
        ),
        event(json!({"session": s, "event": "tunnel_connected", "http_status": 101, "t_ms": 4530})),
        event(
            json!({"session": s, "event": "handshake", "protocol": "Noise_KNpsk0_P256_AESGCM_SHA256", "t_ms": 4790}),
        ),
        event(
            json!({"session": s, "event": "phone_ready", "versions": ["FIDO_2_0", "FIDO_2_1"], "features": ["ctap"], "revision": 1, "t_ms": 4791}),
        ),
        event(json!({"session": s, "event": "path", "path": "qr", "t_ms": 4792})),
        event(json!({"session": s, "event": "ctap_request", "command": "getInfo", "t_ms": 4793})),
        event(json!({"session": s, "event": "ctap_response", "status": "CTAP2_OK", "t_ms": 4850})),
        event(
            json!({"session": s, "event": "ctap_request", "command": "makeCredential", "t_ms": 4851}),
        ),
        event(json!({"session": s, "event": "ctap_response", "status": "CTAP2_OK", "t_ms": 7950})),
    ];
    lines.push(
        json!({"jsonrpc": "2.0", "id": id, "result": {
            "id": "4zeGBDQtPfKtfXLYSZ4CsyOmzFA9uEf2xga4E0unVvU",
            "rawId": "4zeGBDQtPfKtfXLYSZ4CsyOmzFA9uEf2xga4E0unVvU",
            "type": "public-key", "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {"credProps": {"rk": true}},
            "response": {
                "clientDataJSON": "A".repeat(190),
                "attestationObject": "B".repeat(420),
                "authenticatorData": "C".repeat(220),
                "transports": ["hybrid", "internal"],
                "publicKey": "D".repeat(120),
                "publicKeyAlgorithm": -7
            }
        }})
        .to_string(),
    );
    let mut bytes = lines.join("\n").into_bytes();
    bytes.push(b'\n');
    bytes
}

/// Frames the browser gets for one ceremony.
const FRAMES: usize = 13;

fn sans_io(c: &mut Criterion) {
    let request = request(1);
    let lines = daemon_lines(1);
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Bytes((request.len() + lines.len()) as u64));
    group.bench_function("sans_io_ceremony", |b| {
        b.iter(|| {
            let mut decoder = Decoder::default();
            let mut relay = Relay::default();
            decoder.push(black_box(&request));
            let message = decoder.next_message().unwrap().unwrap();
            let Routed::ToDaemon { line, .. } = relay.from_browser(&message).unwrap() else {
                unreachable!()
            };
            black_box(line);
            // cabled's lines arrive in socket-sized reads.
            let mut frames = 0;
            for chunk in black_box(&lines).chunks(64 * 1024) {
                frames += relay.from_daemon(chunk).unwrap().len();
            }
            assert_eq!(frames, FRAMES);
        })
    });
    group.finish();
}

/// A stand-in cabled: answers each request line with the ceremony's lines.
fn fake_cabled(listener: UnixListener) {
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                // Built once: the stand-in's own cost is not the host's.
                let template = daemon_lines(0);
                let split = template.len()
                    - 1
                    - template[..template.len() - 1]
                        .iter()
                        .rev()
                        .position(|&b| b == b'\n')
                        .unwrap();
                let events = template[..split].to_vec();
                let answer = String::from_utf8(template[split..].to_vec()).unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let request: Value = serde_json::from_str(&line).unwrap();
                    let id = request["id"].as_u64().unwrap();
                    let answer = answer.replacen("\"id\":0", &format!("\"id\":{id}"), 1);
                    let written = async {
                        write.write_all(&events).await?;
                        write.write_all(answer.as_bytes()).await
                    };
                    if written.await.is_err() {
                        break;
                    }
                }
            });
        }
    });
}

fn spawn_host(socket: &std::path::Path) -> (Child, ChildStdin, ChildStdout) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cable-browser-host"))
        .arg(CHROMIUM)
        .env("CABLE_SOCKET", socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the host starts");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, stdin, stdout)
}

async fn ceremony(stdin: &mut ChildStdin, stdout: &mut ChildStdout, id: u64) {
    stdin.write_all(&request(id)).await.unwrap();
    for _ in 0..FRAMES {
        let mut len = [0u8; 4];
        stdout.read_exact(&mut len).await.unwrap();
        let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
        stdout.read_exact(&mut body).await.unwrap();
    }
}

fn binary(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cabled.sock");
    runtime.block_on(async { fake_cabled(UnixListener::bind(&socket).unwrap()) });
    let mut group = c.benchmark_group("relay");
    group.sample_size(20);
    group.bench_function("binary_warm_ceremony", |b| {
        let (_child, mut stdin, mut stdout) = runtime.block_on(async { spawn_host(&socket) });
        let mut id = 0;
        b.iter(|| {
            id += 1;
            runtime.block_on(ceremony(&mut stdin, &mut stdout, id));
        });
    });
    group.bench_function("binary_ceremony_with_process_start", |b| {
        b.iter_batched(
            || (),
            |()| {
                runtime.block_on(async {
                    let (mut child, mut stdin, mut stdout) = spawn_host(&socket);
                    ceremony(&mut stdin, &mut stdout, 1).await;
                    drop(stdin);
                    child.wait().await.unwrap();
                })
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, sans_io, binary);
criterion_main!(benches);
