//! cable-tunnel (in progress)
