//! `steward checksum` and `checksum --check`, end to end through the built
//! binary, compared byte for byte with GNU `sha256sum` run on the same
//! files.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::cli_support::{on_a_terminal, scratch, sha256sum, steward, text, wait};
use super::poll;

const LIMIT: Duration = Duration::from_secs(120);

/// A tree with awkward names: spaces, a newline, a backslash, nesting,
/// an empty file and one of a few MiB.
fn awkward_tree(root: &Path) {
    fs::create_dir_all(root.join("a dir/deeper")).unwrap();
    fs::write(root.join("plain.txt"), b"plain\n").unwrap();
    fs::write(root.join("a dir/with space.txt"), b"spaced").unwrap();
    fs::write(root.join("a dir/deeper/new\nline"), b"newline in the name").unwrap();
    fs::write(root.join("back\\slash"), b"backslash").unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..3_000_000_u32).map(|i| (i % 251) as u8).collect();
    fs::write(root.join("big.bin"), big).unwrap();
}

/// Runs `command` with `stdin` as its standard input, bounded.
fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    wait(child, LIMIT)
}

/// stderr with steward's program name swapped for sha256sum's.
fn as_sha256sum(stderr: &[u8]) -> Vec<u8> {
    let mut swapped = Vec::with_capacity(stderr.len());
    for line in stderr.split_inclusive(|&b| b == b'\n') {
        match line.strip_prefix(b"steward: ") {
            Some(rest) => {
                swapped.extend_from_slice(b"sha256sum: ");
                swapped.extend_from_slice(rest);
            }
            None => swapped.extend_from_slice(line),
        }
    }
    swapped
}

/// Same stdout, same stderr (but the program's name), same status.
fn assert_same(ours: &Output, theirs: &Output, what: &str) {
    assert_eq!(text(&ours.stdout), text(&theirs.stdout), "stdout of {what}");
    assert_eq!(
        text(&as_sha256sum(&ours.stderr)),
        text(&theirs.stderr),
        "stderr of {what}"
    );
    assert_eq!(ours.status.code(), theirs.status.code(), "status of {what}");
}

#[test]
fn checksum_prints_exactly_what_sha256sum_prints() {
    let root = scratch("checksum-tree");
    awkward_tree(&root);
    let ours = steward()
        .arg("checksum")
        .arg(".")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", text(&ours.stderr));

    // sha256sum on the same files in the same (byte) order.
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![PathBuf::from(".")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(root.join(&dir)).unwrap() {
            let entry = entry.unwrap();
            let path = dir.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    let theirs = sha256sum()
        .args(&files)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(theirs.status.success());
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert_eq!(ours.stdout.iter().filter(|&&b| b == b'\n').count(), 6);

    // And sha256sum -c reads it back.
    let check = run_with_stdin(
        {
            let mut command = sha256sum();
            command.args(["-c", "--quiet", "-"]).current_dir(&root);
            command
        },
        &ours.stdout,
    );
    assert!(check.status.success(), "{}", text(&check.stderr));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn checksum_reports_bad_paths_and_goes_on() {
    let root = scratch("checksum-errors");
    fs::write(root.join("good"), b"good").unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("broken")).unwrap();
    let output = steward()
        .args(["checksum", "good", "broken", "missing"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.ends_with("  good\n"), "{stdout}");
    assert_eq!(
        text(&output.stderr),
        "steward: broken: No such file or directory\n\
         steward: missing: No such file or directory\n"
    );

    let json = steward()
        .args(["checksum", "--json", "good"])
        .current_dir(&root)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["path"], "good");
    assert_eq!(lines[0]["bytes"], 4);
    assert_eq!(lines[1]["summary"]["files"], 1);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_refused_value_is_reported_under_the_flag_typed() {
    for (args, expected) in [
        (vec!["--io-limit", "0"], "'--io-limit <N>'"),
        (
            vec!["--cpu-workers", "5000"],
            "--cpu-workers 5000: must be at most 4096",
        ),
        (vec!["--quiet"], "--check"),
        (vec!["--check", "-x"], "--one-file-system"),
    ] {
        let output = steward()
            .arg("checksum")
            .args(&args)
            .arg(".")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("default_io_limit") && !stderr.contains("cpu_workers"));
    }
}

#[test]
fn errors_quote_names_as_sha256sum_does() {
    let root = scratch("checksum-quoting");
    fs::write(root.join("here"), b"here").unwrap();
    let names: Vec<&OsStr> = [
        &b"a b"[..],
        b"new\nline",
        b"it's",
        b"it's\ttab",
        b"c:x",
        b"dol$",
        b"#x",
        b"x#",
        b"\xc3\xbc\xff",
        "ünï".as_bytes(),
        b"here",
        b"here/below",
    ]
    .into_iter()
    .map(OsStr::from_bytes)
    .collect();
    let ours = steward()
        .arg("checksum")
        .args(&names)
        .current_dir(&root)
        .output()
        .unwrap();
    let theirs = sha256sum()
        .args(&names)
        .current_dir(&root)
        .output()
        .unwrap();
    assert_same(&ours, &theirs, "checksum of missing names");
    assert_eq!(text(&ours.stderr).lines().count(), 11);
    fs::remove_dir_all(&root).unwrap();
}

/// A tree and checksum lists with every kind of line `sha256sum -c` meets.
fn check_fixture(root: &Path) {
    let files: [(&[u8], &[u8]); 8] = [
        (b"good", b"a"),
        (b"sp ace", b"b"),
        (b"new\nline", b"c"),
        (b"back\\slash", b"d"),
        (b"it's", b"e"),
        (b"col:on", b"f"),
        (b"inv\xffalid", b"g"),
        (b"changed", b"before"),
    ];
    for (name, content) in files {
        fs::write(root.join(OsStr::from_bytes(name)), content).unwrap();
    }
    fs::create_dir(root.join("adir")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    // The list as sha256sum writes it, then `changed` changes.
    let names: Vec<&OsStr> = files
        .iter()
        .map(|(name, _)| OsStr::from_bytes(name))
        .collect();
    let listed = sha256sum().args(&names).current_dir(root).output().unwrap();
    assert!(listed.status.success());
    fs::write(root.join("changed"), b"after").unwrap();

    let a = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
    let mut list = listed.stdout;
    for line in [
        // Listed files that cannot be read.
        format!("{a}  missing"),
        format!("{a}  missing dir/x"),
        format!("{a}  miss'ing"),
        format!("\\{a}  new\\nmissing"),
        format!("{a}  adir"),
        format!("{a}  loop"),
        format!("{a}  good/x"),
        // The other forms, and case.
        format!("{a} *good"),
        format!("SHA256 (good) = {a}"),
        format!("\\SHA256 (new\\nline) = {}", "0".repeat(64)),
        a.to_ascii_uppercase() + "  good",
        format!("\t {a}  good\r"),
        format!("{a}  back\\slash"),
        // Skipped.
        "# a comment".to_owned(),
        String::new(),
        // Malformed.
        "not a checksum line".to_owned(),
        format!("{}  good", &a[..60]),
        format!("{a}x  good"),
        format!("{a} good"),
        format!("\\{a}  bad\\escape"),
        format!("SHA512 (good) = {a}"),
        format!("SHA256 (good) = {a} "),
    ] {
        list.extend_from_slice(line.as_bytes());
        list.push(b'\n');
    }
    fs::write(root.join("list"), &list).unwrap();
    fs::write(
        root.join("only-missing"),
        format!("{a}  missing\n{a}  gone\n"),
    )
    .unwrap();
    fs::write(root.join("junk"), "junk\n\nmore junk\n").unwrap();
    fs::write(root.join("all-good"), format!("{a}  good\n{a} *good\n")).unwrap();
}

#[test]
fn check_prints_exactly_what_sha256sum_c_prints() {
    let root = scratch("check-matrix");
    check_fixture(&root);
    let options: [&[&str]; 10] = [
        &[],
        &["--quiet"],
        &["--status"],
        &["--warn"],
        &["--strict"],
        &["--ignore-missing"],
        &["--quiet", "--strict", "--ignore-missing"],
        &["--warn", "--status"],
        &["--status", "--warn"],
        &["-w", "--quiet"],
    ];
    let lists: [&[&str]; 5] = [
        &["list"],
        &["all-good"],
        &["only-missing"],
        &["list", "junk", "nolist", "adir", "only-missing", "all-good"],
        &["junk"],
    ];
    for option in options {
        for list in lists {
            let args: Vec<&str> = option.iter().chain(list.iter()).copied().collect();
            let ours = steward()
                .args(["checksum", "--check"])
                .args(&args)
                .current_dir(&root)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let theirs = sha256sum()
                .arg("--check")
                .args(&args)
                .current_dir(&root)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_same(&ours, &theirs, &format!("-c {args:?}"));
        }
    }
    // The list on stdin, which then may not name `-`.
    let mut list = fs::read(root.join("list")).unwrap();
    list.extend_from_slice(
        b"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  -\n",
    );
    for option in [&[][..], &["--warn"]] {
        let mut ours = steward();
        ours.args(["checksum", "-c"])
            .args(option)
            .current_dir(&root);
        let mut theirs = sha256sum();
        theirs.arg("-c").args(option).current_dir(&root);
        assert_same(
            &run_with_stdin(ours, &list),
            &run_with_stdin(theirs, &list),
            &format!("-c {option:?} from stdin"),
        );
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn check_reads_back_what_checksum_wrote_and_finds_the_change() {
    let root = scratch("check-round-trip");
    awkward_tree(&root);
    let list = steward()
        .args(["checksum", "."])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(list.status.success());
    fs::write(root.join("list.sha256"), &list.stdout).unwrap();
    let verified = steward()
        .args(["checksum", "--check", "--quiet", "list.sha256"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert!(verified.stdout.is_empty());

    fs::write(root.join("a dir/deeper/new\nline"), b"changed").unwrap();
    let verified = steward()
        .args(["checksum", "-c", "list.sha256"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(1));
    assert!(text(&verified.stdout).contains("\\./a dir/deeper/new\\nline: FAILED\n"));
    assert_eq!(
        text(&verified.stderr),
        "steward: WARNING: 1 computed checksum did NOT match\n"
    );
    fs::remove_dir_all(&root).unwrap();
}

/// Writes `data` into the FIFO at `path` once a reader opens it.
fn feed(path: &Path, data: &'static [u8]) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut fifo = fs::OpenOptions::new().write(true).open(path).unwrap();
        fifo.write_all(data).unwrap();
    })
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

#[test]
fn stdin_fifos_and_devices_named_are_hashed_as_sha256sum_does() {
    let root = scratch("checksum-streams");
    fs::write(root.join("file"), b"a file").unwrap();
    mkfifo(&root.join("fifo"));
    let operands = ["-", "fifo", "/dev/null", "file", "/dev/stdin"];
    let mut outputs = Vec::new();
    for mut command in [steward(), sha256sum()] {
        if command.get_program() == env!("CARGO_BIN_EXE_steward") {
            command.arg("checksum");
        }
        command.args(operands).current_dir(&root);
        let feeder = feed(&root.join("fifo"), b"through the fifo");
        outputs.push(run_with_stdin(command, b"from stdin"));
        feeder.join().unwrap();
    }
    assert_same(
        &outputs[0],
        &outputs[1],
        "checksum - fifo /dev/null file /dev/stdin",
    );
    // `-` took all of stdin; `/dev/stdin`, read after it, found it empty.
    let stdout = text(&outputs[0].stdout);
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert!(stdout.ends_with(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /dev/stdin\n"
    ));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn walking_skips_fifos_sockets_and_devices_and_says_so() {
    let root = scratch("checksum-skips");
    let tree = root.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("file"), b"file").unwrap();
    mkfifo(&tree.join("a fifo"));
    let _socket = std::os::unix::net::UnixListener::bind(tree.join("socket")).unwrap();
    std::os::unix::fs::symlink("/dev/null", tree.join("null")).unwrap();
    std::os::unix::fs::symlink("a fifo", tree.join("to fifo")).unwrap();
    let output = steward()
        .args(["checksum", "tree"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let theirs = sha256sum()
        .arg("tree/file")
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(text(&output.stdout), text(&theirs.stdout));
    assert_eq!(
        text(&output.stderr),
        "steward: 'tree/a fifo': a FIFO, skipped (name it to read it)\n\
         steward: tree/null: a character device, skipped (name it to read it)\n\
         steward: tree/socket: a socket, skipped (name it to read it)\n\
         steward: 'tree/to fifo': a FIFO, skipped (name it to read it)\n"
    );
    fs::remove_dir_all(&root).unwrap();
}

/// Runs `sh -c script` in a mount namespace of its own, so the tmpfs it
/// mounts goes away with it.
fn in_own_mounts(script: &str, root: &Path) -> Output {
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(root)
        .arg(env!("CARGO_BIN_EXE_steward"))
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs root: unshare --mount and a tmpfs mounted inside the tree"]
fn one_file_system_stays_on_the_operand_s_file_system() {
    let root = scratch("checksum-xdev");
    fs::create_dir_all(root.join("tree/mounted")).unwrap();
    fs::write(root.join("tree/here"), b"here").unwrap();
    let script = "mount -t tmpfs none \"$1/tree/mounted\" && echo there > \"$1/tree/mounted/there\" \
                  && cd \"$1\" && \"$2\" checksum -x tree && echo --- && \"$2\" checksum tree";
    let output = in_own_mounts(script, &root);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let (crossing_not, crossing) = stdout.split_once("---\n").unwrap();
    assert_eq!(crossing_not.lines().count(), 1, "{stdout}");
    assert!(crossing_not.ends_with("  tree/here\n"), "{stdout}");
    assert_eq!(crossing.lines().count(), 2, "{stdout}");
    assert!(crossing.contains("  tree/mounted/there\n"), "{stdout}");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_progress_line_never_runs_into_output_on_a_terminal() {
    let root = scratch("checksum-pty");
    let tree = root.join("tree");
    fs::create_dir(&tree).unwrap();
    for n in 0..40 {
        fs::write(tree.join(format!("file{n:02}")), format!("{n}")).unwrap();
    }
    // The FIFO comes first and nothing is printed before it is read, so
    // the progress line is on the screen when the output starts.
    let fifo = root.join("fifo");
    mkfifo(&fifo);
    let typescript = root.join("typescript");
    let steward_binary = OsStr::new(env!("CARGO_BIN_EXE_steward"));
    let child = on_a_terminal(
        &[
            steward_binary,
            OsStr::new("checksum"),
            fifo.as_os_str(),
            tree.as_os_str(),
        ],
        &typescript,
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    poll::until("the progress line", LIMIT, || {
        fs::read(&typescript).is_ok_and(|seen| text(&seen).contains("MiB/s"))
    });
    feed(&fifo, b"now").join().unwrap();
    let output = wait(child, LIMIT);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let screen = fs::read(&typescript).unwrap();
    let screen = text(&screen);
    let mut lines = 0;
    for (at, _) in screen
        .match_indices(&format!("  {}", fifo.display()))
        .chain(screen.match_indices(&format!("  {}/file", tree.display())))
    {
        // Each output line starts after a newline or after the progress
        // line was cleared: 64 hex digits back.
        let start = at - 64;
        let before = &screen[..start];
        assert!(
            before.ends_with('\n') || before.ends_with("\x1b[K"),
            "an output line ran into something: {:?}",
            &before[before.len().saturating_sub(80)..]
        );
        lines += 1;
    }
    assert_eq!(lines, 41, "{screen}");
    fs::remove_dir_all(&root).unwrap();
}
