//! `steward run`'s command line: GNU parallel's options, with their
//! meaning, then the command and its input sources.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// The options, as GNU parallel spells them (`-j2`, `--jobs 2`, `-P 2`);
/// the last of a repeated option wins.
#[derive(Debug, Parser)]
#[command(
    name = "steward run",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true
)]
pub(crate) struct Options {
    /// `-h`, `--help`.
    #[arg(short = 'h', long)]
    pub(crate) help: bool,

    // Inputs.
    /// `-a`, `--arg-file`: an input source, one record a line.
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub(crate) arg_files: Vec<PathBuf>,
    /// `-0`, `--null`: records end with NUL.
    #[arg(short = '0', long)]
    pub(crate) null: bool,
    /// `-d`, `--delimiter`.
    #[arg(short = 'd', long, value_name = "DELIM")]
    pub(crate) delimiter: Option<OsString>,
    /// `-C`, `--colsep`.
    #[arg(short = 'C', long, value_name = "REGEX")]
    pub(crate) colsep: Option<OsString>,
    /// `--trim`.
    #[arg(long, value_name = "n|l|r|lr|rl")]
    pub(crate) trim: Option<String>,
    /// `-r`, `--no-run-if-empty`.
    #[arg(short = 'r', long = "no-run-if-empty")]
    pub(crate) no_run_if_empty: bool,
    /// `--arg-sep`.
    #[arg(long = "arg-sep", value_name = "SEP")]
    pub(crate) arg_sep: Option<OsString>,
    /// `--arg-file-sep`.
    #[arg(long = "arg-file-sep", value_name = "SEP")]
    pub(crate) arg_file_sep: Option<OsString>,

    // Replacement strings.
    /// `-I`.
    #[arg(short = 'I', value_name = "STR")]
    pub(crate) replace: Option<OsString>,
    /// `--er`.
    #[arg(long = "extensionreplace", visible_alias = "er", value_name = "STR")]
    pub(crate) extension_replace: Option<OsString>,
    /// `--bnr`.
    #[arg(long = "basenamereplace", visible_alias = "bnr", value_name = "STR")]
    pub(crate) basename_replace: Option<OsString>,
    /// `--dnr`.
    #[arg(long = "dirnamereplace", visible_alias = "dnr", value_name = "STR")]
    pub(crate) dirname_replace: Option<OsString>,
    /// `--bner`.
    #[arg(
        long = "basenameextensionreplace",
        visible_alias = "bner",
        value_name = "STR"
    )]
    pub(crate) basename_extension_replace: Option<OsString>,
    /// `--seqreplace`.
    #[arg(long = "seqreplace", value_name = "STR")]
    pub(crate) seq_replace: Option<OsString>,
    /// `--slotreplace`.
    #[arg(long = "slotreplace", value_name = "STR")]
    pub(crate) slot_replace: Option<OsString>,

    // Batching.
    /// `-n`, `--max-args`.
    #[arg(short = 'n', long = "max-args", value_name = "N")]
    pub(crate) max_args: Option<usize>,
    /// `-N`, `--max-replace-args`.
    #[arg(short = 'N', long = "max-replace-args", value_name = "N")]
    pub(crate) max_replace_args: Option<usize>,
    /// `-X`.
    #[arg(short = 'X')]
    pub(crate) context_replace: bool,
    /// `-m`.
    #[arg(short = 'm')]
    pub(crate) multiple: bool,
    /// `--xargs`.
    #[arg(long)]
    pub(crate) xargs: bool,
    /// `-s`, `--max-chars`.
    #[arg(short = 's', long = "max-chars", value_name = "N")]
    pub(crate) max_chars: Option<usize>,

    // Output.
    /// `-k`, `--keep-order`.
    #[arg(short = 'k', long = "keep-order")]
    pub(crate) keep_order: bool,
    /// `--tag`.
    #[arg(long)]
    pub(crate) tag: bool,
    /// `--tagstring`.
    #[arg(long, value_name = "STR")]
    pub(crate) tagstring: Option<OsString>,
    /// `--lb`, `--line-buffer`.
    #[arg(long = "line-buffer", visible_alias = "lb")]
    pub(crate) line_buffer: bool,
    /// `-u`, `--ungroup`.
    #[arg(short = 'u', long)]
    pub(crate) ungroup: bool,
    /// `--group` (the default).
    #[arg(long)]
    pub(crate) group: bool,
    /// `--tmpdir`.
    #[arg(long, value_name = "DIR")]
    pub(crate) tmpdir: Option<PathBuf>,

    // Control.
    /// `-j`, `-P`, `--jobs`, `--max-procs`.
    #[arg(
        short = 'j',
        long = "jobs",
        visible_short_alias = 'P',
        visible_alias = "max-procs",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub(crate) jobs: Option<String>,
    /// `--halt`, `--halt-on-error`.
    #[arg(
        long,
        visible_alias = "halt-on-error",
        value_name = "WHEN,WHY=N",
        allow_hyphen_values = true
    )]
    pub(crate) halt: Option<String>,
    /// `--retries`.
    #[arg(long, value_name = "N")]
    pub(crate) retries: Option<u32>,
    /// `--timeout`.
    #[arg(long, value_name = "DURATION|N%")]
    pub(crate) timeout: Option<String>,
    /// `--delay`.
    #[arg(long, value_name = "DURATION")]
    pub(crate) delay: Option<String>,
    /// `--memfree`.
    #[arg(long, value_name = "SIZE")]
    pub(crate) memfree: Option<String>,
    /// `--load`.
    #[arg(long, value_name = "MAX")]
    pub(crate) load: Option<String>,
    /// `--nice`.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub(crate) nice: Option<i32>,
    /// `--grace` (steward): SIGTERM to SIGKILL.
    #[arg(long, value_name = "DURATION")]
    pub(crate) grace: Option<String>,
    /// `--shell` (steward): run the command with `sh -c`.
    #[arg(long)]
    pub(crate) shell: bool,
    /// `-q`, `--quote`: what steward always does.
    #[arg(short = 'q', long)]
    pub(crate) quote: bool,
    /// `--will-cite`: accepted.
    #[arg(long = "will-cite")]
    pub(crate) will_cite: bool,

    // Records.
    /// `--joblog`, `--jl`.
    #[arg(long, visible_alias = "jl", value_name = "FILE")]
    pub(crate) joblog: Option<PathBuf>,
    /// `--results`, `--res`.
    #[arg(long, visible_alias = "res", value_name = "DIR")]
    pub(crate) results: Option<OsString>,
    /// `--dry-run`.
    #[arg(long = "dry-run")]
    pub(crate) dry_run: bool,
    /// `--bar`.
    #[arg(long)]
    pub(crate) bar: bool,
    /// `--eta`.
    #[arg(long)]
    pub(crate) eta: bool,
    /// `--progress`.
    #[arg(long)]
    pub(crate) progress: bool,

    // Observing.
    /// `--serve ADDR` (steward): `/metrics`, `/status` and the dashboard.
    #[arg(long, value_name = "ADDR")]
    pub(crate) serve: Option<SocketAddr>,
    /// `--serve-public` (steward): `--serve` beyond loopback.
    #[arg(long = "serve-public", requires = "serve")]
    pub(crate) serve_public: bool,

    /// The command, then its input sources.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

/// `steward run --help`.
pub(crate) const HELP: &str = "\
steward run: run a command once per input, in parallel, as GNU parallel
does: its options, replacement strings, output formats and exit codes.
Every job is a tracked child: none outlives steward.

Usage: steward run [OPTIONS] [--] COMMAND [ARGS...] [::: INPUTS...] [:::: FILES...]

The command runs without a shell: its words are the program and its
arguments, exactly as given, as `parallel -q` runs them (so an input with
spaces, quotes or `*` is one argument, never expanded). For pipes,
redirections or `&&`, give --shell (steward runs `sh -c` on the command
line, each input quoted, as GNU parallel without -q does) or write the
shell yourself: steward run sh -c 'gzip -c \"$1\" > \"$1.gz\"' sh {} ::: *.txt

Inputs (default: stdin, one record a line, read as it arrives)
  ::: WORDS          each word is an input; several ::: make every combination
  :::+ WORDS         read alongside the source before (the shortest decides)
  :::: FILES         each file is an input source (- is stdin); ::::+ linked
  -a, --arg-file F   an input source, before those after the command
  -0, --null         records end with NUL, not newline
  -d, --delimiter D  records end with D (\\n, \\0, \\t, \\x41, \\101 escapes)
  -C, --colsep RE    split each record into columns {1} {2}... (implies --trim rl)
  --trim n|l|r|lr    take white space off the arguments
  -r, --no-run-if-empty  skip records of white space only
  --arg-sep S, --arg-file-sep S  use S instead of ::: and ::::

Replacement strings (none in the command: the inputs are appended)
  {}  the input      {.}  without extension   {/}  basename   {//}  dirname
  {/.} basename without extension   {#} job number   {%} job slot (1..-j)
  {n} {n.} {n/} {n//} {n/.}  the n-th source or argument (negative: from the end)
  -I STR             STR instead of {}  (also --er --bnr --dnr --bner
                     --seqreplace --slotreplace for the others)

Several inputs a job
  -n, --max-args N   up to N inputs a job (-n 0: read one, give none)
  -N N               as -n, with -X's context replace
  -X                 as many as the system takes; the word around {} is
                     repeated for each; the last batch is spread over the slots
  -m                 as many as the system takes, each input its own word
  --xargs            as -m, without spreading; -s, --max-chars N: at most N bytes

Output (stdout: the jobs' output only)
  (default)          each job's output whole when it ends, stdout then
                     stderr, spooled to $TMPDIR when large (--tmpdir DIR)
  -k, --keep-order   in input order
  --tag              each line prefixed with the job's inputs and a tab
  --tagstring STR    ... with STR (replacement strings allowed)
  --line-buffer, --lb  whole lines as they come
  -u, --ungroup      straight through, mixed (--tag ignored)

Control
  -j, --jobs N       N jobs at once; 0: as many as the file-descriptor
                     limit allows; N%, +N, -N: of/plus/minus the CPU threads
                     (default 100%); clamped to the file-descriptor limit
  --halt W,C=N       W: now (stop the running jobs) or soon (let them end);
                     C: fail, success or done; N: a count or a share (5%)
  --retries N        run a failed job up to N times (0: until it succeeds)
  --timeout D        stop a job running longer than D; N%: N% of the median
                     run time of the jobs that succeeded
  --delay D          at least D between job starts
  --memfree SIZE     start a job only with SIZE of memory available (1G, 500M);
                     below half of it, the newest job is stopped and run again
  --load MAX         start a job only with the 1-minute load under MAX (N or N%)
                     (both judged by steward's Monitor)
  --nice N           run the jobs at niceness N
  --grace D          between SIGTERM and SIGKILL when a job is stopped (350ms)
  --shell            run the command line with sh -c
  -q, --quote, --will-cite  accepted; steward never uses a shell unless --shell

Records
  --joblog FILE      a line per job in GNU parallel's format (+FILE appends, - stdout)
  --results DIR      each job's stdout, stderr and seq under DIR/1/<input>/...
  --dry-run          print the commands, run nothing
  --progress, --eta, --bar  progress on stderr (a line a second off a terminal)

Observing (steward)
  --serve ADDR       serve /metrics (Prometheus), /status (JSON) and a live
                     dashboard with the jobs running, done, failed and the
                     time left at http://ADDR/ (loopback, e.g. 127.0.0.1:9185;
                     port 0 picks one; the address is said on stderr)
  --serve-public     allow --serve on an address other than loopback (the
                     endpoint has no authentication)

Durations: 30, 2.5s, 500ms, 1h30m, 1d.  Sizes: 500M, 2G (binary), 2g (decimal).

Exit status: 0 all jobs succeeded; 1-100 that many failed; 101 more than
100 failed; with --halt, GNU parallel's status (the failing job's own for
fail=1, the share failed for N%, 0 when success=N was met); 255 a bad
option, an unreadable input or another error; 129, 130, 143 stopped by
SIGHUP, SIGINT, SIGTERM (every job and its descendants are stopped first:
GNU parallel leaves them running on SIGHUP); 141 stdout closed (the jobs
are stopped); 1 a write error on stdout.
";
