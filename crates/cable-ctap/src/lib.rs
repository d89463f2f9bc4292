//! cable-ctap (in progress)
