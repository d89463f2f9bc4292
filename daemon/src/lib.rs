//! cabled engine
