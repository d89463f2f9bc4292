//! The security key while attached: cable-uhid's reports go through the CTAP-HID device
//! machine; what it asks is answered locally or relayed to the phone (one request at a time,
//! as CTAP-HID allows), and the machine's reports go back. Sleeps until the machine's own
//! deadline (a keepalive, a message timeout) and has none while idle.

use crate::ipc::server::Daemon;
use crate::security_key::attach::{next_frame, AttachError};
use crate::security_key::request;
use cable_hid::{Device, DeviceConfig, DeviceEvent, Handling, Keepalive, LocalAnswers};
use cable_uhid::relay::{Decoder, Frame};
use rand_core::{OsRng, RngCore};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The request being relayed to the phone.
struct Relaying {
    cid: u32,
    /// Tells a late answer from the answer to a newer request on the same channel.
    generation: u64,
    cancel: CancellationToken,
}

/// An answer from a relay task: (generation, cid, status ‖ CBOR).
type Answer = (u64, u32, Vec<u8>);

/// Serves the device until cable-uhid goes away or the daemon stops; answers why it ended.
pub async fn serve(daemon: Arc<Daemon>, mut stream: UnixStream, mut decoder: Decoder) -> String {
    let config = DeviceConfig {
        channel_seed: OsRng.next_u32(),
        ..DeviceConfig::default()
    };
    let mut key = Key {
        daemon,
        device: Device::new(config),
        local: LocalAnswers::new(),
        relaying: None,
        generation: 0,
    };
    let (answers_tx, mut answers) = mpsc::channel::<Answer>(4);
    let reason = loop {
        key.drain_events(&answers_tx);
        if let Err(e) = key.flush(&mut stream).await {
            break e.to_string();
        }
        let deadline = key.device.poll_timeout();
        tokio::select! {
            _ = key.daemon.shutdown.cancelled() => break "cabled is stopping".to_string(),
            frame = next_frame(&mut stream, &mut decoder) => match frame {
                Ok(frame) => key.handle_frame(frame),
                Err(AttachError::Closed) => break "cable-uhid closed the connection".to_string(),
                Err(e) => break e.to_string(),
            },
            _ = sleep_until(deadline) => key.device.handle_timeout(Instant::now()),
            Some(answer) = answers.recv() => key.answer(answer),
        }
    };
    key.cancel_relay();
    reason
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

struct Key {
    daemon: Arc<Daemon>,
    device: Device,
    local: LocalAnswers,
    relaying: Option<Relaying>,
    generation: u64,
}

impl Key {
    fn handle_frame(&mut self, frame: Frame) {
        match frame {
            Frame::Output(report) => {
                // Only a wrong-sized report is refused, and the relay's frames are 64 bytes.
                let _ = self.device.handle_report(Instant::now(), &report);
            }
            Frame::Opened => tracing::debug!("a program opened the security key"),
            Frame::Closed => {
                // The program went away: its channels and its request with it; the phone is
                // told (the session's cancel sends shutdown).
                tracing::debug!("the program closed the security key");
                self.cancel_relay();
                self.device.reset();
                self.local.reset();
            }
            other => tracing::debug!(
                tag = other.tag(),
                "ignored a frame cable-uhid should not send"
            ),
        }
    }

    fn drain_events(&mut self, answers: &mpsc::Sender<Answer>) {
        while let Some(event) = self.device.poll_event() {
            match event {
                DeviceEvent::Cbor { cid, request } => self.request(cid, request, answers),
                DeviceEvent::Cancel { cid, reason } => {
                    if self.relaying.as_ref().is_some_and(|r| r.cid == cid) {
                        tracing::info!(?reason, "the program cancelled its security-key request");
                        self.cancel_relay();
                    }
                }
                DeviceEvent::Wink { .. } => tracing::debug!("wink (nothing to blink)"),
            }
        }
    }

    fn request(&mut self, cid: u32, request: Vec<u8>, answers: &mpsc::Sender<Answer>) {
        let now = Instant::now();
        match self.local.handle(&request) {
            Handling::Reply { response, .. } => self.respond(now, cid, &response),
            Handling::AwaitTouch { probe, on_touch } => {
                // The person chose the phone by installing it as their key: count the probe
                // as touched, so the program goes on to its real request (which the phone
                // then confirms).
                tracing::debug!(?probe, "touch probe answered as touched");
                self.respond(now, cid, &on_touch)
            }
            Handling::Relay { request_type } => {
                self.generation += 1;
                let cancel = self.daemon.shutdown.child_token();
                self.relaying = Some(Relaying {
                    cid,
                    generation: self.generation,
                    cancel: cancel.clone(),
                });
                self.device.set_keepalive(cid, Keepalive::UpNeeded);
                let (daemon, answers, generation) =
                    (self.daemon.clone(), answers.clone(), self.generation);
                self.daemon.tasks.spawn(async move {
                    let response = request::relay(daemon, request, request_type, cancel).await;
                    let _ = answers.send((generation, cid, response)).await;
                });
            }
        }
    }

    fn answer(&mut self, (generation, cid, response): Answer) {
        let current = self
            .relaying
            .as_ref()
            .is_some_and(|r| r.generation == generation && r.cid == cid);
        if !current {
            return; // cancelled meanwhile: the device has already answered the host
        }
        self.relaying = None;
        self.respond(Instant::now(), cid, &response);
    }

    fn respond(&mut self, now: Instant, cid: u32, response: &[u8]) {
        if let Err(e) = self.device.respond(now, cid, response) {
            tracing::debug!(error = %e, "an answer could not be given to the program");
        }
    }

    fn cancel_relay(&mut self) {
        if let Some(relaying) = self.relaying.take() {
            relaying.cancel.cancel();
        }
    }

    async fn flush(&mut self, stream: &mut UnixStream) -> Result<(), std::io::Error> {
        let mut out = Vec::new();
        while let Some(report) = self.device.poll_report() {
            Frame::Input(report).encode_into(&mut out);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        Ok(())
    }
}
