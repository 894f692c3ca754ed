use super::label::{Cap, MAX_VALUE_LEN, OTHER};
use super::{ALL, Kind, Values};

/// The documentation table of every metric, as `observe/METRICS.md`
/// holds it.
fn table() -> String {
    let mut rows = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for metric in ALL {
        let labels: Vec<String> = metric
            .labels
            .iter()
            .map(|label| match label.values {
                Values::Fixed(values) => format!("`{}` ({})", label.name, values.join(", ")),
                Values::Named(cap) => format!("`{}` (names, at most {})", label.name, cap.limit()),
            })
            .collect();
        let labels = if labels.is_empty() {
            "—".to_owned()
        } else {
            labels.join(", ")
        };
        rows.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            metric.name,
            match metric.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            },
            labels,
            metric.help
        ));
    }
    rows
}

#[test]
fn the_documentation_table_lists_every_metric_as_the_code_defines_it() {
    let doc = include_str!("../observe/METRICS.md");
    let table = table();
    assert!(
        doc.contains(&table),
        "observe/METRICS.md must hold this table:\n{table}"
    );
}

#[test]
fn names_follow_prometheus_conventions() {
    let mut names: Vec<&str> = ALL.iter().map(|metric| metric.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ALL.len(), "a name is defined twice");
    for metric in ALL {
        let name = metric.name;
        assert!(name.starts_with("steward_"), "{name}");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
        assert_eq!(
            metric.kind == Kind::Counter,
            name.ends_with("_total"),
            "{name}"
        );
        assert!(
            !metric.help.is_empty() && metric.help.ends_with('.'),
            "{name}"
        );
        for label in metric.labels {
            assert!(
                label
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}: {}",
                label.name
            );
            assert_ne!(
                label.name, "le",
                "{name}: `le` is the histogram bucket's label"
            );
        }
    }
}

#[test]
fn a_cap_passes_the_first_names_and_records_the_rest_as_other() {
    let cap = Cap::new(2);
    assert_eq!(cap.bound("a"), "a");
    assert_eq!(cap.bound("b"), "b");
    assert_eq!(cap.bound("c"), OTHER);
    // Names already let through stay themselves.
    assert_eq!(cap.bound("a"), "a");
    assert_eq!(cap.bound("b"), "b");
    assert_eq!(cap.bound("d"), OTHER);
}

#[test]
fn other_takes_no_slot_of_a_cap() {
    let cap = Cap::new(1);
    assert_eq!(cap.bound(OTHER), OTHER);
    assert_eq!(cap.bound("a"), "a");
    assert_eq!(cap.bound("b"), OTHER);
}

#[test]
fn long_values_are_cut_at_a_character_boundary() {
    let cap = Cap::new(4);
    let long = "é".repeat(MAX_VALUE_LEN);
    let bounded = cap.bound(&long);
    assert!(bounded.len() <= MAX_VALUE_LEN);
    assert!(long.starts_with(&bounded));
    assert_eq!(bounded.len(), MAX_VALUE_LEN / 2 * 2);
    // Two names equal in their first bytes share a series.
    let other_long = format!("{bounded}tail");
    assert_eq!(cap.bound(&other_long), bounded);
}
