//! Ctrl-C and friends for the commands that follow a ring: SIGINT, SIGTERM
//! and SIGHUP set a flag that the reading loop checks (at least every
//! 200 ms), so `tail -f` ends cleanly, saves its cursor and exits 0.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::fail::Fail;

/// Set by SIGINT, SIGTERM or SIGHUP once [`stop_on_signals`] was called.
pub fn stop_on_signals() -> Result<&'static AtomicBool, Fail> {
    static STOP: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    let flag = STOP.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(sig, Arc::clone(flag))
            .map_err(|e| Fail(format!("cannot install a signal handler: {e}")))?;
    }
    Ok(flag)
}
