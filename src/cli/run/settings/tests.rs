use std::ffi::OsString;

use clap::Parser;

use super::*;

fn settings(words: &[&str]) -> Result<Settings, String> {
    let options =
        Options::try_parse_from(words.iter().map(OsString::from)).map_err(|e| e.to_string())?;
    Settings::new(options, 2)
}

fn origins(settings: &Settings) -> Vec<(Origin, bool)> {
    settings
        .sources
        .iter()
        .map(|source| (source.origin.clone(), source.linked))
        .collect()
}

fn words(words: &[&str]) -> Origin {
    Origin::Words(words.iter().map(|w| w.as_bytes().to_vec()).collect())
}

#[test]
fn sources_come_in_parallels_order() {
    let got = settings(&[
        "-a", "first", "echo", "{}", ":::", "a", "b", ":::+", "1", "::::", "f1", "f2", "::::+",
        "g", "h",
    ])
    .unwrap();
    assert_eq!(
        origins(&got),
        [
            (Origin::File("first".into()), false),
            (words(&["a", "b"]), false),
            (words(&["1"]), true),
            (Origin::File("f1".into()), false),
            (Origin::File("f2".into()), false),
            (Origin::File("g".into()), true),
            (Origin::File("h".into()), true),
        ]
    );
    assert_eq!(
        origins(&settings(&["echo"]).unwrap()),
        [(Origin::Stdin, false)],
        "no source: stdin"
    );
    assert_eq!(
        origins(&settings(&["echo", ":::"]).unwrap()),
        [(words(&[]), false)],
        "an empty :::"
    );
}

#[test]
fn other_separators() {
    let got = settings(&["--arg-sep", ",,", "echo", ":::", ",,", "a"]).unwrap();
    assert_eq!(origins(&got), [(words(&["a"]), false)]);
    assert!(settings(&["--arg-sep", "", "echo"]).is_err());
}

#[test]
fn options_read_as_parallels() {
    let got = settings(&[
        "-j2",
        "-k",
        "--lb",
        "-X",
        "--halt",
        "now,fail=1",
        "--timeout",
        "200%",
        "-0",
        "echo",
    ])
    .unwrap();
    assert_eq!(got.jobs, JobCount::Exactly(2));
    assert!(got.keep_order);
    assert_eq!(got.output, OutputMode::Spooled(Mode::LineBuffer));
    assert_eq!(got.fill, Fill::Context);
    assert!(got.grouping.fill_up && got.grouping.spread);
    assert_eq!(got.timeout, Some(Timeout::OfMedian(2.0)));
    assert_eq!(got.reading.delimiter, b"\0");
    let got = settings(&[
        "-P",
        "-1",
        "--jobs",
        "50%",
        "--retries",
        "0",
        "--xargs",
        "echo",
    ])
    .unwrap();
    assert_eq!(got.jobs, JobCount::Percent(50.0), "the last -j wins");
    assert_eq!(got.tries, None, "--retries 0: until it succeeds");
    assert!(got.grouping.fill_up && !got.grouping.spread);
    let got = settings(&["--colsep", "\\t", "echo"]).unwrap();
    assert_eq!(got.columns.trim, Trim::Both, "--colsep implies --trim rl");
    assert_eq!(settings(&["echo"]).unwrap().tries, Some(1));
    assert_eq!(
        settings(&["--load", "50%", "echo"]).unwrap().load,
        Some(1.0)
    );
    assert_eq!(settings(&["--load", "0", "echo"]).unwrap().load, Some(0.01));
}

#[test]
fn bad_values_are_refused_with_their_flag() {
    for (words, expected) in [
        (&["-j", "x", "echo"][..], "-j"),
        (&["--halt", "later", "echo"], "--halt"),
        (&["--timeout", "soon", "echo"], "--timeout"),
        (&["--timeout", "0", "echo"], "--timeout 0"),
        (&["--delay", "x", "echo"], "not a duration"),
        (&["--memfree", "lots", "echo"], "not a size"),
        (&["--colsep", "(", "echo"], "--colsep"),
        (&["--trim", "x", "echo"], "--trim"),
        (&["-I", "", "echo"], "-I"),
        (&["-d", "", "echo"], "-d"),
        (&["--load", "x", "echo"], "--load"),
    ] {
        let problem = settings(words)
            .err()
            .unwrap_or_else(|| panic!("{words:?} accepted"));
        assert!(problem.contains(expected), "{words:?}: {problem}");
    }
}
