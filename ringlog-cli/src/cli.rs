//! The command line: subcommands, options and their help (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::size::Size;

/// Look into a ringlog ring file, write to it, capture a command's output
/// into it, or serve it over HTTP.
///
/// A ring file holds the most recent N bytes of a program's log records
/// (a C program's `ring_open_file`, Python's `ringlog.Ring.open`, or
/// `ringlog write` / `ringlog run` here). Any number of processes read it
/// while it is written, and it is still there after the program crashed.
#[derive(Parser, Debug)]
#[command(name = "ringlog", version, about, long_about, propagate_version = true)]
#[command(after_help = "\
Examples:
  ringlog run app.ring -- ./server --port 8000    capture a program's output
  ringlog tail -f app.ring                        follow it from another terminal
  ringlog dump app.ring > crash.log               what the ring held when it crashed
  ringlog serve app.ring                          stream it at http://127.0.0.1:8080/records

Exit status: 0 on success, 1 on a usage or file error (one line on stderr);
`run` exits with its command's status.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the records a ring retains, oldest first, one per line.
    #[command(after_help = "\
Each record is printed as written; one without a trailing newline gets one.
dump does not wait for new records: it prints what the ring held when it
started and exits. It works on the file of a program that crashed (records
it was writing when it died are left out). --json: as for tail (see
ringlog tail --help).

Examples:
  ringlog dump app.ring
  ringlog dump app.ring --last 100
  ringlog dump app.ring --from 5000 --json | jq .data")]
    Dump(DumpArgs),

    /// Print the last records of a ring, and follow it with -f.
    #[command(after_help = "\
Without -f, tail prints the last 10 records (-n), or those from --from on,
and exits. With -f it then waits for new records, written by any process,
and prints each as it is committed, until the ring is closed or Ctrl-C
(exit status 0 either way).

A reader that falls behind the writers is lapped: tail then prints
`ringlog: lost N records` on stderr (and, with --json, the record after the
gap carries \"lost\": N). Records read plus records reported lost always add
up to every record written since tail started.

--cursor PATH makes tail resumable: it starts at the seq saved in PATH
(or at --from, default oldest, when PATH does not exist yet) and saves
the next seq there, before each batch of records is written to stdout
and when it exits. A record is never printed twice by successive runs;
what was overwritten between two runs is reported as lost. One tail at a
time uses a cursor (a lock on PATH.lock; a second one waits up to 5 s,
then exits 1). This is the source for a log shipper (docs/SHIPPING.md).

--json prints {\"seq\":S,\"lost\":L,\"data\":\"...\"} per record: data is the
record as UTF-8 text; a record that is not valid UTF-8 has each invalid
byte shown as \\xNN in data and its exact bytes in \"data_base64\".

Examples:
  ringlog tail app.ring
  ringlog tail -f app.ring
  ringlog tail -f --from oldest app.ring
  ringlog tail -f --json --cursor /var/lib/ringlog/app.cursor app.ring")]
    Tail(TailArgs),

    /// Show a ring's capacity, counters and state.
    #[command(after_help = "\
Fields: capacity, max_record, written (the next record's seq), oldest_seq,
retained records, bytes_used, dropped (writes refused as busy), readers
(alive, in every process), closed, format_version, and the counters
wakeups, reaped (records of writers killed mid-record) and recoveries.

Examples:
  ringlog stat app.ring
  ringlog stat --json app.ring | jq .written")]
    Stat(StatArgs),

    /// Write records: the arguments as one record, or each line of stdin.
    #[command(after_help = "\
With MESSAGE arguments, writes them joined by spaces as one record (with a
newline). Without, writes each line of stdin as one record as it arrives,
like logger or systemd-cat; a line longer than the ring's max_record is
written as several records. A missing file is created with --capacity.

Examples:
  ringlog write app.ring deploy finished
  journalctl -f | ringlog write --capacity 64MiB journal.ring")]
    Write(WriteArgs),

    /// Run a command, capturing its stdout and stderr line by line into the ring.
    #[command(after_help = "\
The command's output still reaches the terminal (stdout to stdout, stderr
to stderr) as it is produced; each line also becomes one record. ringlog
exits with the command's exit status (128 + N when it was killed by signal
N; 127 when it was not found, 126 when it could not be run). SIGTERM, SIGHUP and SIGQUIT sent to ringlog are passed to the command;
Ctrl-C reaches it directly, as the terminal sends it to both. A missing
file is created with --capacity.

Examples:
  ringlog run app.ring -- ./server --port 8000
  ringlog run --capacity 16MiB build.ring -- make -j8")]
    Run(RunArgs),

    /// Serve a ring over HTTP: live streams, a snapshot and stats.
    #[command(after_help = crate::serve::HELP)]
    Serve(crate::serve::ServeArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "\
Examples:
  ringlog completions bash > /etc/bash_completion.d/ringlog
  ringlog completions zsh > \"${fpath[1]}/_ringlog\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `ringlog dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// The ring file.
    pub file: PathBuf,
    /// Only the last N records.
    #[arg(long, value_name = "N", conflicts_with = "from")]
    pub last: Option<u64>,
    /// Start at the record with this seq (or the oldest retained, if it was
    /// overwritten: the gap is reported as lost).
    #[arg(long, value_name = "SEQ")]
    pub from: Option<u64>,
    /// One JSON object per record: {"seq":..,"lost":..,"data":".."}.
    #[arg(long)]
    pub json: bool,
}

/// Where `tail` starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The oldest retained record.
    Oldest,
    /// After the newest record: only what is written from now on.
    Newest,
    /// This seq.
    Seq(u64),
}

impl std::str::FromStr for From {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "oldest" => Ok(From::Oldest),
            "newest" => Ok(From::Newest),
            _ => s
                .parse()
                .map(From::Seq)
                .map_err(|_| format!("`{s}` is not oldest, newest or a record's seq (a number)")),
        }
    }
}

/// `ringlog tail`.
#[derive(Args, Debug)]
pub struct TailArgs {
    /// The ring file.
    pub file: PathBuf,
    /// Print the records among the last N written (default 10; a record
    /// whose writer was killed mid-record counts, reported as lost).
    #[arg(short = 'n', long = "lines", value_name = "N", conflicts_with = "from")]
    pub lines: Option<u64>,
    /// Follow: wait for new records and print each as it is written.
    #[arg(short, long)]
    pub follow: bool,
    /// Start at the oldest retained record, after the newest, or at a seq.
    #[arg(long, value_name = "oldest|newest|SEQ")]
    pub from: Option<From>,
    /// Resume from the seq saved in PATH and save the next seq there.
    #[arg(long, value_name = "PATH")]
    pub cursor: Option<PathBuf>,
    /// One JSON object per record: {"seq":..,"lost":..,"data":".."}.
    #[arg(long)]
    pub json: bool,
}

/// `ringlog stat`.
#[derive(Args, Debug)]
pub struct StatArgs {
    /// The ring file.
    pub file: PathBuf,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `ringlog write`.
#[derive(Args, Debug)]
pub struct WriteArgs {
    /// The ring file (created if missing).
    pub file: PathBuf,
    /// The record; without it, each line of stdin is a record.
    pub message: Vec<std::ffi::OsString>,
    /// Capacity of a ring created here, framing included (e.g. 1048576,
    /// 64KiB, 16MiB; default 1MiB).
    #[arg(long, value_name = "BYTES")]
    pub capacity: Option<Size>,
}

/// `ringlog run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The ring file (created if missing).
    pub file: PathBuf,
    /// Capacity of a ring created here, framing included (e.g. 1048576,
    /// 64KiB, 16MiB; default 1MiB).
    #[arg(long, value_name = "BYTES")]
    pub capacity: Option<Size>,
    /// The command and its arguments (after --).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}
