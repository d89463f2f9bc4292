//! One radio shared by every session of an engine: scanning runs only while at least one
//! session waits for an advert, and each advert is matched against all pending sessions'
//! EID keys at once (as Chromium does), so fifty sessions need one scan, not fifty.
//!
//! The hub is an actor: one task owns the scanner, the matcher and the waiting sessions, so
//! starting and stopping the scan never races with registrations.
//!
//! A Bluetooth scan outlives its radio (off, rfkill-blocked, unplugged): the hub publishes the
//! radio's state to every waiting session, which tells the person and keeps waiting.

use crate::engine::config::RadioConfig;
use cable_ble::scan::{RadioState, ScanError, ScanEvent, ScanHandle, Scanner, VirtualRadioScanner};
use cable_ble::{AdvertMatcher, AdvertSource, DecryptedAdvert, DomainCheck};
use cable_keys::EidKey;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, watch};

/// A decrypted advert for one session, with what the radio saw.
#[derive(Debug)]
pub struct SeenAdvert {
    pub advert: DecryptedAdvert,
    pub uuid: u16,
    pub source: AdvertSource,
    pub rssi: Option<i16>,
    /// The Bluetooth adapter that heard it (`hci0`), when known.
    pub adapter: Option<String>,
}

#[derive(Clone)]
pub struct RadioHub {
    config: RadioConfig,
    actor: Arc<OnceLock<mpsc::UnboundedSender<Command>>>,
}

enum Command {
    Register {
        key: EidKey,
        check: DomainCheck,
        reply: oneshot::Sender<Result<Registered, ScanError>>,
    },
    Withdraw(u64),
    Status(oneshot::Sender<bool>),
}

type Registered = (
    u64,
    oneshot::Receiver<SeenAdvert>,
    watch::Receiver<RadioState>,
);

/// A session's place in the hub; dropping it withdraws the key (and stops the scan if it was
/// the last one).
pub struct Registration {
    id: u64,
    actor: mpsc::UnboundedSender<Command>,
    pub seen: oneshot::Receiver<SeenAdvert>,
    /// The radio's state while the advert is awaited (down: the scan waits for it).
    pub radio: watch::Receiver<RadioState>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.actor.send(Command::Withdraw(self.id));
    }
}

impl RadioHub {
    pub fn new(config: RadioConfig) -> Self {
        Self {
            config,
            actor: Arc::new(OnceLock::new()),
        }
    }

    fn actor(&self) -> mpsc::UnboundedSender<Command> {
        self.actor
            .get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run(self.config.clone(), rx));
                tx
            })
            .clone()
    }

    /// Adds a session's EID key; starts scanning if nothing was.
    pub async fn register(
        &self,
        key: EidKey,
        check: DomainCheck,
    ) -> Result<Registration, ScanError> {
        let actor = self.actor();
        let (reply, answer) = oneshot::channel();
        actor
            .send(Command::Register { key, check, reply })
            .map_err(|_| stopped())?;
        let (id, seen, radio) = answer.await.map_err(|_| stopped())??;
        Ok(Registration {
            id,
            actor,
            seen,
            radio,
        })
    }

    /// True while a scan runs (some session waits for an advert).
    pub async fn is_scanning(&self) -> bool {
        let Some(actor) = self.actor.get() else {
            return false;
        };
        let (tx, rx) = oneshot::channel();
        if actor.send(Command::Status(tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

fn stopped() -> ScanError {
    ScanError::Other {
        cause: "the radio task has stopped".into(),
    }
}

struct Hub {
    config: RadioConfig,
    scanner: Option<Box<dyn Scanner>>,
    scan: Option<ScanHandle>,
    matcher: AdvertMatcher<u64>,
    waiters: HashMap<u64, oneshot::Sender<SeenAdvert>>,
    next_id: u64,
    /// The running scan's radio state, for every waiting session.
    radio: watch::Sender<RadioState>,
}

async fn run(config: RadioConfig, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut hub = Hub {
        config,
        scanner: None,
        scan: None,
        matcher: AdvertMatcher::new(),
        waiters: HashMap::new(),
        next_id: 0,
        radio: watch::Sender::new(RadioState::always_ready()),
    };
    loop {
        let event = async {
            match hub.scan.as_mut() {
                Some(scan) => scan.next_event().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => hub.command(command).await,
                None => break,
            },
            event = event => match event {
                ScanEvent::Advert(advert) => hub.offer(&advert),
                ScanEvent::Radio(state) => {
                    hub.radio.send_replace(state);
                }
                ScanEvent::Ended => hub.scan_ended().await,
            },
        }
    }
    hub.stop_scan().await;
}

impl Hub {
    async fn command(&mut self, command: Command) {
        match command {
            Command::Register { key, check, reply } => {
                let result = self.register(key, check).await;
                let _ = reply.send(result);
            }
            Command::Withdraw(id) => {
                self.matcher.remove(&id);
                self.waiters.remove(&id);
                if self.waiters.is_empty() {
                    self.stop_scan().await;
                }
            }
            Command::Status(reply) => {
                let _ = reply.send(self.scan.is_some());
            }
        }
    }

    async fn register(&mut self, key: EidKey, check: DomainCheck) -> Result<Registered, ScanError> {
        if self.scan.is_none() {
            let scanner = match self.scanner.take() {
                Some(scanner) => scanner,
                None => make_scanner(&self.config).await?,
            };
            let started = scanner.start().await;
            self.scanner = Some(scanner);
            let scan = started?;
            self.radio.send_replace(scan.radio_state());
            self.scan = Some(scan);
        }
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = oneshot::channel();
        self.waiters.insert(id, tx);
        // An advert seen before this session registered may already match.
        let radio = self.radio.subscribe();
        if let Some((id, advert, uuid)) = self.matcher.add(id, key, check) {
            self.deliver(id, advert, uuid, None, None);
        }
        Ok((id, rx, radio))
    }

    fn offer(&mut self, advert: &cable_ble::Advert) {
        if let Some((id, decrypted, uuid)) = self.matcher.offer(advert) {
            self.deliver(id, decrypted, uuid, advert.rssi, advert.adapter.clone());
        }
    }

    fn deliver(
        &mut self,
        id: u64,
        advert: DecryptedAdvert,
        uuid: u16,
        rssi: Option<i16>,
        adapter: Option<String>,
    ) {
        // A session gets one advert (Chromium ignores the rest once one is accepted).
        self.matcher.remove(&id);
        if let Some(tx) = self.waiters.remove(&id) {
            let source = match self.config {
                RadioConfig::Bluetooth { .. } => AdvertSource::Bluetooth,
                RadioConfig::Virtual(_) => AdvertSource::VirtualRadio,
            };
            let _ = tx.send(SeenAdvert {
                advert,
                uuid,
                source,
                rssi,
                adapter,
            });
        }
    }

    /// The radio stopped by itself (adapter removed, socket error): fail every waiter.
    async fn scan_ended(&mut self) {
        if let Some(scan) = self.scan.take() {
            let cause = scan.stop().await.err();
            tracing::warn!(?cause, "the radio stopped while sessions were waiting");
        }
        // Dropping the senders tells each waiting session the radio is gone.
        for (id, _) in self.waiters.drain() {
            self.matcher.remove(&id);
        }
    }

    async fn stop_scan(&mut self) {
        if let Some(scan) = self.scan.take() {
            if let Err(e) = scan.stop().await {
                tracing::debug!(error = %e, "scan stopped with an error");
            }
        }
    }
}

async fn make_scanner(config: &RadioConfig) -> Result<Box<dyn Scanner>, ScanError> {
    match config {
        RadioConfig::Virtual(addr) => Ok(Box::new(VirtualRadioScanner::bind(*addr).await?)),
        #[cfg(feature = "bluetooth")]
        RadioConfig::Bluetooth { adapter } => {
            use cable_ble::scan::{AdapterChoice, BluetoothScanner};
            let choice = match adapter {
                Some(name) => AdapterChoice::Name(name.clone()),
                None => AdapterChoice::All,
            };
            Ok(Box::new(BluetoothScanner::new(choice)))
        }
        #[cfg(not(feature = "bluetooth"))]
        RadioConfig::Bluetooth { .. } => Err(ScanError::Other {
            cause: "this build of cable has no Bluetooth support; use --radio udp:HOST:PORT".into(),
        }),
    }
}
