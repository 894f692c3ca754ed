use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use super::settings::{Access, SETTINGS, WholeRange};
use super::*;

fn env(var: &str, value: &str) -> Result<Config, ConfigError> {
    Config::default().apply_env([(var, value)])
}

fn problem_of(result: Result<Config, ConfigError>) -> Problem {
    match result {
        Err(ConfigError::InvalidValue { problem, .. }) => problem,
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

/// Bad values every whole-number variable refuses, with the problem each
/// must report. `{max+1}` stands for one above the variable's maximum.
const WHOLE_CASES: &[(&str, Problem)] = &[
    ("", Problem::Empty),
    (
        "four",
        Problem::NotANumber {
            expected: "a whole number",
        },
    ),
    (
        "4.5",
        Problem::NotANumber {
            expected: "a whole number",
        },
    ),
    (
        " 4",
        Problem::NotANumber {
            expected: "a whole number",
        },
    ),
    (
        "0x10",
        Problem::NotANumber {
            expected: "a whole number",
        },
    ),
    ("-1", Problem::Negative),
    ("-99999999999999999999999", Problem::Negative),
];

/// The range and current value of a whole-number setting (optional or not).
fn whole(access: Access, config: &Config) -> Option<(WholeRange, Option<u64>)> {
    match access {
        Access::Whole { get, range, .. } => Some((range, Some(get(config)))),
        Access::OptionalWhole { get, range, .. } => Some((range, get(config))),
        Access::Percent { .. } => None,
    }
}

#[test]
fn every_whole_variable_refuses_every_bad_value() {
    let mut tried = 0;
    for setting in SETTINGS {
        let Some((range, _)) = whole(setting.access, &Config::default()) else {
            continue;
        };
        let overflow = "99999999999999999999999".to_owned();
        let above = (range.max + 1).to_string();
        let mut cases: Vec<(String, Problem)> = WHOLE_CASES
            .iter()
            .map(|(v, p)| ((*v).to_owned(), *p))
            .collect();
        cases.push(("0".to_owned(), Problem::Zero));
        cases.push((overflow, Problem::AboveMaximum { max: range.max }));
        cases.push((above, Problem::AboveMaximum { max: range.max }));
        if range.min > 1 {
            cases.push((
                (range.min - 1).to_string(),
                Problem::BelowMinimum { min: range.min },
            ));
        }
        for (value, expected) in cases {
            let err = env(setting.var, &value).unwrap_err();
            assert_eq!(
                err,
                ConfigError::InvalidValue {
                    key: setting.var.to_owned(),
                    value: value.clone(),
                    problem: expected
                },
                "{}={value:?}",
                setting.var
            );
            assert!(err.to_string().contains(setting.var), "{err}");
            tried += 1;
        }
        // The edges of the range are accepted and applied.
        for edge in [range.min, range.max] {
            let config = env(setting.var, &edge.to_string()).unwrap_or_else(|err| {
                // A free-bytes edge may break the warning > critical order
                // only when both are set; one alone is always accepted.
                panic!("{}={edge}: {err}", setting.var)
            });
            let value = whole(setting.access, &config).and_then(|(_, value)| value);
            assert_eq!(value, Some(edge), "{}={edge}", setting.var);
        }
    }
    assert!(
        tried >= 9 * 10,
        "nine whole-number variables (four of them free bytes), ten cases each"
    );
}

#[test]
fn every_percent_variable_refuses_every_bad_value() {
    let cases: &[(&str, Problem)] = &[
        ("", Problem::Empty),
        (
            "high",
            Problem::NotANumber {
                expected: "a percentage",
            },
        ),
        (
            "NaN",
            Problem::NotANumber {
                expected: "a percentage",
            },
        ),
        (
            "80%",
            Problem::NotANumber {
                expected: "a percentage",
            },
        ),
        ("-5", Problem::Negative),
        ("0", Problem::Zero),
        ("100.5", Problem::AboveMaximum { max: 100 }),
        ("inf", Problem::AboveMaximum { max: 100 }),
        ("1e400", Problem::AboveMaximum { max: 100 }),
    ];
    let mut tried = 0;
    for setting in SETTINGS {
        let Access::Percent { .. } = setting.access else {
            continue;
        };
        for &(value, expected) in cases {
            assert_eq!(
                problem_of(env(setting.var, value)),
                expected,
                "{}={value:?}",
                setting.var
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 7 * cases.len(), "six thresholds and the hysteresis");
}

#[test]
fn non_utf8_values_and_names_are_refused_by_name() {
    let bad = OsString::from_vec(vec![b'4', 0xff]);
    for setting in SETTINGS {
        let err = Config::default()
            .apply_env([(OsString::from(setting.var), bad.clone())])
            .unwrap_err();
        match err {
            ConfigError::InvalidValue {
                key,
                problem: Problem::NotUnicode,
                value,
            } => {
                assert_eq!(key, setting.var);
                assert_eq!(value, "4\u{fffd}");
            }
            other => panic!("{}: {other:?}", setting.var),
        }
    }
    let name = OsString::from_vec(b"STEWARD_CPU_\xffWORKERS".to_vec());
    let err = Config::default()
        .apply_env([(name, OsString::from("4"))])
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::UnknownVariable { ref var, .. } if var == "STEWARD_CPU_\u{fffd}WORKERS")
    );
}

#[test]
fn unknown_steward_variables_are_errors_and_others_are_ignored() {
    let err = env("STEWARD_CPU_WORKER", "4").unwrap_err();
    assert_eq!(
        err.to_string().split(':').next(),
        Some("unknown variable STEWARD_CPU_WORKER")
    );
    let config = Config::default()
        .apply_env([("PATH", "/bin"), ("STEWARDS", "x")])
        .unwrap();
    assert_eq!(config, Config::default());
}

#[test]
fn drive_variables_set_per_drive_limits() {
    let config = Config::default()
        .apply_env([
            ("STEWARD_DRIVE_ROOT_IO", "3"),
            ("STEWARD_DRIVE_MNT_DATA_IO", "16"),
        ])
        .unwrap();
    assert_eq!(config.drive_limit("/"), Some(3));
    assert_eq!(config.drive_limit("/mnt/data"), Some(16));
    assert_eq!(config.drive_limit("/mnt/other"), None);
}

#[test]
fn drive_variables_refuse_bad_ids_and_values() {
    for var in [
        "STEWARD_DRIVE__IO",
        "STEWARD_DRIVE_mnt_IO",
        "STEWARD_DRIVE_A__B_IO",
        "STEWARD_DRIVE_ROOT",
    ] {
        let err = env(var, "4").unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidDriveId { var: v, .. } | ConfigError::UnknownVariable { var: v, .. } if v == var),
            "{var}: {err:?}"
        );
    }
    for (value, expected) in [
        ("", Problem::Empty),
        (
            "many",
            Problem::NotANumber {
                expected: "a whole number",
            },
        ),
        ("-3", Problem::Negative),
        ("0", Problem::Zero),
        (
            "18446744073709551616",
            Problem::AboveMaximum { max: 1 << 30 },
        ),
    ] {
        let err = env("STEWARD_DRIVE_MNT_DATA_IO", value).unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidValue {
                key: "STEWARD_DRIVE_MNT_DATA_IO".into(),
                value: value.into(),
                problem: expected
            }
        );
    }
}

#[test]
fn thresholds_out_of_order_name_both_variables() {
    let err = env("STEWARD_MEMORY_WARNING_PERCENT", "95").unwrap_err();
    assert_eq!(
        err.to_string(),
        "memory warning threshold 95% must be below its critical threshold 90% \
         (see STEWARD_MEMORY_WARNING_PERCENT and STEWARD_MEMORY_CRITICAL_PERCENT)"
    );
    // Raising both together is fine, whatever order the environment lists them in.
    let config = Config::default()
        .apply_env([
            ("STEWARD_DISK_CRITICAL_PERCENT", "99"),
            ("STEWARD_DISK_WARNING_PERCENT", "97"),
        ])
        .unwrap();
    assert_eq!(config.thresholds().disk, Levels::new(97.0, 99.0));
}

#[test]
fn the_first_bad_variable_in_name_order_is_reported() {
    let vars = [
        ("STEWARD_MONITOR_INTERVAL_MS", "x"),
        ("STEWARD_CPU_WORKERS", "y"),
    ];
    let err = Config::default().apply_env(vars).unwrap_err();
    assert!(
        matches!(err, ConfigError::InvalidValue { ref key, .. } if key == "STEWARD_CPU_WORKERS")
    );
}

#[test]
fn good_values_override_defaults() {
    let config = Config::default()
        .apply_env([
            ("STEWARD_CPU_WORKERS", "3"),
            ("STEWARD_DEFAULT_IO_LIMIT", "5"),
            ("STEWARD_MONITOR_INTERVAL_MS", "200"),
            ("STEWARD_SHUTDOWN_TIMEOUT_MS", "250"),
            ("STEWARD_CPU_WARNING_PERCENT", "50.5"),
        ])
        .unwrap();
    assert_eq!(config.cpu_workers(), 3);
    assert_eq!(config.default_io_limit(), 5);
    assert_eq!(config.monitor_interval(), Duration::from_millis(200));
    assert_eq!(config.shutdown_timeout(), Duration::from_millis(250));
    assert_eq!(config.thresholds().cpu.warning_percent, 50.5);
    config.validate().unwrap();
}

#[test]
fn validate_names_the_field_set_by_a_setter() {
    let cases: [(Config, &str, Problem); 5] = [
        (
            Config::default().with_cpu_workers(0),
            "cpu_workers",
            Problem::Zero,
        ),
        (
            Config::default().with_default_io_limit(0),
            "default_io_limit",
            Problem::Zero,
        ),
        (
            Config::default().with_monitor_interval(Duration::from_millis(100)),
            "monitor_interval_ms",
            Problem::BelowMinimum { min: 200 },
        ),
        (
            Config::default().with_drive_limit("/mnt/x", 0),
            "drive_io_limits.MNT_X",
            Problem::Zero,
        ),
        (
            Config::default().with_thresholds(Thresholds {
                cpu: Levels::new(f64::NAN, 90.0),
                ..Thresholds::default()
            }),
            "thresholds.cpu.warning_percent",
            Problem::NotANumber {
                expected: "a percentage",
            },
        ),
    ];
    for (config, field, expected) in cases {
        match config.validate() {
            Err(ConfigError::InvalidValue { key, problem, .. }) => {
                assert_eq!((key.as_str(), problem), (field, expected));
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(Config::default().validate().is_ok());
}

#[test]
fn serde_round_trips_and_refuses_unknown_fields() {
    let config = Config::default()
        .with_cpu_workers(7)
        .with_drive_limit("/data", 4);
    let json = serde_json::to_string(&config).unwrap();
    assert!(json.contains(r#""drive_io_limits":{"DATA":4}"#), "{json}");
    let back: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);

    let partial: Config = serde_json::from_str(r#"{"cpu_workers": 2}"#).unwrap();
    assert_eq!(partial.cpu_workers(), 2);
    assert_eq!(partial.default_io_limit(), 2);

    assert!(serde_json::from_str::<Config>(r#"{"cpu_worker": 2}"#).is_err());
    assert!(serde_json::from_str::<Config>(r#"{"drive_io_limits": {"mnt/x": 2}}"#).is_err());
}

#[test]
fn drive_ids_from_mount_points() {
    for (mount, id) in [
        ("/", "ROOT"),
        ("/mnt/data", "MNT_DATA"),
        ("/mnt/data/", "MNT_DATA"),
        ("/media/usb stick-2", "MEDIA_USB_STICK_2"),
        ("/srv/données", "SRV_DONNC3A9ES"),
        ("//", "ROOT"),
    ] {
        let derived = DriveId::from_mount_point(mount.as_ref());
        assert_eq!(derived.as_str(), id, "{mount}");
        assert_eq!(
            DriveId::parse(id).unwrap(),
            derived,
            "every derived id parses back"
        );
    }
}

#[test]
fn free_bytes_thresholds_must_put_warning_above_critical() {
    let err = Config::default()
        .apply_env([
            ("STEWARD_DISK_WARNING_FREE_BYTES", "1000"),
            ("STEWARD_DISK_CRITICAL_FREE_BYTES", "1000"),
        ])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "disk warning threshold 1000 free bytes must be above its critical threshold 1000 free \
         bytes (see STEWARD_DISK_WARNING_FREE_BYTES and STEWARD_DISK_CRITICAL_FREE_BYTES)"
    );
    let config = Config::default()
        .apply_env([
            ("STEWARD_MEMORY_WARNING_FREE_BYTES", "2000000000"),
            ("STEWARD_MEMORY_CRITICAL_FREE_BYTES", "500000000"),
            ("STEWARD_MONITOR_HYSTERESIS_PERCENT", "2.5"),
            ("STEWARD_MONITOR_CLEAR_AFTER_SAMPLES", "7"),
        ])
        .unwrap();
    let thresholds = config.thresholds();
    assert_eq!(
        thresholds.memory_free,
        FreeLevels::new(2_000_000_000, 500_000_000)
    );
    assert_eq!(thresholds.hysteresis_percent, 2.5);
    assert_eq!(thresholds.clear_after_samples, 7);
    config.validate().unwrap();
}

#[test]
fn per_disk_thresholds_are_validated_by_mount_point() {
    let levels = |warning, critical, free| DiskLevels {
        percent: Levels::new(warning, critical),
        free,
    };
    let cases = [
        (
            levels(90.0, 80.0, FreeLevels::default()),
            "disk /data warning threshold 90% must be below its critical threshold 80% (see thresholds.disks)",
        ),
        (
            levels(80.0, 90.0, FreeLevels::new(5, 10)),
            "disk /data warning threshold 5 free bytes must be above its critical threshold 10 free bytes (see thresholds.disks)",
        ),
        (
            levels(80.0, 101.0, FreeLevels::default()),
            "thresholds.disks./data.percent.critical_percent=\"101\": must be at most 100",
        ),
        (
            levels(
                80.0,
                90.0,
                FreeLevels {
                    warning_free_bytes: Some(0),
                    critical_free_bytes: None,
                },
            ),
            "thresholds.disks./data.free.warning_free_bytes=\"0\": must not be zero",
        ),
    ];
    for (disk, message) in cases {
        let config =
            Config::default().with_thresholds(Thresholds::default().with_disk("/data", disk));
        assert_eq!(config.validate().unwrap_err().to_string(), message);
    }
    let good = Config::default().with_thresholds(
        Thresholds::default().with_disk("/data", levels(50.0, 60.0, FreeLevels::new(10, 5))),
    );
    good.validate().unwrap();
    let json = serde_json::to_string(&good).unwrap();
    let back: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(back, good);
}
