//! Each expectation is what `parallel -q` ran (seen with a program that
//! prints its arguments), written down; `tests/it/cli_run.rs` compares
//! with GNU parallel itself.

use super::*;

fn bytes(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|word| word.as_bytes().to_vec()).collect()
}

fn expand(template: &[&str], args: &[&str], fill: Fill) -> Vec<String> {
    expand_with(template, args, fill, &Names::default())
}

fn expand_with(template: &[&str], args: &[&str], fill: Fill, names: &Names) -> Vec<String> {
    let template = Template::command(&bytes(template), names);
    let args = bytes(args);
    let job = Job {
        args: &args,
        seq: 7,
        slot: 2,
    };
    template
        .words(&job, fill)
        .into_iter()
        .map(|word| String::from_utf8(word).unwrap())
        .collect()
}

#[test]
fn without_a_replacement_string_the_arguments_are_appended() {
    assert_eq!(
        expand(&["gzip", "-k"], &["f"], Fill::Words),
        ["gzip", "-k", "f"]
    );
    assert_eq!(
        expand(&["echo"], &["a", "1"], Fill::Words),
        ["echo", "a", "1"],
        "two sources: two words"
    );
    assert_eq!(
        expand(&["echo"], &[""], Fill::Words),
        ["echo", ""],
        "an empty input is a word"
    );
}

#[test]
fn each_part_of_the_input() {
    assert_eq!(
        expand(
            &["cp", "{}", "{.}.bak", "{/}", "{//}", "{/.}", "{#}", "{%}"],
            &["dir/a.txt"],
            Fill::Words
        ),
        [
            "cp",
            "dir/a.txt",
            "dir/a.bak",
            "a.txt",
            "dir",
            "a",
            "7",
            "2"
        ]
    );
}

#[test]
fn positional_strings_pick_one_argument() {
    // parallel -q printf '<%s>' {0} {-1} {3} {1.} '{ 1 }' {2/.} ::: a.b/c.d
    assert_eq!(
        expand(
            &["p", "{0}", "{-1}", "{3}", "{1.}", "{ 1 }", "{2/.}"],
            &["a.b/c.d"],
            Fill::Words
        ),
        ["p", "a.b/c.d", "a.b/c.d", "", "a.b/c", "{ 1 }", ""]
    );
    assert_eq!(
        expand(
            &["p", "{2}-{1}", "{1 }", "{-2//}"],
            &["x/a", "y/b"],
            Fill::Words
        ),
        ["p", "y/b-x/a", "x/a", "x"]
    );
}

#[test]
fn several_arguments_make_several_words() {
    // parallel -q -m printf '<%s>' pre{}post {1} ::: a b c, first job
    assert_eq!(
        expand(&["p", "pre{}post", "{1}"], &["a", "b"], Fill::Words),
        ["p", "prea", "bpost", "a"]
    );
    // parallel -q printf '<%s>' x{}y ::: a ::: 1
    assert_eq!(
        expand(&["p", "x{}y"], &["a", "1"], Fill::Words),
        ["p", "xa", "1y"]
    );
    // {#} and {%} are filled once.
    assert_eq!(
        expand(&["p", "{#}", "{%}"], &["a", "1"], Fill::Words),
        ["p", "7", "2"]
    );
}

#[test]
fn context_replace_repeats_the_blank_delimited_text() {
    // parallel -q -X printf '<%s>' pre{}post {1} 'x {} y' ::: a b c, first job
    assert_eq!(
        expand(
            &["p", "pre{}post", "{1}", "x {} y"],
            &["a", "b"],
            Fill::Context
        ),
        ["p", "preapost", "prebpost", "a", "x a", "b y"]
    );
    // parallel -q -X printf '<%s>' {1}-{2} ::: 1 2 ::: a b: {n} counts the
    // job's arguments, filled once.
    assert_eq!(
        expand(&["p", "{1}-{2}"], &["1", "a", "1", "b"], Fill::Context),
        ["p", "1-a"]
    );
    assert_eq!(
        expand(&["p", "{}"], &["a", "b"], Fill::Context),
        ["p", "a", "b"]
    );
}

#[test]
fn no_arguments_fill_nothing() {
    // parallel -q -n0 printf '<%s>' ::: a  and  ... x{}y ::: a
    assert_eq!(expand(&["p"], &[], Fill::Words), ["p"]);
    assert_eq!(expand(&["p", "x{}y"], &[], Fill::Words), ["p", "xy"]);
    assert_eq!(
        expand(&["p", "{1}", ""], &[], Fill::Words),
        ["p", ""],
        "an empty word stays"
    );
}

#[test]
fn renamed_strings() {
    let names = Names {
        whole: b"XX".to_vec(),
        without_extension: b"{noext}".to_vec(),
        ..Names::default()
    };
    assert_eq!(
        expand_with(
            &["mv", "XX", "XX.old", "{noext}", "{1noext}", "{1}", "{}"],
            &["a.b"],
            Fill::Words,
            &names
        ),
        ["mv", "a.b", "a.b.old", "a", "a", "{1}", "{}"],
        "-I XX: `{{}}` and `{{1}}` are text"
    );
}

#[test]
fn the_longest_name_wins() {
    assert_eq!(expand(&["{/.}{//}{.}"], &["d/f.x"], Fill::Words), ["fdd/f"]);
    assert_eq!(expand(&["{{}}"], &["a"], Fill::Words), ["{a}"]);
}

#[test]
fn shell_lines_quote_the_values_unless_the_command_is_one() {
    let names = Names::default();
    let args = bytes(&["a b", "it's"]);
    let job = Job {
        args: &args,
        seq: 1,
        slot: 1,
    };
    let line = |words: &[&str]| {
        String::from_utf8(Template::command(&bytes(words), &names).shell_line(&job, Fill::Words))
            .unwrap()
    };
    assert_eq!(line(&["echo {} > out"]), "echo 'a b' 'it'\"'\"'s' > out");
    assert_eq!(
        line(&["{1}", "-v"]),
        "a b -v",
        "the command itself is not quoted"
    );
}

#[test]
fn tags_join_the_values_unquoted() {
    let names = Names::default();
    let args = bytes(&["a b", "1"]);
    let job = Job {
        args: &args,
        seq: 3,
        slot: 1,
    };
    let tag = Template::text(&bytes(&["{}"]), &names).joined(&job, Fill::Words);
    assert_eq!(tag, b"a b 1");
    let tag = Template::text(&bytes(&["job {#}: {2}"]), &names).joined(&job, Fill::Words);
    assert_eq!(tag, b"job 3: 1");
    assert!(!Template::text(&bytes(&["plain"]), &names).has_replacements());
}

#[test]
fn sizes_bound_the_words() {
    let names = Names::default();
    for (template, fill) in [
        (
            vec!["echo", "pre{}post", "x {} y", "{1}", "{#}"],
            Fill::Context,
        ),
        (vec!["echo", "pre{}post", "{.}", "{//}"], Fill::Words),
    ] {
        let template = Template::command(&bytes(&template), &names);
        let args = bytes(&["a/b.c", "", "dd", "eee/f"]);
        let job = Job {
            args: &args,
            seq: u64::MAX,
            slot: usize::MAX,
        };
        let real: usize = template
            .words(&job, fill)
            .iter()
            .map(|word| word.len() + WORD_OVERHEAD)
            .sum();
        let bound = template.fixed_size()
            + args
                .iter()
                .map(|arg| template.size_of_arg(arg, fill))
                .sum::<usize>();
        assert!(real <= bound, "{real} > {bound}");
        assert!(
            bound < real * 3,
            "a loose bound wastes the room: {bound} for {real}"
        );
    }
}
