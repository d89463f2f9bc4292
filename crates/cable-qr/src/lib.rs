//! cable-qr (in progress)
