//! `ringlog serve FILE [--listen ADDR]`: the ring over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::fail::Fail;

/// The subcommand's help, after the options.
pub const HELP: &str = "\
Endpoints:
  GET /records?from=oldest|newest|SEQ   live stream, one record per line
  GET /snapshot                         what the ring holds now
  GET /stat                             the ring's stats (JSON)

Examples:
  ringlog serve app.ring
  curl -N http://127.0.0.1:8080/records";

/// `ringlog serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The ring file.
    pub file: PathBuf,
    /// Address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> Result<(), Fail> {
    let _ = args;
    Err(Fail("serve: not built yet".into()))
}
