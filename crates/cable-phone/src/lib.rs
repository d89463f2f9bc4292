//! cable-phone (in progress)
