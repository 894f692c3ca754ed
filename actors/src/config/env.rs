//! Environment overrides: `STEWARD_*` variables parsed against the settings
//! table.

use std::ffi::OsStr;
use std::num::IntErrorKind;
use std::os::unix::ffi::OsStrExt;

use super::settings::{self, Access, DRIVE_LIMIT, KNOWN_VARIABLES, SETTINGS};
use super::{Config, ConfigError, DriveId, Problem};

const PREFIX: &str = "STEWARD_";
const DRIVE_PREFIX: &str = "STEWARD_DRIVE_";
const DRIVE_SUFFIX: &str = "_IO";

pub(super) fn apply<K, V>(
    mut config: Config,
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<Config, ConfigError>
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut ours: Vec<(K, V)> = vars
        .into_iter()
        .filter(|(name, _)| name.as_ref().as_bytes().starts_with(PREFIX.as_bytes()))
        .collect();
    // The environment has no order; sorting makes the reported error the
    // same on every run.
    ours.sort_by(|(a, _), (b, _)| a.as_ref().cmp(b.as_ref()));
    for (name, value) in &ours {
        apply_one(&mut config, name.as_ref(), value.as_ref())?;
    }
    settings::check_threshold_order(&config)?;
    Ok(config)
}

fn apply_one(config: &mut Config, name: &OsStr, value: &OsStr) -> Result<(), ConfigError> {
    let Some(var) = name.to_str() else {
        return Err(unknown(name));
    };
    let invalid = |problem| ConfigError::InvalidValue {
        key: var.to_owned(),
        value: value.to_string_lossy().into_owned(),
        problem,
    };
    if let Some(setting) = SETTINGS.iter().find(|setting| setting.var == var) {
        let text = text(value).map_err(invalid)?;
        match setting.access {
            Access::Whole { set, range, .. } | Access::OptionalWhole { set, range, .. } => {
                let number = parse_whole(text).map_err(invalid)?;
                range.check(number).map_err(invalid)?;
                set(config, number);
            }
            Access::Percent { set, .. } => {
                let number = parse_percent(text).map_err(invalid)?;
                settings::check_percent(number).map_err(invalid)?;
                set(config, number);
            }
        }
        return Ok(());
    }
    let Some(id) = var
        .strip_prefix(DRIVE_PREFIX)
        .and_then(|rest| rest.strip_suffix(DRIVE_SUFFIX))
    else {
        return Err(unknown(name));
    };
    let id = DriveId::parse(id).map_err(|problem| ConfigError::InvalidDriveId {
        var: var.to_owned(),
        problem,
    })?;
    let text = text(value).map_err(invalid)?;
    let limit = parse_whole(text).map_err(invalid)?;
    DRIVE_LIMIT.check(limit).map_err(invalid)?;
    config
        .drive_io_limits
        .insert(id, usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(())
}

fn unknown(name: &OsStr) -> ConfigError {
    ConfigError::UnknownVariable {
        var: name.to_string_lossy().into_owned(),
        known: KNOWN_VARIABLES,
    }
}

fn text(value: &OsStr) -> Result<&str, Problem> {
    match value.to_str() {
        None => Err(Problem::NotUnicode),
        Some("") => Err(Problem::Empty),
        Some(text) => Ok(text),
    }
}

fn parse_whole(text: &str) -> Result<u64, Problem> {
    const EXPECTED: Problem = Problem::NotANumber {
        expected: "a whole number",
    };
    if let Some(magnitude) = text.strip_prefix('-') {
        return match magnitude.parse::<u64>() {
            Ok(0) => Ok(0),
            Ok(_) => Err(Problem::Negative),
            Err(err) if *err.kind() == IntErrorKind::PosOverflow => Err(Problem::Negative),
            Err(_) => Err(EXPECTED),
        };
    }
    match text.parse::<u64>() {
        Ok(number) => Ok(number),
        // Too large for u64 is above every setting's maximum: the range
        // check reports it with that maximum.
        Err(err) if *err.kind() == IntErrorKind::PosOverflow => Ok(u64::MAX),
        Err(_) => Err(EXPECTED),
    }
}

fn parse_percent(text: &str) -> Result<f64, Problem> {
    const EXPECTED: Problem = Problem::NotANumber {
        expected: "a percentage",
    };
    let number: f64 = text.parse().map_err(|_| EXPECTED)?;
    if number.is_nan() {
        Err(EXPECTED)
    } else {
        Ok(number)
    }
}
