//! Taps that sit between a desktop and the loopback tunnel server or radio and keep what the
//! desktop sent, so a test knows the exact secrets of a session (contact ID and client payload
//! of a contact request, the phone's adverts) and can look for them in logs.
//!
//! Both forward everything unchanged; neither decides anything by time.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// A TCP relay in front of a tunnel server that keeps each connection's request head.
pub struct TcpTap {
    pub addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl TcpTap {
    /// Listens on a free loopback port and relays every connection to `upstream`.
    pub async fn new(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free TCP port for the tap");
        let addr = listener.local_addr().expect("the tap's address");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, kept.clone()));
            }
        });
        Self { addr, heads, task }
    }

    /// `ws://` URL of the tap, to give the desktop as its tunnel server.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The HTTP request heads (request line and headers) of every connection so far.
    pub fn request_heads(&self) -> Vec<String> {
        self.heads.lock().expect("the tap's heads").clone()
    }
}

impl Drop for TcpTap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the request head from `client`, keeps it, then relays both ways until either closes.
async fn relay(mut client: TcpStream, upstream: SocketAddr, heads: Arc<Mutex<Vec<String>>>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if server.write_all(&head).await.is_err() {
        return;
    }
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(head.len());
    heads
        .lock()
        .expect("the tap's heads")
        .push(String::from_utf8_lossy(&head[..end]).into_owned());
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// A UDP relay in front of a desktop's virtual radio that keeps every datagram.
pub struct UdpTap {
    pub addr: SocketAddr,
    datagrams: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl UdpTap {
    /// Listens on a free loopback port and forwards every datagram to `radio`.
    pub async fn new(radio: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("a free UDP port for the tap");
        let addr = socket.local_addr().expect("the tap's address");
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let kept = datagrams.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok(n) = socket.recv(&mut buf).await {
                kept.lock()
                    .expect("the tap's datagrams")
                    .push(buf[..n].to_vec());
                // The desktop may not be listening yet; the phone sends again.
                let _ = socket.send_to(&buf[..n], radio).await;
            }
        });
        Self {
            addr,
            datagrams,
            task,
        }
    }

    /// Every datagram so far, in arrival order.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        self.datagrams.lock().expect("the tap's datagrams").clone()
    }
}

impl Drop for UdpTap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The value of header `name` (any case) in a request head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

/// The path of a request head's request line (`GET /cable/contact/... HTTP/1.1`).
pub fn request_path(head: &str) -> Option<&str> {
    head.lines().next()?.split_whitespace().nth(1)
}
