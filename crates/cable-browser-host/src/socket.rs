//! Where cabled listens: `$CABLE_SOCKET` when set (tests, unusual setups), else the path
//! cabled and every client agree on, `$XDG_RUNTIME_DIR/cable/cabled.sock` (the rule of
//! `cabled::ipc::socket::default_socket_path`, repeated so the host does not link the daemon).

use std::path::PathBuf;

/// cabled's socket, or why there is none to try.
pub fn socket_path() -> Result<PathBuf, &'static str> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var("CABLE_SOCKET") {
        return Ok(PathBuf::from(path));
    }
    var("XDG_RUNTIME_DIR")
        .map(|dir| PathBuf::from(dir).join("cable").join("cabled.sock"))
        .ok_or("XDG_RUNTIME_DIR is not set, so cabled's socket cannot be found")
}
