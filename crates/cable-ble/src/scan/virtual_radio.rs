//! The virtual radio: adverts carried in UDP datagrams, for machines without Bluetooth.
//!
//! One datagram is one advert: the 16-bit service UUID big-endian, then the service data.
//!
//! ```text
//! ff f9 <20-byte advert> [suffix]
//! ```
//!
//! The phone side ([`VirtualRadioAdvertiser`]) re-sends its datagram at an interval, as a real
//! phone advertises every ~100 ms; the desktop side ([`VirtualRadioScanner`]) listens on a UDP
//! address. Like the air, the radio keeps nothing while nobody scans: datagrams that arrived
//! between scans are discarded when a scan starts.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::handle::{ActiveGuard, SharedStats, CHANNEL_CAPACITY};
use super::{ScanError, ScanHandle, Scanner, StartFuture};
use crate::{Advert, AdvertSource};

/// Larger than any datagram we expect; longer ones are truncated by the kernel.
const MAX_DATAGRAM: usize = 2048;

/// Encodes one advert as a virtual-radio datagram.
pub fn encode_datagram(uuid: u16, service_data: &[u8]) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(2 + service_data.len());
    datagram.extend_from_slice(&uuid.to_be_bytes());
    datagram.extend_from_slice(service_data);
    datagram
}

/// Decodes a datagram into `(uuid, service_data)`; `None` if it is shorter than the UUID.
pub fn decode_datagram(datagram: &[u8]) -> Option<(u16, &[u8])> {
    let ([hi, lo], service_data) = datagram.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes([*hi, *lo]), service_data))
}

/// Desktop side: listens for advert datagrams on a UDP socket.
#[derive(Debug)]
pub struct VirtualRadioScanner {
    socket: Arc<UdpSocket>,
    /// The same socket as a plain non-blocking std socket, to drop what arrived between scans:
    /// tokio's `try_recv_from` trusts its cached readiness and may leave such datagrams queued
    /// until the reactor next looks, so a new scan would receive them.
    drain: std::net::UdpSocket,
    local_addr: SocketAddr,
    active: Arc<AtomicBool>,
}

impl VirtualRadioScanner {
    /// Binds the socket now (so its address, e.g. an ephemeral port, is known before scanning).
    pub async fn bind(addr: SocketAddr) -> Result<Self, ScanError> {
        let failed = |cause| ScanError::Socket { addr, cause };
        let std_socket = std::net::UdpSocket::bind(addr).map_err(failed)?;
        std_socket.set_nonblocking(true).map_err(failed)?;
        let drain = std_socket.try_clone().map_err(failed)?;
        let local_addr = std_socket.local_addr().map_err(failed)?;
        let socket = UdpSocket::from_std(std_socket).map_err(failed)?;
        Ok(Self {
            socket: Arc::new(socket),
            drain,
            local_addr,
            active: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address phones should send their datagrams to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn start_scan(&self) -> Result<ScanHandle, ScanError> {
        let guard = ActiveGuard::claim(&self.active)?;
        discard_pending(&self.drain);
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let stats = Arc::new(SharedStats::default());
        let task = tokio::spawn(listen(self.socket.clone(), tx, stats.clone(), guard));
        Ok(ScanHandle::new(rx, task, stats))
    }
}

impl Scanner for VirtualRadioScanner {
    fn start(&self) -> StartFuture<'_> {
        Box::pin(async move { self.start_scan() })
    }

    fn describe(&self) -> String {
        format!("virtual radio on udp://{}", self.local_addr)
    }
}

/// Drops datagrams that arrived while nobody was scanning: every one queued in the kernel now
/// (a non-blocking read asks the kernel itself, whatever tokio last saw).
fn discard_pending(socket: &std::net::UdpSocket) {
    let mut buf = [0u8; MAX_DATAGRAM];
    let mut discarded = 0usize;
    loop {
        match socket.recv_from(&mut buf) {
            Ok(_) => discarded += 1,
            // ICMP errors from earlier sends are not datagrams; read on past them.
            Err(e) if is_transient(&e) => {}
            Err(_) => break,
        }
    }
    if discarded > 0 {
        tracing::debug!(
            discarded,
            "virtual radio: dropped datagrams from before the scan"
        );
    }
}

async fn listen(
    socket: Arc<UdpSocket>,
    tx: mpsc::Sender<Advert>,
    stats: Arc<SharedStats>,
    _active: ActiveGuard,
) -> Result<(), ScanError> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, from) = tokio::select! {
            _ = tx.closed() => return Ok(()),
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                // ICMP errors from earlier sends and the like: not fatal for a listener.
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(receive_failed(&e)),
            },
        };
        let Some((uuid, service_data)) = buf.get(..len).and_then(decode_datagram) else {
            stats.malformed();
            tracing::debug!(%from, len, "virtual radio: datagram too short for a UUID");
            continue;
        };
        let advert = Advert {
            uuid,
            service_data: service_data.to_vec(),
            rssi: None,
            address: Some(from.to_string()),
            adapter: None,
            source: AdvertSource::VirtualRadio,
        };
        // Counted first, so a consumer that got the advert also sees it counted.
        stats.advert();
        if tx.send(advert).await.is_err() {
            return Ok(());
        }
    }
}

fn receive_failed(e: &io::Error) -> ScanError {
    ScanError::Other {
        cause: super::one_line(format!("virtual radio receive failed: {e}")),
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Phone side: broadcasts one advert datagram at an interval until stopped or dropped.
#[derive(Debug)]
pub struct VirtualRadioAdvertiser {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    sent: Arc<AtomicU64>,
}

impl VirtualRadioAdvertiser {
    /// Starts advertising `service_data` under `uuid` to `target`: one datagram now, then one
    /// every `interval` (a real phone advertises about every 100 ms).
    pub async fn start(
        target: SocketAddr,
        uuid: u16,
        service_data: Vec<u8>,
        interval: Duration,
    ) -> io::Result<Self> {
        let socket = bind_for(target).await?;
        let datagram = encode_datagram(uuid, &service_data);
        let interval = interval.max(Duration::from_millis(1));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = oneshot::channel();
        let counter = sent.clone();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = ticks.tick() => {}
                }
                // Nobody listening is not an error for a radio; keep advertising.
                match socket.send_to(&datagram, target).await {
                    Ok(_) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::debug!(%target, error = %e, "virtual radio: send failed"),
                }
            }
        });
        Ok(Self {
            stop: Some(stop),
            task: Some(task),
            sent,
        })
    }

    /// Sends a single advert datagram to `target`.
    pub async fn send_once(target: SocketAddr, uuid: u16, service_data: &[u8]) -> io::Result<()> {
        let socket = bind_for(target).await?;
        socket
            .send_to(&encode_datagram(uuid, service_data), target)
            .await?;
        Ok(())
    }

    /// How many datagrams have been sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops advertising and waits until no further datagram can be sent.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for VirtualRadioAdvertiser {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An ephemeral UDP socket of the same address family as `target`.
async fn bind_for(target: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    UdpSocket::bind(local).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn datagram_layout_is_uuid_big_endian_then_data() {
        assert_eq!(encode_datagram(0xFFF9, &[1, 2, 3]), [0xff, 0xf9, 1, 2, 3]);
        assert_eq!(decode_datagram(&[0xfd, 0xe2]), Some((0xFDE2, &[][..])));
        assert_eq!(decode_datagram(&[0xff]), None);
        assert_eq!(decode_datagram(&[]), None);
    }

    proptest! {
        #[test]
        fn datagrams_round_trip(uuid: u16, data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let datagram = encode_datagram(uuid, &data);
            prop_assert_eq!(decode_datagram(&datagram), Some((uuid, &data[..])));
        }
    }
}
