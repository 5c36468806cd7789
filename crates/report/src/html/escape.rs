//! Escaping what a scenario says before it goes into the page: HTML text and attributes,
//! and JSON inside a `<script type="application/json">` block (which must never close the
//! script element or open an HTML comment, whatever a name or description contains).

use std::fmt::Write as _;

/// `text` safe as HTML text or inside a double- or single-quoted attribute.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// JSON text made safe inside a `<script>` element: every `<`, `>` and `&` becomes a
/// `\u00XX` escape (valid only inside JSON strings, which is the only place JSON text can
/// hold them), as do U+2028 and U+2029. `</script>` and `<!--` can then never appear.
pub fn json_in_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn script_json_cannot_close_the_script_or_open_a_comment() {
        let value = serde_json::json!({ "name": "</script><!-- <script>alert(1)</script> \u{2028}" });
        let safe = json_in_script(&value.to_string());
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, value);
    }
}
