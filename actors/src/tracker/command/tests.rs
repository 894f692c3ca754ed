use super::*;

#[test]
fn converts_to_the_same_std_command() {
    let mut spec = CommandSpec::new("prog");
    spec.arg("a")
        .args(["b", "c"])
        .env("K", "v")
        .env_remove("GONE")
        .current_dir("/tmp");
    assert!(spec.is_readable());
    assert_eq!(spec.get_args(), ["a", "b", "c"]);
    let command = spec.into_std();
    assert_eq!(command.get_program(), "prog");
    assert_eq!(command.get_args().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        command.get_envs().collect::<Vec<_>>(),
        [
            (OsStr::new("GONE"), None),
            (OsStr::new("K"), Some(OsStr::new("v")))
        ]
    );
    assert_eq!(command.get_current_dir(), Some(Path::new("/tmp")));
}

#[test]
fn a_std_command_stays_one_and_takes_the_same_methods() {
    let mut spec = CommandSpec::from(Command::new("prog"));
    spec.arg("a").env("K", "v").stdout(ChildIo::Null);
    assert!(!spec.is_readable());
    assert_eq!(spec.get_program(), "prog");
    assert_eq!(spec.get_args(), ["a"]);
}

#[test]
fn the_environment_is_the_programs_with_changes_or_only_the_set_ones() {
    let mut spec = CommandSpec::new("prog");
    spec.env("STEWARD_TEST_SET", "1").env_remove("PATH");
    let environment = spec_parts(spec).environment();
    assert_eq!(
        environment.get(OsStr::new("STEWARD_TEST_SET")),
        Some(&"1".into())
    );
    assert!(!environment.contains_key(OsStr::new("PATH")));
    let mut cleared = CommandSpec::new("prog");
    cleared.env("A", "1").env_clear().env("B", "2");
    let environment = spec_parts(cleared).environment();
    assert_eq!(
        environment.into_iter().collect::<Vec<_>>(),
        [("B".into(), "2".into())]
    );
}

fn spec_parts(spec: CommandSpec) -> Parts {
    match spec.into_readable() {
        Readable::Parts(parts) => parts,
        Readable::Std(_) => panic!("built with its own methods"),
    }
}
