//! One attached cabled: HELLO, create the device, relay, destroy.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cable_uhid::abi::{KernelEvent, UserEvent, UHID_EVENT_SIZE};
use cable_uhid::policy::{admit, Admission, Refusal};
use cable_uhid::relay::{Decoder, Frame, PROTOCOL_VERSION};
use cable_uhid::{descriptor, report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::device::Device;
use crate::seat::Seat;

/// A cabled that connects must say HELLO within this time, or it frees the slot.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A cabled that stops reading for this long is dropped (the kernel queue would overflow).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the attached cabled's user is checked against the seat's active user.
const RECHECK: Duration = Duration::from_secs(5);

/// Shared by all sessions.
pub struct Context {
    pub device: PathBuf,
    pub seat: Seat,
    /// Held while a device exists, so a replacing session waits for the old one's DESTROY.
    pub device_lock: tokio::sync::Mutex<()>,
}

/// How a session ended; logged by the caller.
#[derive(Debug)]
pub enum End {
    /// cabled closed the socket.
    Disconnected,
    /// We sent REFUSED (to a running session too) with this reason.
    Refused(String),
    /// The socket failed.
    Io(std::io::Error),
}

/// A connected cabled: the socket halves and the frame decoder.
pub struct Peer {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    decoder: Decoder,
    buf: Vec<u8>,
}

impl Peer {
    async fn send(&mut self, frame: &Frame) -> Result<(), End> {
        let bytes = frame.encode();
        match tokio::time::timeout(SEND_TIMEOUT, self.wr.write_all(&bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::Io(e)),
            Err(_) => Err(End::Io(std::io::Error::other(
                "cabled stopped reading for 5 s",
            ))),
        }
    }

    /// Sends REFUSED (best effort: the peer may be gone) and ends the session.
    async fn refuse(&mut self, reason: String) -> End {
        let _ = self.send(&Frame::Refused(reason.clone())).await;
        let _ = self.wr.shutdown().await;
        End::Refused(reason)
    }

    /// The next frame; `None` when cabled closed the socket.
    async fn next(&mut self) -> Result<Option<Frame>, End> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(f)) => return Ok(Some(f)),
                Ok(None) => {}
                Err(e) => {
                    return Err(self
                        .refuse(format!("malformed frame from cabled: {e}"))
                        .await)
                }
            }
            self.buf.resize(4096, 0);
            let n = self.rd.read(&mut self.buf).await.map_err(End::Io)?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.push(&self.buf[..n]);
        }
    }
}

impl Peer {
    pub fn new(stream: UnixStream) -> Peer {
        let (rd, wr) = stream.into_split();
        Peer {
            rd,
            wr,
            decoder: Decoder::new(),
            buf: Vec::new(),
        }
    }
}

/// Refuses a cabled before it holds the slot.
pub async fn refuse(p: &mut Peer, refusal: &Refusal) -> End {
    p.refuse(refusal.to_string()).await
}

/// Waits for a HELLO of our version. Only then does a cabled take the slot, so a connection
/// that never says HELLO cannot keep its user's real cabled out.
pub async fn await_hello(p: &mut Peer) -> Result<(), End> {
    match tokio::time::timeout(HELLO_TIMEOUT, p.next()).await {
        Err(_) => Err(p.refuse("no HELLO within 10 s".into()).await),
        Ok(Err(end)) => Err(end),
        Ok(Ok(None)) => Err(End::Disconnected),
        Ok(Ok(Some(Frame::Hello {
            version: PROTOCOL_VERSION,
        }))) => Ok(()),
        Ok(Ok(Some(Frame::Hello { version }))) => Err(p
            .refuse(format!(
                "cabled speaks relay protocol version {version}, this cable-uhid speaks {PROTOCOL_VERSION}: update one of them"
            ))
            .await),
        Ok(Ok(Some(f))) => Err(p
            .refuse(format!(
                "expected HELLO first, got frame tag {:#04x}",
                f.tag()
            ))
            .await),
    }
}

/// Runs a cabled of `uid` that said HELLO and holds the slot, until it leaves or is dropped
/// (`kick`): create the device, READY, relay, destroy.
pub async fn run(
    ctx: Arc<Context>,
    mut p: Peer,
    uid: u32,
    mut kick: oneshot::Receiver<Refusal>,
) -> End {
    let _device_guard = tokio::select! {
        g = ctx.device_lock.lock() => g,
        r = &mut kick => return p.refuse(reason(r)).await,
    };
    let device = match Device::open(&ctx.device) {
        Ok(d) => d,
        Err(e) => {
            warn!("cannot open the uhid device: {e}");
            return p
                .refuse(format!("cannot create the security key: {e}"))
                .await;
        }
    };
    let create = UserEvent::Create2(descriptor::device())
        .encode()
        .expect("the fixed device fits create2");
    if let Err(e) = device.write_event(&create).await {
        warn!("uhid refused UHID_CREATE2: {e}");
        return p
            .refuse(format!(
                "the kernel refused to create the security key: {e}"
            ))
            .await;
    }
    info!(uid, "security key device created");
    let end = match p.send(&Frame::Ready).await {
        Ok(()) => relay(&ctx, &mut p, &device, uid, &mut kick).await,
        Err(end) => end,
    };
    let destroy = UserEvent::Destroy.encode().expect("destroy encodes");
    if let Err(e) = device.write_event(&destroy).await {
        // Closing the fd below destroys it anyway.
        debug!("UHID_DESTROY failed ({e}); closing the fd destroys the device");
    }
    drop(device);
    info!(uid, "security key device destroyed");
    end
}

fn reason(r: Result<Refusal, oneshot::error::RecvError>) -> String {
    match r {
        Ok(refusal) => refusal.to_string(),
        Err(_) => "cable-uhid is shutting this session down".into(),
    }
}

async fn relay(
    ctx: &Context,
    p: &mut Peer,
    device: &Device,
    uid: u32,
    kick: &mut oneshot::Receiver<Refusal>,
) -> End {
    let mut event = Box::new([0u8; UHID_EVENT_SIZE]);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = p.next() => match frame {
                Err(end) => return end,
                Ok(None) => return End::Disconnected,
                Ok(Some(Frame::Input(r))) => {
                    let rec = UserEvent::Input2(r.to_vec()).encode().expect("64 bytes fit input2");
                    if let Err(e) = device.write_event(&rec).await {
                        return p.refuse(format!("the kernel refused an input report: {e}")).await;
                    }
                }
                Ok(Some(f)) => {
                    return p.refuse(format!("frame tag {:#04x} is not one cabled may send after HELLO", f.tag())).await
                }
            },
            n = device.read_event(&mut event) => {
                let n = match n {
                    Ok(0) => return p.refuse("the uhid device went away".into()).await,
                    Ok(n) => n,
                    Err(e) => return p.refuse(format!("reading the uhid device failed: {e}")).await,
                };
                if let Err(end) = kernel_event(p, device, &event[..n]).await {
                    return end;
                }
            }
            r = &mut *kick => return p.refuse(reason(r)).await,
            _ = recheck.tick(), if ctx.seat.changes() => {
                if let Admission::Refuse(why) = admit(uid, &ctx.seat.active_user().await, None) {
                    warn!(uid, "dropping the attached cabled: {why}");
                    return p.refuse(why.to_string()).await;
                }
            }
        }
    }
}

/// One kernel event: relayed, answered or ignored. Logs never show report contents.
async fn kernel_event(p: &mut Peer, device: &Device, record: &[u8]) -> Result<(), End> {
    let ev = match KernelEvent::decode(record) {
        Ok(ev) => ev,
        Err(e) => {
            warn!("ignoring an unreadable uhid event: {e}");
            return Ok(());
        }
    };
    match ev {
        KernelEvent::Output { data, rtype } => {
            if rtype != cable_uhid::abi::ReportType::Output {
                warn!(?rtype, "ignoring a non-output report the host wrote");
                return Ok(());
            }
            match report::output_report(&data) {
                Ok(r) => p.send(&Frame::Output(r)).await?,
                Err(e) => warn!("dropping a report the host wrote: {e}"),
            }
        }
        KernelEvent::Open => p.send(&Frame::Opened).await?,
        KernelEvent::Close => p.send(&Frame::Closed).await?,
        KernelEvent::Start { dev_flags } => debug!(dev_flags, "uhid started the device"),
        KernelEvent::Stop => debug!("uhid stopped the device"),
        // A FIDO key has no feature reports: answer at once so the caller is not left waiting.
        KernelEvent::GetReport { id, rnum, rtype } => {
            debug!(rnum, ?rtype, "refusing GET_REPORT");
            reply(
                device,
                UserEvent::GetReportReply {
                    id,
                    err: libc::EIO as u16,
                    data: vec![],
                },
            )
            .await?;
        }
        KernelEvent::SetReport {
            id, rnum, rtype, ..
        } => {
            debug!(rnum, ?rtype, "refusing SET_REPORT");
            reply(
                device,
                UserEvent::SetReportReply {
                    id,
                    err: libc::EIO as u16,
                },
            )
            .await?;
        }
        KernelEvent::Unknown(kind) => debug!(kind, "ignoring uhid event"),
    }
    Ok(())
}

async fn reply(device: &Device, ev: UserEvent) -> Result<(), End> {
    let rec = ev.encode().expect("replies fit");
    device.write_event(&rec).await.map_err(End::Io)
}
