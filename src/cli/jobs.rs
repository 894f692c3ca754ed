//! What `steward run` runs: inputs, argument templates, durations.

use std::io::BufRead;
use std::time::Duration;

/// The marker that separates the command from inline inputs.
const INLINE_INPUTS: &str = ":::";

/// The command template and its inputs, split from the command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) template: Vec<String>,
    /// `None`: read the inputs from stdin.
    pub(crate) inline: Option<Vec<String>>,
}

/// Splits `COMMAND [ARGS...] [::: INPUTS...]`.
pub(crate) fn plan(words: Vec<String>) -> Result<Plan, String> {
    let mut template = words;
    let inline = template
        .iter()
        .position(|word| word == INLINE_INPUTS)
        .map(|at| {
            let inputs = template.split_off(at);
            inputs[1..].to_vec()
        });
    if template.is_empty() {
        return Err("no command given".to_owned());
    }
    Ok(Plan { template, inline })
}

/// The inputs: inline ones, or one per stdin line.
pub(crate) fn inputs(plan: &Plan) -> std::io::Result<Vec<String>> {
    match &plan.inline {
        Some(inputs) => Ok(inputs.clone()),
        None => std::io::stdin().lock().lines().collect(),
    }
}

/// The argument vector for one input: `{}` replaced by it wherever it
/// appears; with no `{}` anywhere, the input is appended (as `xargs` and
/// GNU parallel do). No shell is involved.
pub(crate) fn arguments(template: &[String], input: &str) -> Vec<String> {
    if template.iter().any(|word| word.contains("{}")) {
        template
            .iter()
            .map(|word| word.replace("{}", input))
            .collect()
    } else {
        let mut words = template.to_vec();
        words.push(input.to_owned());
        words
    }
}

/// Parses `1.5s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 30s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn inline_inputs_follow_the_marker() {
        let plan = plan(words("echo {} ::: a b")).unwrap();
        assert_eq!(plan.template, ["echo", "{}"]);
        assert_eq!(plan.inline.unwrap(), ["a", "b"]);
        assert_eq!(super::plan(words("echo")).unwrap().inline, None);
        assert!(super::plan(words("::: a")).is_err());
    }

    #[test]
    fn braces_are_replaced_or_the_input_appended() {
        assert_eq!(arguments(&words("cp {} {}.bak"), "f"), ["cp", "f", "f.bak"]);
        assert_eq!(arguments(&words("gzip -k"), "f"), ["gzip", "-k", "f"]);
    }

    #[test]
    fn durations_take_units_and_reject_nonsense() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(duration("soon").is_err());
        assert!(duration("5 parsecs").is_err());
        assert!(duration("-1s").is_err());
    }
}
