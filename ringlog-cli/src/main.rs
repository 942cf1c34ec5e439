//! `ringlog`: the command-line tool over ringlog's core (`ringbuf-core`).
//!
//! Every policy lives in the core; this crate parses arguments (clap),
//! prints records and stats, and serves HTTP (axum). See `ringlog --help`.

mod cli;
mod commands;
mod cursor;
mod fail;
mod open;
mod output;
mod serve;
mod signals;
mod size;
mod stream;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use fail::Fail;

fn main() {
    // A bug is one line too, never a panic message and backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("ringlog: internal error (a bug, please report it): {what}{at}");
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit_usage(e),
    };
    let result = match cli.command {
        Command::Dump(a) => commands::dump::run(a).map(|()| 0),
        Command::Tail(a) => commands::tail::run(a).map(|()| 0),
        Command::Stat(a) => commands::stat::run(a).map(|()| 0),
        Command::Write(a) => commands::write::run(a).map(|()| 0),
        Command::Run(a) => commands::run::run(a),
        Command::Serve(a) => serve::run(a).map(|()| 0),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ringlog", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) if e.is_quiet() => std::process::exit(0),
        Err(Fail(msg)) => {
            eprintln!("ringlog: {msg}");
            std::process::exit(1);
        }
    }
}

/// A usage error as one line (and a pointer to --help), status 1; --help
/// and --version print and exit 0.
fn exit_usage(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            std::process::exit(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { 1 } else { 0 });
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("Usage:"));
            let mut first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
            // "the following required arguments were not provided:" names
            // them on the lines after it.
            if first.ends_with(':') {
                let names: Vec<&str> = lines.take_while(|l| l.starts_with('<') || l.starts_with('-')).collect();
                first = format!("{} {}", first, names.join(" "));
            }
            eprintln!("ringlog: {first} (see ringlog --help)");
            std::process::exit(1);
        }
    }
}
