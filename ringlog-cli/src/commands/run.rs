//! `ringlog run FILE [--capacity N] -- COMMAND [ARGS...]`: runs the command
//! with its stdout and stderr captured line by line into the ring, and
//! passed through as they come.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use crate::cli::RunArgs;
use crate::commands::write::LineSink;
use crate::fail::{plain, Fail};
use crate::open;

/// Signals sent to `ringlog run` that it passes on to the command.
const FORWARDED: [i32; 3] = [libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Runs the command; returns the exit status ringlog should exit with.
pub fn run(args: RunArgs) -> Result<i32, Fail> {
    let ring = open::for_writing(&args.file, args.capacity)?;
    let (program, rest) = args.command.split_first().ok_or_else(|| Fail("run: no command given".into()))?;
    // Ctrl-C goes to the whole foreground group: the command gets it from
    // the terminal and decides; ringlog stays to capture its last words
    // and pass its exit status on. A handler (not SIG_IGN, which the
    // command would inherit across exec) that only sets a flag nobody reads.
    signal_hook::flag::register(libc::SIGINT, std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)))
        .map_err(|e| Fail(format!("cannot install a signal handler: {e}")))?;
    let mut signals = signal_hook::iterator::Signals::new(FORWARDED)
        .map_err(|e| Fail(format!("cannot install a signal handler: {e}")))?;
    let spawned =
        Command::new(program).args(rest).stdin(Stdio::inherit()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            // As a shell says it, with a shell's status: 127 not found, 126 not runnable.
            eprintln!("ringlog: {}: cannot run it: {}", program.to_string_lossy(), plain(&e));
            return Ok(if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 });
        }
    };
    let pid = child.id() as libc::pid_t;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            // SAFETY: kill(2) with our own child's pid; it cannot have been
            // reaped (and the pid reused) before `handle.close()` below.
            unsafe { libc::kill(pid, sig) };
        }
    });
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let copied = std::thread::scope(|s| {
        let a = s.spawn(|| copy(out, std::io::stdout(), &args.file, &ring));
        let b = s.spawn(|| copy(err, std::io::stderr(), &args.file, &ring));
        let a = a.join().unwrap_or_else(|_| Err(Fail("capturing stdout failed".into())));
        let b = b.join().unwrap_or_else(|_| Err(Fail("capturing stderr failed".into())));
        a.and(b)
    });
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    let status = status.map_err(|e| Fail(format!("waiting for the command: {}", plain(&e))))?;
    if let Err(e) = copied {
        eprintln!("ringlog: {e}");
    }
    Ok(exit_code(status))
}

/// The command's exit code, or 128 + the signal that killed it (as a shell
/// reports it).
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

/// Copies one of the command's streams to ours as it comes, and into the
/// ring line by line. The pass-through goes on when the ring refuses a
/// write; writing to a terminal that went away stops only the pass-through.
fn copy(
    mut from: impl Read,
    mut to: impl Write,
    path: &std::path::Path,
    ring: &ringbuf_core::Ring,
) -> Result<(), Fail> {
    let mut sink = LineSink::new(path, ring);
    let mut buf = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let mut pass = true;
    let mut first_error = None;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail(format!("reading the command's output: {}", plain(&e)))),
        };
        if pass && to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
            pass = false;
        }
        let mut rest = &buf[..n];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&rest[..=i]);
            if let Err(e) = sink.line(&line) {
                first_error.get_or_insert(e);
            }
            line.clear();
            rest = &rest[i + 1..];
        }
        line.extend_from_slice(rest);
        if line.len() >= ring.max_record() {
            // A line longer than a record: written in record-sized pieces.
            let keep = line.len() % ring.max_record();
            let split = line.len() - keep;
            if let Err(e) = sink.line(&line[..split]) {
                first_error.get_or_insert(e);
            }
            line.drain(..split);
        }
    }
    if !line.is_empty() {
        if let Err(e) = sink.line(&line) {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => sink.finish(),
    }
}
