//! The dashboard page: one self-contained HTML file (styles and script
//! inline, nothing fetched from elsewhere), with the status it was served
//! with embedded so it shows figures before its first poll.

use crate::StewardStatus;
use crate::steward::HistoryPoint;

/// The page, with [`MARKER`] where the status goes.
const TEMPLATE: &str = include_str!("dashboard.html");
/// Where the status is put into the page.
const MARKER: &str = "/*STATUS*/null";

/// The page's content security policy: nothing but its own inline styles
/// and script, and requests to this endpoint.
pub(super) const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page showing `status`, its charts starting from `history`.
pub(super) fn page(status: &StewardStatus, history: &[HistoryPoint]) -> String {
    let embedded = serde_json::json!({ "status": status, "history": history });
    let json = serde_json::to_string(&embedded).unwrap_or_else(|_| "null".to_owned());
    TEMPLATE.replacen(MARKER, &script_safe(&json), 1)
}

/// JSON that cannot end the `<script>` element it sits in (`</script>`,
/// `<!--`) or be read as markup: `<`, `>` and `&` as `\u` escapes, which
/// JSON reads back as the same characters.
fn script_safe(json: &str) -> String {
    let mut safe = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::{MARKER, TEMPLATE, script_safe};

    #[test]
    fn the_template_has_one_marker_and_fetches_nothing_from_elsewhere() {
        assert_eq!(TEMPLATE.matches(MARKER).count(), 1);
        for fetch in [
            "src=",
            "href=",
            "url(",
            "@import",
            "fetch(\"http",
            "fetch(\"/",
        ] {
            assert!(!TEMPLATE.contains(fetch), "{fetch}");
        }
    }

    #[test]
    fn embedded_json_cannot_close_its_script_element() {
        let json =
            serde_json::json!({ "pool": "</script><script>alert(1)</script>&<!--" }).to_string();
        let safe = script_safe(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["pool"], "</script><script>alert(1)</script>&<!--");
    }
}
