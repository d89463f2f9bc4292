//! Numbers, not checks: `cargo test -p cable-uhid --release --test measure -- --ignored --nocapture`.

mod support;

use std::time::Instant;

use cable_uhid::abi::{KernelEvent, ReportType, UserEvent};
use cable_uhid::relay::Frame;
use support::*;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
#[ignore]
fn round_trip_latency_and_memory() {
    let (_dir, kernel, daemon) = setup(&my_uid().to_string());
    let idle = rss_kib(daemon.child.id());
    let mut c = FakeCabled::attach(&daemon.socket);
    let k = kernel.accept(WAIT).unwrap();
    assert!(matches!(k.recv(), Some(UserEvent::Create2(_))));
    const N: u32 = 20_000;
    let mut out = vec![0u8; 65];
    let start = Instant::now();
    for i in 0..N {
        out[1..5].copy_from_slice(&i.to_be_bytes());
        k.send(&KernelEvent::Output {
            data: out.clone(),
            rtype: ReportType::Output,
        });
        let Some(Frame::Output(r)) = c.recv() else {
            panic!("no OUTPUT")
        };
        c.send(&Frame::Input(r));
        assert_eq!(k.recv(), Some(UserEvent::Input2(r.to_vec())));
    }
    let per = start.elapsed() / N;
    let attached = rss_kib(daemon.child.id());
    println!(
        "host→cabled→host round trip through cable-uhid: {per:?} ({N} packets); RSS idle {idle} KiB, attached {attached} KiB"
    );
}
