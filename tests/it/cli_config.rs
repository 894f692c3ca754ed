//! `steward config`, run as a real process with real environment variables.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Output};

fn steward_config(vars: &[(&str, OsString)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    command.arg("config");
    // Start from an environment without any STEWARD_* of the caller's.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STEWARD_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command.output().expect("the steward binary runs")
}

#[test]
fn prints_the_configuration_with_env_overrides() {
    let output = steward_config(&[
        ("STEWARD_CPU_WORKERS", "3".into()),
        ("STEWARD_DRIVE_MNT_DATA_IO", "12".into()),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(config["cpu_workers"], 3);
    assert_eq!(config["default_io_limit"], 2);
    assert_eq!(config["drive_io_limits"]["MNT_DATA"], 12);
}

#[test]
fn a_bad_variable_exits_2_naming_it_and_its_value() {
    let cases: [(&str, OsString, &str); 4] = [
        (
            "STEWARD_DEFAULT_IO_LIMIT",
            "0".into(),
            r#"STEWARD_DEFAULT_IO_LIMIT="0": must not be zero"#,
        ),
        (
            "STEWARD_MONITOR_INTERVAL_MS",
            "50".into(),
            "must be at least 200",
        ),
        (
            "STEWARD_CPU_WORKERS",
            OsString::from_vec(vec![0xff]),
            "STEWARD_CPU_WORKERS=\"\u{fffd}\": must be valid UTF-8",
        ),
        ("STEWARD_TYPO", "1".into(), "unknown variable STEWARD_TYPO"),
    ];
    for (var, value, message) in cases {
        let output = steward_config(&[(var, value)]);
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{var}: {stderr}");
        assert!(output.stdout.is_empty(), "{var}: nothing on stdout");
    }
}
