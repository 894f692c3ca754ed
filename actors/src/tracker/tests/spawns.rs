//! A [`CommandSpec`] starts as its std twin does: the same `argv` (with
//! `arg0`), environment, working directory, standard streams, signal mask
//! and dispositions, in a process group of its own; and fails where std
//! fails, with the same error. Under cgroups the tracker starts it itself
//! (`clone3`), so std is the reference it is compared with.

use std::io::Write;
use std::os::unix::process::CommandExt;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// Prints what the process sees of itself: its `argv` (from the kernel),
/// working directory, whether it leads its process group, its standard
/// input, its environment (sorted, the tracker's marker left out), and a
/// line on standard error; then execs `grep`, which prints the signal mask
/// and dispositions it started with (the shell's own change as it waits
/// for its children).
const SELF_PORTRAIT: &str = r#"tr '\0' '\n' < /proc/$$/cmdline; pwd
[ "$(cut -d' ' -f5 /proc/$$/stat)" = "$$" ] && echo leads its group
cat; env | grep -v '^_STEWARD_TRACKED_' | LC_ALL=C sort; echo to stderr >&2
exec grep -E '^Sig(Blk|Ign)' /proc/self/status"#;

type Configure<'a> = Box<dyn Fn(&mut CommandSpec) + 'a>;
type Make<'a> = Box<dyn Fn() -> CommandSpec + 'a>;

/// The same command twice: as a spec, and as std's `Command`.
fn twins(configure: impl Fn(&mut CommandSpec)) -> (CommandSpec, Command) {
    let mut spec = CommandSpec::new("sh");
    spec.args(["-c", SELF_PORTRAIT, "sh", "one arg", "two"]);
    configure(&mut spec);
    let mut reference = CommandSpec::new("sh");
    reference.args(["-c", SELF_PORTRAIT, "sh", "one arg", "two"]);
    configure(&mut reference);
    let mut reference = reference.into_std();
    // What the tracker does to every process it starts.
    reference.process_group(0);
    (spec, reference)
}

/// stdout and stderr of a run fed `input`.
type Output = (Vec<u8>, Vec<u8>);

async fn through_tracker(tracker: &Tracker, key: &str, spec: CommandSpec, input: &[u8]) -> Output {
    let mut spawned = tracker.spawn_piped(key, spec).await.unwrap();
    let mut stdin = spawned.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    spawned
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut out)
        .await
        .unwrap();
    spawned
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut err)
        .await
        .unwrap();
    assert!(spawned.exit.wait().await.has_exited());
    (out, err)
}

async fn through_std(reference: Command, input: &[u8]) -> Output {
    let mut child = tokio::process::Command::from(reference).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    (output.stdout, output.stderr)
}

async fn a_spec_starts_as_its_std_twin_does(containment: Containment) {
    let tracker = tracker_with(containment);
    let dir = tempfile::tempdir().unwrap();
    let variants: [(&str, Configure<'_>); 2] = [
        (
            "changed",
            Box::new(|spec: &mut CommandSpec| {
                spec.arg0("portrait")
                    .env("STEWARD_TWIN", "a value with spaces")
                    .env_remove("HOME")
                    .current_dir(dir.path());
            }),
        ),
        (
            "cleared",
            Box::new(|spec: &mut CommandSpec| {
                spec.env_clear().env("ONLY", "this");
            }),
        ),
    ];
    for (name, configure) in variants {
        let piped = |spec: &mut CommandSpec| {
            configure(spec);
            spec.stdin(ChildIo::Piped)
                .stdout(ChildIo::Piped)
                .stderr(ChildIo::Piped);
        };
        let (spec, reference) = twins(piped);
        let input = b"from stdin\n";
        let ours = through_tracker(&tracker, name, spec, input).await;
        let theirs = through_std(reference, input).await;
        assert_eq!(
            String::from_utf8_lossy(&ours.0),
            String::from_utf8_lossy(&theirs.0),
            "{name}: stdout"
        );
        assert_eq!(ours.1, theirs.1, "{name}: stderr");
        assert!(
            String::from_utf8_lossy(&ours.0).contains("leads its group"),
            "{name}"
        );
    }
    if containment == Containment::Cgroup {
        assert!(
            super::super::spawn::is_supported(),
            "this kernel starts processes straight into their cgroup"
        );
    }
}

async fn files_and_null_as_streams_work_as_with_std(containment: Containment) {
    let tracker = tracker_with(containment);
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for via in ["tracker", "std"] {
        let path = dir.path().join(via);
        let file = std::fs::File::create(&path).unwrap();
        let (mut spec, _) = twins(|_| {});
        spec.stdin(ChildIo::Null)
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        if via == "tracker" {
            let mut spawned = tracker.spawn_piped("to-file", spec).await.unwrap();
            assert!(spawned.stdout.is_none(), "not piped");
            spawned.exit.wait().await;
        } else {
            let mut reference = spec.into_std();
            reference.process_group(0);
            reference.status().unwrap();
        }
        outputs.push(std::fs::read_to_string(&path).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[0].contains("to stderr"), "{}", outputs[0]);
}

async fn what_std_cannot_start_the_tracker_cannot_either(containment: Containment) {
    let tracker = tracker_with(containment);
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("data");
    std::fs::File::create(&not_executable)
        .unwrap()
        .write_all(b"not a program")
        .unwrap();
    let cases: [(&str, Make<'_>); 5] = [
        (
            "missing",
            Box::new(|| CommandSpec::new("no-such-program-anywhere")),
        ),
        (
            "missing path",
            Box::new(|| CommandSpec::new("/no/such/program")),
        ),
        (
            "not executable",
            Box::new(|| CommandSpec::new(&not_executable)),
        ),
        (
            "bad directory",
            Box::new(|| {
                let mut spec = CommandSpec::new("true");
                spec.current_dir("/no/such/directory");
                spec
            }),
        ),
        (
            "nowhere to look",
            Box::new(|| {
                let mut spec = CommandSpec::new("true");
                spec.env("PATH", "/nonexistent");
                spec
            }),
        ),
    ];
    for (name, make) in cases {
        let expected = make().into_std().spawn().map(drop).unwrap_err();
        let error = tracker.spawn(name, make()).await.unwrap_err();
        let TrackerError::Spawn { key, source } = &error else {
            panic!("{name}: {error}");
        };
        assert_eq!(key, name);
        assert_eq!(source.kind(), expected.kind(), "{name}: {error}");
        assert_eq!(
            source.raw_os_error(),
            expected.raw_os_error(),
            "{name}: {error}"
        );
    }
    let status = tracker.status().await.unwrap();
    assert!(status.processes.is_empty(), "nothing tracked: {status:?}");
}

both_containments!(
    a_spec_starts_as_its_std_twin_does,
    files_and_null_as_streams_work_as_with_std,
    what_std_cannot_start_the_tracker_cannot_either,
);
