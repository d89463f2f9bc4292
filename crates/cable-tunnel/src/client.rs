//! The websocket client (HYBRID.md §5.2–5.4, §11): the crate's only I/O, kept thin.
//!
//! [`connect`] opens one of the three endpoints with `Sec-WebSocket-Protocol: fido.cable` and
//! an `Origin`, insists the server selects `fido.cable`, follows up to five redirects
//! (re-sending every header, never downgrading wss to ws), and turns each failure into advice a
//! person can act on. [`TunnelSocket`] then moves whole binary messages, at most 1 MiB each.

use crate::urls::{
    parse_routing_id_header, TunnelBase, PROTOCOL_HEADER, ROUTING_ID_HEADER,
    SIGNAL_CONNECTION_HEADER, WEBSOCKET_PROTOCOL,
};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError, UrlError};
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::header::InvalidHeaderValue;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Chromium closes the tunnel on larger incoming messages (`websocket_adapter.cc`).
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// libwebauthn follows at most this many redirects.
pub const MAX_REDIRECTS: usize = 5;

/// The request type moved to the sans-IO [`crate::request`]; this path keeps compiling.
pub use crate::request::TunnelRequest;

/// How to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The tunnel server: the domain ID from the advert or link, or one override URL
    /// (`ws://127.0.0.1:PORT`) for every domain.
    pub base: TunnelBase,
    /// Limit for DNS, TCP, TLS, the websocket handshake and all redirects together.
    pub connect_timeout: Duration,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Largest incoming message (and frame) accepted.
    pub max_message_size: usize,
    /// TLS configuration; `None` uses ring with the webpki root certificates.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            base: TunnelBase::Domain(0),
            connect_timeout: Duration::from_secs(20),
            max_redirects: MAX_REDIRECTS,
            max_message_size: MAX_MESSAGE_SIZE,
            tls: None,
        }
    }
}

/// Why the tunnel could not be opened or used.
///
/// Each Display is one complete line for a person, lower-level cause included; the cause is
/// also kept typed (a [`Cause`], or the crate's [`crate::Error`]) for programs. Because Display
/// already shows it, [`std::error::Error::source`] returns `None` for every variant, so a
/// printer that walks the chain (`{:#}` of anyhow) does not repeat it. `Clone`, so a failure
/// can be reported to more than one waiter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot build the tunnel URL: {0}")]
    Url(crate::Error),
    #[error(
        "the tunnel server rejected the request (HTTP 400): likely the fido.cable subprotocol \
         was missing or an ID in the URL is malformed"
    )]
    BadRequest,
    #[error("the tunnel server does not know this tunnel (HTTP 404)")]
    NotFound,
    #[error("the contact ID is no longer valid (HTTP 410 Gone): forget this linked device")]
    Gone,
    #[error("the tunnel server says the request came too late (HTTP 418): the tunnel has expired")]
    TooLate,
    #[error("the tunnel server answered HTTP {0} instead of opening the tunnel")]
    Status(u16),
    #[error("the tunnel server redirected more than {0} times")]
    TooManyRedirects(usize),
    #[error("the tunnel server sent an unusable redirect: {0}")]
    BadRedirect(String),
    #[error("cannot open the tunnel URL {url}: {cause}")]
    BadUrl { url: String, cause: Cause },
    #[error("tunnel server {host} is unreachable ({reason}): check the network connection")]
    Unreachable { host: String, reason: Cause },
    #[error("TLS with tunnel server {host} failed: {reason}")]
    Tls { host: String, reason: Cause },
    #[error("connecting to the tunnel server took longer than {0:?}")]
    Timeout(Duration),
    #[error("the tunnel server did not select the fido.cable websocket subprotocol")]
    SubprotocolNotSelected,
    #[error("the tunnel server sent no X-caBLE-Routing-ID header for a new tunnel")]
    MissingRoutingId,
    #[error("the tunnel server sent X-caBLE-Routing-ID more than once")]
    DuplicateRoutingId,
    #[error("the tunnel server's X-caBLE-Routing-ID is invalid: {0}")]
    BadRoutingId(crate::Error),
    #[error("the websocket handshake failed: {0}")]
    Handshake(Cause),
    #[error("the peer sent a text message; the tunnel carries binary messages only")]
    TextMessage,
    #[error("the peer sent a message of {size} bytes; the limit is {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("the tunnel connection failed: {0}")]
    Socket(Cause),
}

impl From<crate::Error> for ConnectError {
    fn from(e: crate::Error) -> Self {
        Self::Url(e)
    }
}

/// The lower-level error behind a [`ConnectError`], kept whole; shared through `Arc` so
/// errors stay `Clone`. Displays exactly as the error it holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Cause {
    /// TCP: connecting, reading, writing.
    Io(Arc<std::io::Error>),
    /// The websocket layer (tungstenite).
    WebSocket(Arc<WsError>),
    /// rustls: certificates, protocol versions, the provider.
    Tls(rustls::Error),
    /// A header value that HTTP cannot carry (from a base URL with odd characters).
    Header(Arc<InvalidHeaderValue>),
}

impl Cause {
    /// The held error, for downcasting.
    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        match self {
            Self::Io(e) => &**e,
            Self::WebSocket(e) => &**e,
            Self::Tls(e) => e,
            Self::Header(e) => &**e,
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // tungstenite prefixes "TLS error: "; the variant showing it already says TLS.
            Self::WebSocket(e) => match &**e {
                WsError::Tls(tls) => std::fmt::Display::fmt(tls, f),
                other => std::fmt::Display::fmt(other, f),
            },
            other => std::fmt::Display::fmt(other.error(), f),
        }
    }
}

impl From<std::io::Error> for Cause {
    fn from(e: std::io::Error) -> Self {
        Self::Io(Arc::new(e))
    }
}

impl From<WsError> for Cause {
    fn from(e: WsError) -> Self {
        Self::WebSocket(Arc::new(e))
    }
}

/// An open tunnel: whole binary messages in both directions.
#[derive(Debug)]
pub struct TunnelSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    routing_id: Option<[u8; 3]>,
    signal_connection: bool,
    max_message_size: usize,
}

impl TunnelSocket {
    /// The routing ID the server assigned (`New` requests only).
    pub fn routing_id(&self) -> Option<[u8; 3]> {
        self.routing_id
    }

    /// True if the server echoed `X-caBLE-Signal-Connection` on a `Contact` request: it will
    /// send a single `00` message when the phone joins.
    pub fn signal_connection(&self) -> bool {
        self.signal_connection
    }

    /// Sends one binary message.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ConnectError> {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .map_err(|e| ConnectError::Socket(e.into()))
    }

    /// The next binary message, or `None` once the connection is closed. Pings are answered;
    /// text messages and messages over the size limit are errors, as in Chromium.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, ConnectError> {
        loop {
            let Some(next) = self.ws.next().await else {
                return Ok(None);
            };
            match next {
                Ok(Message::Binary(b)) => return Ok(Some(b.to_vec())),
                Ok(Message::Text(_)) => return Err(ConnectError::TextMessage),
                Ok(Message::Close(_)) => return Ok(None),
                // tungstenite queues the pong itself and flushes it with the next I/O.
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => return Ok(None),
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, .. })) => {
                    return Err(ConnectError::MessageTooLarge {
                        size,
                        max: self.max_message_size,
                    })
                }
                Err(e) => return Err(ConnectError::Socket(e.into())),
            }
        }
    }

    /// Closes the websocket politely.
    pub async fn close(&mut self) -> Result<(), ConnectError> {
        match self.ws.close(None).await {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Ok(()),
            Err(e) => Err(ConnectError::Socket(e.into())),
        }
    }
}

/// Opens the tunnel endpoint `request` on `opts.base`.
pub async fn connect(
    request: TunnelRequest,
    opts: &ClientOptions,
) -> Result<TunnelSocket, ConnectError> {
    let limit = opts.connect_timeout;
    tokio::time::timeout(limit, connect_following_redirects(request, opts))
        .await
        .map_err(|_| ConnectError::Timeout(limit))?
}

async fn connect_following_redirects(
    request: TunnelRequest,
    opts: &ClientOptions,
) -> Result<TunnelSocket, ConnectError> {
    let mut url = request.url(&opts.base)?;
    let headers = request.headers(&opts.base)?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(opts.max_message_size))
        .max_frame_size(Some(opts.max_message_size));
    let connector = Connector::Rustls(match &opts.tls {
        Some(tls) => tls.clone(),
        None => default_tls()?,
    });

    for _ in 0..=opts.max_redirects {
        let http_request = build_request(&url, &headers)?;
        let (host, port) = host_and_port(&http_request)?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| ConnectError::Unreachable {
                host: host.clone(),
                reason: e.into(),
            })?;
        // Small protocol messages: do not wait to coalesce them.
        let _ = tcp.set_nodelay(true);
        let result = tokio_tungstenite::client_async_tls_with_config(
            http_request,
            tcp,
            Some(config),
            Some(connector.clone()),
        )
        .await;
        match result {
            Ok((ws, response)) => return finish(ws, &response, &request, opts),
            Err(WsError::Http(response)) if response.status().is_redirection() => {
                url = redirect_target(&url, &response)?;
                tracing::debug!(%url, "tunnel server redirected");
            }
            Err(e) => {
                return Err(gone_only_for_contact(
                    map_handshake_error(e, &host),
                    &request,
                ))
            }
        }
    }
    Err(ConnectError::TooManyRedirects(opts.max_redirects))
}

/// 410 means "forget this linked device" only for a contact request (§5.3); on the QR flow's
/// endpoints it is just a status the server should not have sent.
fn gone_only_for_contact(e: ConnectError, request: &TunnelRequest) -> ConnectError {
    match (e, request) {
        (ConnectError::Gone, TunnelRequest::Contact { .. }) => ConnectError::Gone,
        (ConnectError::Gone, _) => ConnectError::Status(410),
        (other, _) => other,
    }
}

/// The websocket request for `url` carrying every header of the [`TunnelRequest`]; redirects
/// re-send them all.
fn build_request(url: &str, headers: &[(&'static str, String)]) -> Result<Request, ConnectError> {
    let mut req = url
        .into_client_request()
        .map_err(|e| ConnectError::BadUrl {
            url: url.to_string(),
            cause: e.into(),
        })?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(|e| ConnectError::BadUrl {
            url: url.to_string(),
            cause: Cause::Header(Arc::new(e)),
        })?;
        req.headers_mut().insert(*name, value);
    }
    Ok(req)
}

fn host_and_port(req: &Request) -> Result<(String, u16), ConnectError> {
    let uri = req.uri();
    let host = uri
        .host()
        .ok_or_else(|| ConnectError::BadRedirect(uri.to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let default_port = if uri.scheme_str() == Some("wss") {
        443
    } else {
        80
    };
    Ok((host, uri.port_u16().unwrap_or(default_port)))
}

/// Resolves `Location` against the current URL, mapping http(s) to ws(s); a redirect may not
/// leave TLS, since the contact request carries the client payload.
fn redirect_target(current: &str, response: &Response) -> Result<String, ConnectError> {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ConnectError::BadRedirect("no Location header".into()))?;
    let target = if let Some(rest) = location.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = location.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if location.starts_with("wss://") || location.starts_with("ws://") {
        location.to_string()
    } else if location.starts_with('/') {
        // Path-absolute: keep scheme and authority.
        let scheme_end = current.find("://").map_or(0, |i| i + 3);
        let authority_end = current[scheme_end..]
            .find('/')
            .map_or(current.len(), |i| scheme_end + i);
        format!("{}{location}", &current[..authority_end])
    } else {
        return Err(ConnectError::BadRedirect(location.to_string()));
    };
    if current.starts_with("wss://") && !target.starts_with("wss://") {
        return Err(ConnectError::BadRedirect(format!(
            "{location} would leave TLS"
        )));
    }
    Ok(target)
}

fn finish(
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    response: &Response,
    request: &TunnelRequest,
    opts: &ClientOptions,
) -> Result<TunnelSocket, ConnectError> {
    // tungstenite already failed the handshake if the server chose another subprotocol or
    // none; check again so this rule does not hang on a library detail.
    let selected = response
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok());
    if selected != Some(WEBSOCKET_PROTOCOL) {
        return Err(ConnectError::SubprotocolNotSelected);
    }
    let routing_id = if request.expects_routing_id() {
        let mut values = response.headers().get_all(ROUTING_ID_HEADER).iter();
        let first = values.next().ok_or(ConnectError::MissingRoutingId)?;
        if values.next().is_some() {
            return Err(ConnectError::DuplicateRoutingId);
        }
        let text = first.to_str().map_err(|_| {
            ConnectError::BadRoutingId(crate::Error::InvalidHexId {
                field: "routing ID",
                digits: 6,
                got: String::new(),
            })
        })?;
        Some(parse_routing_id_header(text).map_err(ConnectError::BadRoutingId)?)
    } else {
        None
    };
    let signal_connection =
        request.asks_for_signal() && response.headers().contains_key(SIGNAL_CONNECTION_HEADER);
    Ok(TunnelSocket {
        ws,
        routing_id,
        signal_connection,
        max_message_size: opts.max_message_size,
    })
}

fn map_handshake_error(e: WsError, host: &str) -> ConnectError {
    match e {
        WsError::Http(response) => match response.status() {
            StatusCode::BAD_REQUEST => ConnectError::BadRequest,
            StatusCode::NOT_FOUND => ConnectError::NotFound,
            StatusCode::GONE => ConnectError::Gone,
            StatusCode::IM_A_TEAPOT => ConnectError::TooLate,
            other => ConnectError::Status(other.as_u16()),
        },
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
            ConnectError::SubprotocolNotSelected
        }
        e @ WsError::Tls(_) => ConnectError::Tls {
            host: host.to_string(),
            reason: e.into(),
        },
        WsError::Io(io) => {
            // tokio-rustls reports TLS failures as I/O errors wrapping a rustls error.
            let is_tls = io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            if is_tls {
                ConnectError::Tls {
                    host: host.to_string(),
                    reason: io.into(),
                }
            } else {
                ConnectError::Handshake(io.into())
            }
        }
        e @ WsError::Url(UrlError::TlsFeatureNotEnabled) => ConnectError::Tls {
            host: host.to_string(),
            reason: e.into(),
        },
        other => ConnectError::Handshake(other.into()),
    }
}

/// ring + webpki roots, chosen explicitly so no process-wide default provider is needed.
fn default_tls() -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ConnectError::Tls {
        host: String::new(),
        reason: Cause::Tls(e),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(location: &str) -> Response {
        let mut r = Response::new(None);
        *r.status_mut() = StatusCode::FOUND;
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_str(location).unwrap());
        r
    }

    #[test]
    fn redirect_targets() {
        let here = "wss://cable.ua5v.com/cable/contact/AA";
        let go = |l: &str| redirect_target(here, &redirect(l));
        assert_eq!(
            go("/cable/contact/BB").unwrap(),
            "wss://cable.ua5v.com/cable/contact/BB"
        );
        assert_eq!(go("https://other/x").unwrap(), "wss://other/x");
        assert_eq!(go("wss://other/x").unwrap(), "wss://other/x");
        assert!(matches!(
            go("http://other/x"),
            Err(ConnectError::BadRedirect(_))
        ));
        assert!(matches!(
            go("ws://other/x"),
            Err(ConnectError::BadRedirect(_))
        ));
        assert!(matches!(go("relative"), Err(ConnectError::BadRedirect(_))));
        let plain = redirect_target("ws://127.0.0.1:1/cable/new/00", &redirect("/cable/new/11"));
        assert_eq!(plain.unwrap(), "ws://127.0.0.1:1/cable/new/11");
        let mut none = Response::new(None);
        *none.status_mut() = StatusCode::FOUND;
        assert!(redirect_target(here, &none).is_err());
    }

    /// Display and every `source()` below it, joined as a chain printer would.
    fn chain(e: &ConnectError) -> String {
        let mut text = e.to_string();
        let mut next = std::error::Error::source(e);
        while let Some(cause) = next {
            text.push_str(&format!(": {cause}"));
            next = cause.source();
        }
        text
    }

    #[test]
    fn causes_are_typed_shown_once_and_cloneable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = ConnectError::Unreachable {
            host: "h".into(),
            reason: refused.into(),
        };
        assert_eq!(
            chain(&e),
            "tunnel server h is unreachable (refused): check the network connection"
        );
        match e.clone() {
            ConnectError::Unreachable {
                reason: Cause::Io(io),
                ..
            } => assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused),
            other => panic!("{other:?}"),
        }

        let socket = ConnectError::Socket(WsError::AttackAttempt.into());
        let inner = WsError::AttackAttempt.to_string();
        assert_eq!(
            chain(&socket),
            format!("the tunnel connection failed: {inner}")
        );
        assert!(socket.clone().to_string().ends_with(&inner));
        match &socket {
            ConnectError::Socket(cause) => assert!(cause.error().is::<WsError>()),
            other => panic!("{other:?}"),
        }

        // tungstenite's own "TLS error: " prefix is not repeated after "TLS with … failed".
        let tls = map_handshake_error(
            WsError::Tls(tokio_tungstenite::tungstenite::error::TlsError::InvalidDnsName),
            "h",
        );
        assert_eq!(
            chain(&tls),
            "TLS with tunnel server h failed: Invalid DNS name"
        );

        let url = ConnectError::from(crate::Error::UnknownDomain(7));
        assert_eq!(
            chain(&url),
            format!(
                "cannot build the tunnel URL: {}",
                crate::Error::UnknownDomain(7)
            )
        );
        let handshake = map_handshake_error(std::io::Error::other("reset").into(), "h");
        assert_eq!(chain(&handshake), "the websocket handshake failed: reset");
    }

    #[test]
    fn unusable_header_values_are_errors() {
        let err = build_request(
            "ws://127.0.0.1:1/cable/new/00",
            &[("Origin", "ws://a\nb".to_string())],
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConnectError::BadUrl {
                cause: Cause::Header(_),
                ..
            }
        ));
        let err = build_request("not a url", &[]).unwrap_err();
        assert!(matches!(
            err,
            ConnectError::BadUrl {
                cause: Cause::WebSocket(_),
                ..
            }
        ));
    }

    #[test]
    fn default_tls_builds() {
        assert!(default_tls().is_ok());
    }
}
