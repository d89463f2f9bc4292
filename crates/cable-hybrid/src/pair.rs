//! A desktop and a phone in one process on virtual time (after quinn-proto's `tests/util.rs`
//! `Pair`): the tunnel is two queues, the radio a method call, the clock a number the harness
//! moves. Hooks drop, delay, hold back (to reorder) or alter any message, so a test can put
//! both roles through every network fault without a socket or a sleep.
//!
//! The phone side is any [`Endpoint`]: the bare [`crate::Phone`] (the test answers its
//! requests) or a whole software phone built on it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::desktop::{Advert, Desktop, DesktopEvent};
use crate::{Endpoint, Transmit};

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToPhone,
    ToDesktop,
}

/// What the network does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Deliver,
    Drop,
    /// Delivered this much later than the pair's latency.
    Delay(Duration),
    /// Kept back until [`Pair::release_held`]: messages sent after it overtake it.
    Hold,
}

/// A hook sees every message (and may change its bytes) before the network takes it.
pub type Hook = Box<dyn FnMut(Direction, &mut Vec<u8>) -> Fate>;

struct InFlight {
    at: Instant,
    /// `None` is the close.
    bytes: Option<Vec<u8>>,
}

/// Both ends of a session and the network between them.
pub struct Pair<P: Endpoint> {
    pub now: Instant,
    pub desktop: Desktop,
    pub phone: P,
    /// Everything each side reported, oldest first.
    pub desktop_events: Vec<DesktopEvent>,
    pub phone_events: Vec<P::Event>,
    /// One-way network latency.
    pub latency: Duration,
    /// Answer the desktop's [`DesktopEvent::OpenTunnel`] by opening the tunnel (as a tunnel
    /// server that accepts at once does); `false` leaves it to the test.
    pub auto_open_tunnel: bool,
    /// Whether the opened tunnel echoes the signal-connection header (linked flow).
    pub signal_connection: bool,
    /// Every message each side sent, as sent (before hooks), for transcript assertions.
    pub sent_to_phone: Vec<Vec<u8>>,
    pub sent_to_desktop: Vec<Vec<u8>>,
    hook: Option<Hook>,
    to_phone: VecDeque<InFlight>,
    to_desktop: VecDeque<InFlight>,
    held: Vec<(Direction, Vec<u8>)>,
}

/// Bound on steps in one [`Pair::run`], so a livelock fails the test instead of hanging it.
const MAX_STEPS: usize = 10_000;

impl<P: Endpoint> Pair<P> {
    pub fn new(now: Instant, desktop: Desktop, phone: P) -> Self {
        Self {
            now,
            desktop,
            phone,
            desktop_events: Vec::new(),
            phone_events: Vec::new(),
            latency: Duration::from_millis(20),
            auto_open_tunnel: true,
            signal_connection: false,
            sent_to_phone: Vec::new(),
            sent_to_desktop: Vec::new(),
            hook: None,
            to_phone: VecDeque::new(),
            to_desktop: VecDeque::new(),
            held: Vec::new(),
        }
    }

    /// Sets the network hook (replacing any earlier one).
    pub fn set_hook(&mut self, hook: impl FnMut(Direction, &mut Vec<u8>) -> Fate + 'static) {
        self.hook = Some(Box::new(hook));
    }

    /// The phone's advert reaches the desktop's radio now.
    pub fn advertise(&mut self, advert: Advert) {
        self.desktop.handle_advert(self.now, advert);
        self.settle();
    }

    /// Sends held messages now, in the order they were held.
    pub fn release_held(&mut self) {
        for (direction, bytes) in std::mem::take(&mut self.held) {
            self.enqueue(direction, Some(bytes));
        }
    }

    /// Runs until nothing is in flight and nothing is due: every message is delivered, time
    /// moving forward only to the next arrival. Deadlines that fall before the next arrival
    /// fire. Stops at `limit` of virtual time from now.
    pub fn run_for(&mut self, limit: Duration) {
        let end = self.now + limit;
        for _ in 0..MAX_STEPS {
            self.settle();
            let Some(next) = self.next_wakeup() else {
                return;
            };
            if next > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(next);
            self.deliver_due();
            self.fire_timeouts();
        }
        panic!("the pair did not settle within {MAX_STEPS} steps");
    }

    /// [`Self::run_for`] until the network is quiet, without letting any deadline expire
    /// that lies beyond the last arrival.
    pub fn run(&mut self) {
        for _ in 0..MAX_STEPS {
            self.settle();
            let Some(next) = self.next_arrival() else {
                return;
            };
            self.now = self.now.max(next);
            self.deliver_due();
            self.fire_timeouts();
        }
        panic!("the pair did not settle within {MAX_STEPS} steps");
    }

    /// Moves the clock forward by `by`, firing every deadline and delivery on the way.
    pub fn advance(&mut self, by: Duration) {
        self.run_for(by);
        self.settle();
    }

    /// Drains both sides' transmits and events without moving the clock.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.desktop.poll_transmit() {
                moved = true;
                self.transmit(Direction::ToPhone, t);
            }
            while let Some(t) = self.phone.poll_transmit() {
                moved = true;
                self.transmit(Direction::ToDesktop, t);
            }
            while let Some(event) = self.desktop.poll_event() {
                moved = true;
                let open = matches!(event, DesktopEvent::OpenTunnel(_));
                self.desktop_events.push(event);
                if open && self.auto_open_tunnel {
                    self.desktop
                        .handle_tunnel_open(self.now, self.signal_connection);
                }
            }
            while let Some(event) = self.phone.poll_event() {
                moved = true;
                self.phone_events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    fn transmit(&mut self, direction: Direction, transmit: Transmit) {
        let bytes = match transmit {
            Transmit::Close => return self.enqueue(direction, None),
            Transmit::Message(bytes) => bytes,
        };
        match direction {
            Direction::ToPhone => self.sent_to_phone.push(bytes.clone()),
            Direction::ToDesktop => self.sent_to_desktop.push(bytes.clone()),
        }
        let mut bytes = bytes;
        let fate = match &mut self.hook {
            Some(hook) => hook(direction, &mut bytes),
            None => Fate::Deliver,
        };
        match fate {
            Fate::Deliver => self.enqueue(direction, Some(bytes)),
            Fate::Drop => {}
            Fate::Delay(extra) => self.enqueue_at(direction, Some(bytes), extra),
            Fate::Hold => self.held.push((direction, bytes)),
        }
    }

    fn enqueue(&mut self, direction: Direction, bytes: Option<Vec<u8>>) {
        self.enqueue_at(direction, bytes, Duration::ZERO);
    }

    fn enqueue_at(&mut self, direction: Direction, bytes: Option<Vec<u8>>, extra: Duration) {
        let at = self.now + self.latency + extra;
        let queue = match direction {
            Direction::ToPhone => &mut self.to_phone,
            Direction::ToDesktop => &mut self.to_desktop,
        };
        // Keep each queue ordered by arrival; equal times keep send order.
        let index = queue.iter().position(|m| m.at > at).unwrap_or(queue.len());
        queue.insert(index, InFlight { at, bytes });
    }

    fn next_arrival(&self) -> Option<Instant> {
        let first = |q: &VecDeque<InFlight>| q.front().map(|m| m.at);
        [first(&self.to_phone), first(&self.to_desktop)]
            .into_iter()
            .flatten()
            .min()
    }

    fn next_wakeup(&self) -> Option<Instant> {
        [
            self.next_arrival(),
            self.desktop.poll_timeout(),
            self.phone.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn deliver_due(&mut self) {
        while self.to_phone.front().is_some_and(|m| m.at <= self.now) {
            let Some(message) = self.to_phone.pop_front() else {
                break;
            };
            match message.bytes {
                Some(bytes) => self.phone.handle_message(self.now, &bytes),
                None => self.phone.handle_close(self.now),
            }
            self.settle();
        }
        while self.to_desktop.front().is_some_and(|m| m.at <= self.now) {
            let Some(message) = self.to_desktop.pop_front() else {
                break;
            };
            match message.bytes {
                Some(bytes) => self.desktop.handle_message(self.now, &bytes),
                None => self.desktop.handle_close(self.now),
            }
            self.settle();
        }
    }

    fn fire_timeouts(&mut self) {
        if self.desktop.poll_timeout().is_some_and(|t| t <= self.now) {
            self.desktop.handle_timeout(self.now);
        }
        if self.phone.poll_timeout().is_some_and(|t| t <= self.now) {
            self.phone.handle_timeout(self.now);
        }
        self.settle();
    }
}
