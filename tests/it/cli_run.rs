//! `steward run` end to end through the built binary. What GNU parallel
//! also does is compared byte for byte with GNU parallel itself, run as
//! `parallel -q` (steward runs the command's words without a shell);
//! those tests need it installed (`.ci/run` installs it) and are ignored
//! without it. The rest (streaming, bounded memory, pipes, signals,
//! limits) check what steward promises beyond it.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use proptest::prelude::*;

use super::cli_support::{run_fed, scratch, steward, text, wait};
use super::poll;

const LIMIT: Duration = Duration::from_secs(120);

/// A program that prints its arguments as `<a><b>` and a newline: what
/// a job got, word for word.
fn show(dir: &Path) -> PathBuf {
    let path = dir.join("show");
    fs::write(
        &path,
        "#!/bin/sh\nfor a; do printf '<%s>' \"$a\"; done; echo\n",
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Words split at white space: `args("-k -j2 echo")`.
fn args(words: &str) -> Vec<OsString> {
    words.split_whitespace().map(OsString::from).collect()
}

/// `before`'s words, one word `script`, `after`'s words.
fn script(before: &str, script: &str, after: &str) -> Vec<OsString> {
    [args(before), vec![OsString::from(script)], args(after)].concat()
}

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// Runs `command` in `dir` fed `stdin`, bounded.
fn run_in(command: Command, dir: &Path, stdin: &[u8]) -> Output {
    run_fed(command, dir, stdin, true).0
}

fn ours(args: &[OsString], dir: &Path, stdin: &[u8]) -> Output {
    let mut command = steward();
    command.arg("run").args(args);
    run_in(command, dir, stdin)
}

fn parallels(args: &[OsString], dir: &Path, stdin: &[u8]) -> Output {
    let mut command = Command::new("parallel");
    command.args(["--will-cite", "-q"]).args(args);
    run_in(command, dir, stdin)
}

/// Runs both; asserts the same stdout, byte for byte, and the same exit
/// status. Returns steward's output.
fn same(args: &[OsString], dir: &Path, stdin: &[u8]) -> Output {
    let ours = ours(args, dir, stdin);
    let theirs = parallels(args, dir, stdin);
    assert!(
        ours.stdout == theirs.stdout,
        "{args:?}\nsteward:  {:?}\nparallel: {:?}\nstderr: {}",
        text(&ours.stdout),
        text(&theirs.stdout),
        text(&ours.stderr)
    );
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "{args:?}: {}",
        text(&ours.stderr)
    );
    ours
}

/// `same` with the show program first: `show`'s path, then `words`.
fn same_shown(dir: &Path, before: &[&str], words: &[&str], stdin: &[u8]) -> Output {
    let mut args = os(before);
    args.push(show(dir).into_os_string());
    args.extend(os(words));
    same(&args, dir, stdin)
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn replacement_strings_fill_as_in_gnu_parallel() {
    let dir = scratch("run-replace");
    let inputs = [
        ":::",
        "dir/a.txt",
        "sub.dir/b",
        ".bashrc",
        "/",
        "a b/c'd.e\"f",
        "",
    ];
    for template in [
        &["{}", "{.}", "{/}", "{//}", "{/.}", "{#}"][..],
        &[
            "x{}y", "{}{}", "{{}}", "{1}", "{-1}", "{2}", "{1.}", "{1/}", "{1//}", "{1/.}",
            "{ 1 }", "{0}",
        ],
        &["no", "replacement"],
        &["{/.}{//}{.}"],
    ] {
        let output = same_shown(&dir, &["-k"], &[template, &inputs[..]].concat(), b"");
        assert!(output.status.success());
    }
    same_shown(
        &dir,
        &["-k", "-I", "XX"],
        &["XX", "{}", "{.}", ":::", "a.b"],
        b"",
    );
    same_shown(
        &dir,
        &["-k", "--er", "E", "--bnr", "B"],
        &["E", "B", ":::", "d/a.b"],
        b"",
    );
    same_shown(
        &dir,
        &["-k", "-j1"],
        &["{%}", "{#}", ":::", "a", "b", "c"],
        b"",
    );
    // Bytes, not UTF-8; newlines inside inputs (NUL-delimited).
    same_shown(&dir, &["-k"], &["{}", "{.}"], b"good\nbad\xffname.x\n");
    same_shown(&dir, &["-k", "-0"], &["{}", "{/}"], b"a/line\nbreak\0d/e\0");
    fs::remove_dir_all(&dir).unwrap();
}

/// Paths from the bytes that matter to the replacement strings, and any
/// byte but NUL (the delimiter).
fn path() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => Just(b'/'),
        3 => Just(b'.'),
        3 => Just(b'a'),
        1 => Just(b'\n'),
        1 => Just(b' '),
        1 => 1..=255_u8,
    ];
    proptest::collection::vec(byte, 0..16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random paths, each case a batch of 40 given to both with `-0`:
    /// every replacement string fills the same bytes.
    #[test]
    #[ignore = "needs GNU parallel (apt-get install parallel)"]
    fn random_paths_fill_as_in_gnu_parallel(paths in proptest::collection::vec(path(), 40)) {
        let dir = scratch("run-random-paths");
        let list = dir.join("paths");
        fs::write(&list, paths.iter().flat_map(|p| p.iter().copied().chain([0])).collect::<Vec<u8>>()).unwrap();
        let args = os(&["-k", "-0", "-j2", "-a", "paths", "printf", "%s\\0", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}"]);
        let ours = ours(&args, &dir, b"");
        let theirs = parallels(&args, &dir, b"");
        prop_assert!(ours.status.success(), "{}", text(&ours.stderr));
        prop_assert_eq!(ours.stdout, theirs.stdout);
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn input_sources_combine_as_in_gnu_parallel() {
    let dir = scratch("run-sources");
    fs::write(dir.join("nums"), "1\n2\n").unwrap();
    fs::write(dir.join("letters"), "a\nb\nc\n").unwrap();
    fs::write(dir.join("empty"), "").unwrap();
    for (before, words, stdin) in [
        (
            &["-k"][..],
            &["{1}", "{2}", ":::", "1", "2", ":::", "a", "b", "c"][..],
            &b""[..],
        ),
        (
            &["-k"],
            &[
                ":::", "a", "b", "c", ":::+", "1", "2", "3", ":::", "X", "Y", ":::+", "11", "22",
            ],
            b"",
        ),
        (&["-k"], &[":::", "a", "b", "c", ":::+", "1", "2"], b""),
        (
            &["-k", "-a", "nums"],
            &["{1}", "{2}", "::::", "letters"],
            b"",
        ),
        (&["-k"], &["::::", "nums", "-", ":::", "x"], b"s1\ns2\n"),
        // Every file after `::::+` is linked, not only the first.
        (
            &["-k"],
            &["::::", "nums", "::::+", "letters", "nums", "::::", "nums"],
            b"",
        ),
        (&["-k"], &[":::", "a", "b", "::::", "empty"], b""),
        (&["-k"], &["::::", "empty"], b""),
        (&["-k"], &[], b"one\n\ntwo\r\nlast-without-newline"),
        (&["-k", "-r"], &[], b"one\n \t\ntwo\n"),
        (&["-k", "-d", ","], &[], b"a,b\n,c"),
        (&["-k", "-d", "\\t"], &[], b"a\tb"),
        (
            &["-k", "--colsep", "-"],
            &["{1}", "{2}", "{3}", "{4}", "{}"],
            b" a - b - \nx\n\n",
        ),
        (
            &["-k", "--colsep", "-"],
            &[
                "{4}", "{3}", "{2}", "{1}", ":::", "A-B", "C-D", ":::", "e-f", "g-h",
            ],
            b"",
        ),
        (
            &["-k", "--colsep", ",", "--trim", "n"],
            &["{2}"],
            b"a, b \n",
        ),
        (&["-k", "--trim", "lr"], &[], b"  a  \n"),
        (&["-k", "--arg-sep", ",,"], &[",,", "p", "q"], b""),
    ] {
        same_shown(&dir, before, words, stdin);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn batches_fill_as_in_gnu_parallel() {
    let dir = scratch("run-batches");
    let ten = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
    for (before, template) in [
        (&["-k", "-n2"][..], &["{1}-{2}"][..]),
        (&["-k", "-n3"], &[]),
        (&["-k", "-N2"], &["{}", "x{}y"]),
        (&["-k", "-j2", "-X"], &["pre{}post", "{}", "{1}"]),
        (&["-k", "-j3", "-X"], &["x {} y"]),
        (&["-k", "-j3", "-m"], &["pre{}post"]),
        (&["-k", "-j4", "-m"], &[]),
        (&["-k", "-j2", "-n2", "-X"], &["{}"]),
        (&["-k", "-j2", "-n4", "-X"], &["{}"]),
        (&["-k", "-j2", "--xargs"], &["{}"]),
        (&["-k", "-n0"], &["x{}y"]),
        (&["-k", "-j2", "-X"], &["{#}", "{}"]),
    ] {
        let words: Vec<&str> = [template, &[":::"][..], &ten[..]].concat();
        same_shown(&dir, before, &words, b"");
    }
    // Stdin, in batches; and the same 5,000 inputs reach the jobs once
    // each, in order, however they are split.
    same_shown(&dir, &["-k", "-j2", "-X"], &[], b"1\n2\n3\n4\n5\n");
    let many: String = (1..=5000).map(|n| format!("{n}\n")).collect();
    let output = ours(&args("-k -X -j2 echo"), &dir, many.as_bytes());
    let theirs = parallels(&args("-k -X -j2 echo"), &dir, many.as_bytes());
    let words = |out: &[u8]| {
        text(out)
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(words(&output.stdout), words(&theirs.stdout));
    assert_eq!(
        text(&output.stdout).lines().count(),
        2,
        "spread over the two slots"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn output_comes_out_as_in_gnu_parallel() {
    let dir = scratch("run-output");
    let script =
        "printf 'out %s\\nmore' \"$0\"; printf 'err %s\\n' \"$0\" >&2; sleep 0.$((4 - $0))";
    for before in [
        &["-k"][..],
        &["-k", "--tag"],
        &["-k", "--tagstring", "[{}/{#}]"],
        &["-k", "--lb"],
        &["-k", "--lb", "--tag"],
        &["-j1"],
        &["-j1", "--tag"],
    ] {
        let mut args = os(before);
        args.extend(os(&["sh", "-c", script, ":::", "1", "2", "3"]));
        let ours = ours(&args, &dir, b"");
        let theirs = parallels(&args, &dir, b"");
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{before:?}");
        assert_eq!(
            text(&ours.stderr),
            text(&theirs.stderr),
            "{before:?}: stderr too"
        );
    }
    // --tag with two sources and a carriage return.
    same(
        &os(&[
            "-k",
            "--tag",
            "printf",
            "a\\rb\\nc",
            ":::",
            "x y",
            "z",
            ":::",
            "1",
        ]),
        &dir,
        b"",
    );
    // -u: straight through.
    same(&args("-j1 -u echo ::: a b"), &dir, b"");
    fs::remove_dir_all(&dir).unwrap();
}

/// `program run ARGS` (or `program ARGS`) with its stderr on its stdout,
/// as `> log 2>&1` gives it one file for both.
fn merged(program: &str, run: bool, args: &[OsString], dir: &Path) -> String {
    let mut command = Command::new("sh");
    command.args(["-c", "exec \"$@\" 2>&1", "sh", program]);
    if run {
        command.arg("run");
    }
    command.args(args);
    text(&run_in(command, dir, b"").stdout)
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn one_file_for_stdout_and_stderr_gets_each_job_whole_as_in_gnu_parallel() {
    let dir = scratch("run-merged");
    let script = "echo out $0; echo err $0 >&2; printf 'more %s' $0";
    for before in [
        &["-j1"][..],
        &["-j1", "-k"],
        &["-j1", "--tag"],
        &["-j2", "-k"],
    ] {
        let args = [os(before), os(&["sh", "-c", script, ":::", "a", "b", "c"])].concat();
        let ours = merged(env!("CARGO_BIN_EXE_steward"), true, &args, &dir);
        let theirs = merged("parallel", false, &[os(&["-q"]), args].concat(), &dir);
        assert_eq!(
            ours, theirs,
            "{before:?}: each job's stdout, then its stderr"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn exit_status_and_halt_as_in_gnu_parallel() {
    let dir = scratch("run-halt");
    let jobs = [
        "sh",
        "-c",
        "echo $0; exit $0",
        ":::",
        "0",
        "3",
        "0",
        "4",
        "5",
        "0",
    ];
    for halt in [
        None,
        Some("now,fail=1"),
        Some("soon,fail=1"),
        Some("now,fail=2"),
        Some("now,success=1"),
        Some("soon,success=2"),
        Some("now,done=2"),
        Some("soon,done=2"),
        Some("now,fail=30%"),
        Some("soon,fail=50%"),
        Some("soon,success=50%"),
        Some("now,done=50%"),
        Some("2"),
        Some("-1"),
        Some("0"),
    ] {
        let mut args = args("-j1 -k");
        if let Some(halt) = halt {
            args.extend(os(&["--halt", halt]));
        }
        args.extend(os(&jobs));
        same(&args, &dir, b"");
    }
    // A signal: 128 + it for fail=1.
    same(
        &os(&["--halt", "now,fail=1", "sh", "-c", "kill -9 $$", ":::", "x"]),
        &dir,
        b"",
    );
    // 100 failures: 100; more: 101.
    let hundred: String = (0..100).map(|n| format!("{n}\n")).collect();
    same(&args("false"), &dir, hundred.as_bytes());
    let more: String = (0..150).map(|n| format!("{n}\n")).collect();
    let output = same(&args("false"), &dir, more.as_bytes());
    assert_eq!(output.status.code(), Some(101));
    // A command not found counts as a failure (the shell's 127).
    same(&args("-k no-such-command-here ::: a"), &dir, b"");
    // A bad option: 255 (GNU parallel prints its usage on stdout too;
    // steward says what was wrong on stderr).
    for bad in [
        &["--halt", "later"][..],
        &["-j", "x"],
        &["--timeout", "soon"],
        &["--no-such-option"],
    ] {
        let args = [os(bad), args("echo ::: a")].concat();
        let (ours, theirs) = (ours(&args, &dir, b""), parallels(&args, &dir, b""));
        assert_eq!(ours.status.code(), Some(255), "{bad:?}");
        assert_eq!(theirs.status.code(), Some(255), "{bad:?}");
        assert!(ours.stdout.is_empty(), "{bad:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// A joblog's lines without the start and run times (columns 3 and 4),
/// sorted by seq.
fn joblog(path: &Path) -> Vec<String> {
    let log = fs::read(path).unwrap();
    let mut lines: Vec<String> = text(&log)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            [&fields[..2], &fields[4..]].concat().join("\t")
        })
        .collect();
    lines[1..].sort_by_key(|line| line.split('\t').next().unwrap().parse::<u64>().unwrap());
    lines
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn joblog_is_written_as_gnu_parallel_writes_it() {
    let dir = scratch("run-joblog");
    for (log, extra, nap) in [("a", &[][..], "0"), ("b", &["--timeout", "1"][..], "30")] {
        let script = format!("printf '%s' \"$0\"; [ \"$0\" != sleep ] || sleep {nap}; exit 2");
        let jobs = ["sh", "-c", &script, ":::", "x", "it's", "sleep"];
        let mut theirs = os(&["--joblog", &format!("{log}-theirs")]);
        theirs.extend(os(extra));
        theirs.extend(os(&jobs));
        let mut ours_args = os(&["--joblog", &format!("{log}-ours")]);
        ours_args.extend(os(extra));
        ours_args.extend(os(&jobs));
        let output = ours(&ours_args, &dir, b"");
        parallels(&theirs, &dir, b"");
        assert_eq!(
            joblog(&dir.join(format!("{log}-ours"))),
            joblog(&dir.join(format!("{log}-theirs"))),
            "{extra:?}: {}",
            text(&output.stderr)
        );
    }
    let log = fs::read_to_string(dir.join("b-ours")).unwrap();
    assert!(log.lines().any(|line| line.ends_with("\t-1\t15\tsh -c 'printf '\"'\"'%s'\"'\"' \"$0\"; [ \"$0\" != sleep ] || sleep 30; exit 2' sleep")), "{log}");
    // Appending.
    ours(&args("--joblog +a-ours true ::: more"), &dir, b"");
    let log = fs::read_to_string(dir.join("a-ours")).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    assert!(log.ends_with("\ttrue more\n"), "{log}");
    fs::remove_dir_all(&dir).unwrap();
}

/// `text`'s lines, joblog lines without their start and run times.
fn without_times(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.len() {
                9 => [&fields[..2], &fields[4..]].concat().join("\t"),
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn joblog_lines_follow_the_printed_output_as_in_gnu_parallel() {
    let dir = scratch("run-joblog-order");
    // Job 1 ends last: it waits (bounded) for job 3's file.
    let script = "[ $0 != 3 ] || : > three; \
                  n=0; while [ $0 = 1 ] && [ ! -e three ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n+1)); done; \
                  echo $0";
    let jobs = os(&["sh", "-c", script, ":::", "1", "2", "3"]);
    for (name, steward) in [("ours", true), ("theirs", false)] {
        let _ = fs::remove_file(dir.join("three"));
        let args = [os(&["-k", "-j3", "--joblog", name]), jobs.clone()].concat();
        let output = if steward {
            ours(&args, &dir, b"")
        } else {
            parallels(&args, &dir, b"")
        };
        assert_eq!(text(&output.stdout), "1\n2\n3\n", "{name}");
    }
    // Under -k, in input order (as printed), not as the jobs ended.
    let log = |name: &str| without_times(&fs::read_to_string(dir.join(name)).unwrap());
    assert_eq!(log("ours"), log("theirs"));
    // On stdout: each job's output, then its line.
    let args = [os(&["-j1", "--joblog", "-"]), jobs].concat();
    let (ours, theirs) = (ours(&args, &dir, b""), parallels(&args, &dir, b""));
    assert_eq!(
        without_times(&text(&ours.stdout)),
        without_times(&text(&theirs.stdout))
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// Every file under `root`, with its contents.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&path).unwrap(),
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn results_are_laid_out_as_gnu_parallel_lays_them_out() {
    let dir = scratch("run-results");
    let jobs = os(&[
        "sh",
        "-c",
        "echo out \"$0\" \"$1\"; echo err >&2",
        ":::",
        "a b",
        "x/y",
        "q\\z",
        "t\tab",
        ":::",
        "1",
        "2",
    ]);
    for (name, output) in [("ours", true), ("theirs", false)] {
        let mut args = os(&["--results", name]);
        args.extend(jobs.clone());
        let run = if output {
            ours(&args, &dir, b"")
        } else {
            parallels(&args, &dir, b"")
        };
        assert!(run.stdout.is_empty(), "the output goes to the files only");
    }
    assert_eq!(tree(&dir.join("ours")), tree(&dir.join("theirs")));
    // Named with replacement strings: a file per job, or a directory.
    same(&args("--results named_{} echo ::: p q"), &dir, b"");
    same(&args("--results dir_{}/ echo ::: p"), &dir, b"");
    assert_eq!(fs::read_to_string(dir.join("named_p")).unwrap(), "p\n");
    assert_eq!(fs::read_to_string(dir.join("named_p.seq")).unwrap(), "1");
    assert_eq!(fs::read_to_string(dir.join("dir_p/stdout")).unwrap(), "p\n");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn results_never_leave_their_directory() {
    let dir = scratch("run-results-escape");
    let output = ours(
        &os(&["--results", "res", "echo", ":::", "", ".", ".."]),
        &dir,
        b"",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    for name in ["\\empty", "\\.", "\\.."] {
        let job = dir.join("res/1").join(name);
        assert!(job.join("stdout").is_file(), "{}", job.display());
    }
    assert!(
        !dir.join("res/stdout").exists(),
        "`..` wrote into the tree's root"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn dry_run_retries_and_shell_as_in_gnu_parallel() {
    let dir = scratch("run-dry");
    same(
        &os(&[
            "--dry-run",
            "-k",
            "echo",
            "a b",
            "{}",
            "it's",
            "$HOME",
            ":::",
            "x",
            "",
            "q\"",
            "\u{e9}",
        ]),
        &dir,
        b"",
    );
    same(&args("--dry-run -k -X -j2 echo {} ::: a b c"), &dir, b"");
    // --retries: the last try's output only; a later success counts.
    let counter = dir.join("tries");
    let script = format!(
        "echo x >> {0}; n=$(wc -l < {0}); echo try $n; echo err $n >&2; [ $n -ge \"$1\" ]",
        counter.display()
    );
    for (retries, needed) in [("3", "5"), ("3", "2"), ("0", "4")] {
        let args = os(&["--retries", retries, "sh", "-c", &script, "sh", needed]);
        let _ = fs::remove_file(&counter);
        let ours = ours(&args, &dir, b"\n");
        let _ = fs::remove_file(&counter);
        let theirs = parallels(&args, &dir, b"\n");
        assert_eq!(
            text(&ours.stdout),
            text(&theirs.stdout),
            "--retries {retries}, succeeding at {needed}"
        );
        assert_eq!(ours.status.code(), theirs.status.code());
    }
    // --shell is GNU parallel without -q: the command line goes to sh.
    let line = ["echo {} > out-{#}; cat out-{#}", ":::", "a b", "c'd"];
    let ours = ours(&[args("-k --shell"), os(&line)].concat(), &dir, b"");
    let mut theirs = Command::new("parallel");
    theirs.args(["--will-cite", "-k"]).args(line);
    let theirs = run_in(theirs, &dir, b"");
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert_eq!(text(&ours.stdout), "a b\nc'd\n");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs GNU parallel (apt-get install parallel)"]
fn a_timed_out_jobs_partial_output_is_printed_as_in_gnu_parallel() {
    let dir = scratch("run-timeout");
    let args = script(
        "-k --timeout 1 sh -c",
        "echo start $0; sleep $0; echo end $0",
        "::: 0.1 30",
    );
    let output = same(&args, &dir, b"");
    assert_eq!(text(&output.stdout), "start 0.1\nend 0.1\nstart 30\n");
    assert!(text(&output.stderr).contains("This job was killed because it timed out"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_timeout_share_of_the_median_stops_the_slow_one() {
    let dir = scratch("run-timeout-median");
    // Three quick jobs set the median; the fourth takes 100 times longer.
    let output = ours(
        &script(
            "-j1 -k --timeout 300% sh -c",
            "sleep $0; echo done $0",
            "::: 0.2 0.2 0.2 20",
        ),
        &dir,
        b"",
    );
    assert_eq!(text(&output.stdout), "done 0.2\ndone 0.2\ndone 0.2\n");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stdin_is_read_as_it_arrives() {
    let dir = scratch("run-stream");
    let mut child = steward()
        .args(["run", "--lb", "echo", "got"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    input.write_all(b"first\n").unwrap();
    input.flush().unwrap();
    // The first job runs while its input is still open: a reader that
    // waited for the end would never print this line.
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert_eq!(line, "got first\n");
    input.write_all(b"second\n").unwrap();
    drop(input);
    let mut rest = String::new();
    lines.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got second\n");
    let output = wait(child, LIMIT);
    assert!(output.status.success());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inputs_are_bytes() {
    let dir = scratch("run-bytes");
    let mut words = vec![
        OsString::from("-k"),
        show(&dir).into_os_string(),
        "{}".into(),
        ":::".into(),
    ];
    words.push(OsString::from_vec(b"bad\xffname".to_vec()));
    let output = ours(&words, &dir, b"");
    assert_eq!(output.stdout, b"<bad\xffname>\n");
    let output = ours(&args("-k echo"), &dir, b"good\nbad\xffname\n");
    assert_eq!(output.stdout, b"good\nbad\xffname\n");
    fs::remove_dir_all(&dir).unwrap();
}

/// Max RSS in KiB of `steward run ARGS` fed `stdin`, as GNU time reports
/// it, and the bytes it printed (counted, not kept).
fn max_rss_kib(args: &[&str], stdin: &[u8], dir: &Path) -> (u64, u64, Output) {
    let report = dir.join("rss");
    let mut command = Command::new("/usr/bin/time");
    command
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_steward"))
        .arg("run")
        .args(args);
    let (output, printed) = run_fed(command, dir, stdin, false);
    let rss = fs::read_to_string(&report)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    (rss, printed, output)
}

#[test]
#[ignore = "needs GNU time (apt-get install time)"]
fn memory_stays_bounded_on_a_long_input_and_big_outputs() {
    let dir = scratch("run-memory");
    let million: String = (1..=1_000_000).map(|n| format!("{n}\n")).collect();
    let (rss, _, output) = max_rss_kib(
        &["-j2", "--halt", "now,done=200", "--", "true"],
        million.as_bytes(),
        &dir,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(rss < 30 * 1024, "{rss} KiB for 1,000,000 inputs");
    // 300 jobs of 1 MB each.
    let inputs: String = (1..=300).map(|n| format!("{n}\n")).collect();
    let (rss, printed, output) = max_rss_kib(
        &["-j2", "sh", "-c", "head -c 1000000 /dev/zero"],
        inputs.as_bytes(),
        &dir,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(printed, 300_000_000);
    assert!(rss < 60 * 1024, "{rss} KiB for 300 MB of output");
    fs::remove_dir_all(&dir).unwrap();
}

/// Live processes whose environment carries `IT_RUN_TAG=tag`: the jobs
/// and their descendants.
fn tagged(tag: &str) -> Vec<u32> {
    let mark = format!("IT_RUN_TAG={tag}");
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let alive = fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            comm.trim() == "sleep"
                && alive
                && fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|&b| b == 0)
                        .any(|entry| entry == mark.as_bytes())
                })
        })
        .collect()
}

fn kill_all(pids: &[u32]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(*pid).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn a_background_grandchild_does_not_keep_a_job_running() {
    let dir = scratch("run-grandchild");
    let tag = format!("grandchild-{}", std::process::id());
    let mut command = steward();
    command
        .args([
            "run",
            "--joblog",
            "log",
            "--timeout",
            "60",
            "sh",
            "-c",
            "sleep 300 & echo hi $0",
            ":::",
            "1",
            "2",
        ])
        .env("IT_RUN_TAG", &tag);
    // Bounded well below the sleepers' 300 s and the timeout's 60 s.
    let output = run_in(command, &dir, b"");
    let left = tagged(&tag);
    kill_all(&left);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, ["hi 1", "hi 2"]);
    let log = fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.lines()
            .skip(1)
            .all(|line| line.split('\t').nth(6) == Some("0")),
        "not timed out: {log}"
    );
    assert!(
        left.is_empty(),
        "the grandchildren were left running: {left:?}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_stops_the_run_and_its_jobs() {
    let dir = scratch("run-closed");
    let tag = format!("closed-{}", std::process::id());
    let mut child = steward()
        .args(["run", "-j2", "-k", "sh", "-c", "echo $0; sleep 300"])
        .env("IT_RUN_TAG", &tag)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"1\n2\n3\n").unwrap();
    drop(input);
    poll::until("both jobs running", LIMIT, || tagged(&tag).len() == 2);
    // The reader goes away before any output: steward notices at once,
    // not at its next write (there would be none for 300 s).
    drop(child.stdout.take());
    let output = wait(child, LIMIT);
    let left = tagged(&tag);
    kill_all(&left);
    assert_eq!(output.status.code(), Some(141), "{}", text(&output.stderr));
    assert!(left.is_empty(), "jobs left running: {left:?}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn head_stops_a_long_run_promptly() {
    let dir = scratch("run-head");
    let mut child = steward()
        .args(["run", "-k", "echo"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for n in 0..1_000_000 {
            if writeln!(input, "{n}").is_err() {
                return n;
            }
        }
        1_000_000
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first, "0\n");
    drop(lines);
    let output = wait(child, LIMIT);
    assert_eq!(output.status.code(), Some(141), "{}", text(&output.stderr));
    assert!(
        feeder.join().unwrap() < 1_000_000,
        "the run read all its input after stdout closed"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hangup_interrupt_and_terminate_stop_every_job_and_descendant() {
    let dir = scratch("run-signals");
    for (signal, status) in [
        (nix::sys::signal::Signal::SIGHUP, 129),
        (nix::sys::signal::Signal::SIGINT, 130),
        (nix::sys::signal::Signal::SIGTERM, 143),
    ] {
        let tag = format!("{signal}-{}", std::process::id());
        // Each job starts a sleeper in its group and one that escapes it.
        let child = steward()
            .args([
                "run",
                "-j",
                "2",
                "sh",
                "-c",
                "sleep 300 & setsid sleep 300 & wait",
                ":::",
                "1",
                "2",
                "3",
            ])
            .env("IT_RUN_TAG", &tag)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        poll::until("both jobs' sleepers", LIMIT, || tagged(&tag).len() == 4);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
            signal,
        )
        .unwrap();
        let output = wait(child, LIMIT);
        let left = tagged(&tag);
        kill_all(&left);
        assert_eq!(
            output.status.code(),
            Some(status),
            "{signal}: {}",
            text(&output.stderr)
        );
        assert!(left.is_empty(), "{signal}: descendants survived: {left:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jobs_are_clamped_to_the_file_descriptor_limit_with_one_warning() {
    let dir = scratch("run-fds");
    let inputs: String = (1..=60).map(|n| format!("{n}\n")).collect();
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "ulimit -n 128 && exec \"$0\" run -j 1000 sh -c 'sleep 0.2; echo $0'",
        ])
        .arg(env!("CARGO_BIN_EXE_steward"));
    let output = run_in(command, &dir, inputs.as_bytes());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).lines().count(), 60, "every job ran");
    let warnings = text(&output.stderr)
        .matches("Only enough file handles")
        .count();
    assert_eq!(warnings, 1, "{}", text(&output.stderr));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn job_counts_take_gnu_parallels_forms() {
    let dir = scratch("run-jobs");
    for jobs in ["0", "50%", "+1", "-1", "1", "200%"] {
        let output = ours(
            &os(&["-j", jobs, "-k", "echo", ":::", "a", "b", "c"]),
            &dir,
            b"",
        );
        assert!(
            output.status.success(),
            "-j {jobs}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), "a\nb\nc\n", "-j {jobs}");
    }
    let output = ours(
        &script(
            "-j 1 --joblog log sh -c",
            "echo $PARALLEL_SEQ $PARALLEL_JOBSLOT",
            "::: a b",
        ),
        &dir,
        b"",
    );
    assert_eq!(text(&output.stdout), "1 1\n2 1\n", "one slot, reused");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn progress_goes_to_stderr_never_stdout() {
    let dir = scratch("run-progress");
    for display in ["--bar", "--eta", "--progress"] {
        let output = ours(
            &os(&[display, "-k", "echo", ":::", "a", "b", "c"]),
            &dir,
            b"",
        );
        assert!(output.status.success(), "{display}");
        assert_eq!(text(&output.stdout), "a\nb\nc\n", "{display}");
        let stderr = text(&output.stderr);
        assert!(
            !stderr.is_empty() && !stderr.contains('\r'),
            "{display}: plain lines off a terminal: {stderr:?}"
        );
    }
    let output = ours(&args("--bar echo ::: a b c d"), &dir, b"");
    assert!(
        text(&output.stderr)
            .lines()
            .last()
            .unwrap()
            .starts_with("100% 4:0=0s"),
        "{}",
        text(&output.stderr)
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn memfree_and_load_are_judged_on_the_monitors_readings() {
    let dir = scratch("run-memfree");
    let output = ours(&args("--memfree 1k --load 1000 -k echo ::: a b"), &dir, b"");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "a\nb\n");
    // No machine has a petabyte free: the run waits, says so, and a
    // SIGTERM ends it with no job run.
    let mut child = steward()
        .args(["run", "--memfree", "1P", "echo", ":::", "never"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("--memfree"), "{line}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = wait(child, LIMIT);
    assert_eq!(output.status.code(), Some(143));
    assert!(output.stdout.is_empty(), "no job ran");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nice_and_delay_apply_to_the_jobs() {
    let dir = scratch("run-nice");
    let output = ours(&args("--nice 7 -n0 nice ::: x"), &dir, b"");
    let own = fs::read_to_string("/proc/self/stat").unwrap();
    let own: i32 = own
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(text(&output.stdout).trim(), (own + 7).min(19).to_string());
    // --delay spaces the starts (at least; never less).
    ours(&args("--delay 0.3 --joblog log true ::: a b c"), &dir, b"");
    let log = fs::read_to_string(dir.join("log")).unwrap();
    let mut starts: Vec<f64> = log
        .lines()
        .skip(1)
        .map(|line| line.split('\t').nth(2).unwrap().parse().unwrap())
        .collect();
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts.len(), 3);
    for pair in starts.windows(2) {
        assert!(pair[1] - pair[0] >= 0.299, "{starts:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_names_the_flags_the_exit_codes_and_the_shell_rule() {
    let output = steward().args(["run", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = text(&output.stdout);
    for needed in [
        ":::",
        ":::+",
        "::::",
        "--arg-file",
        "--null",
        "--delimiter",
        "--colsep",
        "{.}",
        "{/}",
        "{//}",
        "{/.}",
        "{#}",
        "{%}",
        "-I",
        "--max-args",
        "-X",
        "-m",
        "--keep-order",
        "--tag",
        "--line-buffer",
        "--ungroup",
        "--halt",
        "--retries",
        "--timeout",
        "--delay",
        "--memfree",
        "--load",
        "--nice",
        "--jobs",
        "--joblog",
        "--results",
        "--dry-run",
        "--bar",
        "--eta",
        "--progress",
        "--shell",
        "sh -c",
        "without a shell",
        "101",
        "255",
        "129",
    ] {
        assert!(help.contains(needed), "--help lacks {needed:?}");
    }
    let output = steward()
        .args(["run", "--no-such-option", "echo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(text(&output.stderr).contains("--no-such-option"));
}

#[test]
fn a_command_starting_with_a_dash_runs_after_double_dash() {
    let dir = scratch("run-dash");
    let output = ours(&args("-- -no-such ::: a"), &dir, b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("-no-such: command not found"),
        "{}",
        text(&output.stderr)
    );
    fs::remove_dir_all(&dir).unwrap();
}
