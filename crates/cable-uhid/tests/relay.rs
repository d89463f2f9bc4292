//! cable-uhid between a fake kernel and a fake cabled.

mod support;

use std::time::Duration;

use cable_uhid::abi::{KernelEvent, ReportType, UserEvent};
use cable_uhid::descriptor;
use cable_uhid::relay::Frame;
use support::*;

const SHORT: Duration = Duration::from_millis(300);

fn me() -> String {
    my_uid().to_string()
}

fn expect_create(k: &KernelConn) {
    let Some(UserEvent::Create2(c)) = k.recv() else {
        panic!("the first record must be UHID_CREATE2");
    };
    assert_eq!(c, descriptor::device());
    assert_eq!(c.name, "cable: phone as security key");
    assert_eq!(c.rd_data, descriptor::REPORT_DESCRIPTOR);
}

fn expect_destroy_then_eof(k: &KernelConn) {
    assert_eq!(k.recv(), Some(UserEvent::Destroy));
    assert_eq!(k.recv_raw(), None, "the uhid fd must close after DESTROY");
}

#[test]
fn hello_creates_relays_byte_exact_both_ways_and_disconnect_destroys() {
    let (_dir, kernel, mut daemon) = setup(&me());
    assert!(
        kernel.accept(SHORT).is_none(),
        "no device while no cabled is attached"
    );

    let mut cabled = FakeCabled::attach(&daemon.socket);
    let k = kernel.accept(WAIT).expect("HELLO opens the uhid device");
    expect_create(&k);

    k.send(&KernelEvent::Start { dev_flags: 0 });
    k.send(&KernelEvent::Open);
    assert_eq!(cabled.recv(), Some(Frame::Opened));

    // libfido2 writes 65 bytes: report number 0, then the packet.
    let packet: [u8; 64] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(1));
    let mut written = vec![0u8];
    written.extend_from_slice(&packet);
    k.send(&KernelEvent::Output {
        data: written,
        rtype: ReportType::Output,
    });
    assert_eq!(cabled.recv(), Some(Frame::Output(packet)));

    let answer: [u8; 64] = core::array::from_fn(|i| 255 - i as u8);
    cabled.send(&Frame::Input(answer));
    assert_eq!(k.recv(), Some(UserEvent::Input2(answer.to_vec())));

    // A key has no feature reports: both requests are answered with EIO at once.
    k.send(&KernelEvent::GetReport {
        id: 77,
        rnum: 0,
        rtype: ReportType::Feature,
    });
    assert_eq!(
        k.recv(),
        Some(UserEvent::GetReportReply {
            id: 77,
            err: libc::EIO as u16,
            data: vec![]
        })
    );
    k.send(&KernelEvent::SetReport {
        id: 78,
        rnum: 0,
        rtype: ReportType::Feature,
        data: vec![1, 2],
    });
    assert_eq!(
        k.recv(),
        Some(UserEvent::SetReportReply {
            id: 78,
            err: libc::EIO as u16
        })
    );

    // A numbered report is not ours: dropped, not relayed; the session goes on.
    k.send(&KernelEvent::Output {
        data: vec![5; 65],
        rtype: ReportType::Output,
    });
    k.send(&KernelEvent::Close);
    assert_eq!(cabled.recv(), Some(Frame::Closed));

    drop(cabled);
    expect_destroy_then_eof(&k);
    assert!(daemon.alive());

    // And again: a new cabled gets a new device.
    let _again = FakeCabled::attach(&daemon.socket);
    expect_create(&kernel.accept(WAIT).expect("second device"));
}

#[test]
fn a_uid_that_is_not_the_user_is_refused_and_gets_no_device() {
    let other = my_uid().wrapping_add(1).to_string();
    let (_dir, kernel, _daemon) = setup(&other);
    let mut cabled = FakeCabled::connect(&_daemon.socket);
    cabled.send(&Frame::Hello { version: 1 });
    let Some(Frame::Refused(why)) = cabled.recv() else {
        panic!("expected REFUSED");
    };
    assert!(why.contains("not the user of the active session"), "{why}");
    assert!(
        why.contains(&me()),
        "the reason names the refused uid: {why}"
    );
    assert_eq!(cabled.recv(), None, "the socket closes after REFUSED");
    assert!(
        kernel.accept(SHORT).is_none(),
        "a refused cabled must not create a device"
    );
}

#[test]
fn garbage_drops_that_client_and_the_process_lives_on() {
    let (_dir, kernel, mut daemon) = setup(&me());

    // Before HELLO: a length over 1024.
    let mut c = FakeCabled::connect(&daemon.socket);
    c.send_raw(&[0x11, 0xff, 0xff, 1, 2, 3]);
    let Some(Frame::Refused(why)) = c.recv() else {
        panic!("expected REFUSED")
    };
    assert!(why.contains("malformed"), "{why}");
    assert_eq!(c.recv(), None);
    assert!(kernel.accept(SHORT).is_none());

    // After HELLO: an unknown tag destroys the device.
    let mut c = FakeCabled::attach(&daemon.socket);
    let k = kernel.accept(WAIT).unwrap();
    expect_create(&k);
    c.send_raw(&[0x7f, 0, 0]);
    let Some(Frame::Refused(why)) = c.recv() else {
        panic!("expected REFUSED")
    };
    assert!(why.contains("unknown frame tag 0x7f"), "{why}");
    expect_destroy_then_eof(&k);

    // A frame only cable-uhid may send, and an INPUT of the wrong size.
    for bad in [Frame::Ready.encode(), vec![0x11, 0, 3, 1, 2, 3]] {
        let mut c = FakeCabled::attach(&daemon.socket);
        let k = kernel.accept(WAIT).unwrap();
        expect_create(&k);
        c.send_raw(&bad);
        assert!(matches!(c.recv(), Some(Frame::Refused(_))));
        expect_destroy_then_eof(&k);
    }

    // A wrong version is refused in words.
    let mut c = FakeCabled::connect(&daemon.socket);
    c.send(&Frame::Hello { version: 9 });
    let Some(Frame::Refused(why)) = c.recv() else {
        panic!("expected REFUSED")
    };
    assert!(why.contains("version 9"), "{why}");

    assert!(daemon.alive());
    let _ok = FakeCabled::attach(&daemon.socket);
    expect_create(&kernel.accept(WAIT).unwrap());
}

#[test]
fn a_second_cabled_of_the_same_user_is_refused_and_the_first_keeps_working() {
    let (_dir, kernel, daemon) = setup(&me());
    let mut first = FakeCabled::attach(&daemon.socket);
    let k = kernel.accept(WAIT).unwrap();
    expect_create(&k);

    let mut second = FakeCabled::connect(&daemon.socket);
    second.send(&Frame::Hello { version: 1 });
    let Some(Frame::Refused(why)) = second.recv() else {
        panic!("expected REFUSED")
    };
    assert!(why.contains("already attached"), "{why}");
    assert!(kernel.accept(SHORT).is_none(), "never more than one device");
    assert!(k.quiet_for(SHORT), "the first device is left alone");

    k.send(&KernelEvent::Open);
    assert_eq!(first.recv(), Some(Frame::Opened));
    first.send(&Frame::Input([9; 64]));
    assert_eq!(k.recv(), Some(UserEvent::Input2(vec![9; 64])));
}

#[test]
fn the_kernel_going_away_tells_cabled() {
    let (_dir, kernel, mut daemon) = setup(&me());
    let mut c = FakeCabled::attach(&daemon.socket);
    let k = kernel.accept(WAIT).unwrap();
    expect_create(&k);
    drop(k);
    let Some(Frame::Refused(why)) = c.recv() else {
        panic!("expected REFUSED")
    };
    assert!(why.contains("went away"), "{why}");
    assert!(daemon.alive());
}
