//! Error wording: Go-style I/O errors and Packer's messages.

/// The message of an I/O error as Go prints it: `no such file or directory`
/// (no `(os error N)` suffix, lower-case first letter).
pub(crate) fn go_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// A Go `*PathError` string: `open a.txt: no such file or directory`.
pub(crate) fn go_io_error(op: &str, path: &str, err: &std::io::Error) -> String {
    format!("{op} {path}: {}", go_error_text(err))
}

/// Go's `%v` of a `[]string`: `[a b c]`.
pub(crate) fn go_slice(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `%#v` of a `[]string`: `[]string{"a", "b"}`.
pub(crate) fn go_slice_literal(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::Value::String(s.clone()).to_string())
        .collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// The error a cancelled post-processor reports (Go's `context.Canceled`).
pub(crate) const CANCELLED: &str = "context canceled";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_wording() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            go_io_error("open", "x", &e),
            "open x: no such file or directory"
        );
        assert_eq!(go_slice(&["a".into(), "b".into()]), "[a b]");
        assert_eq!(go_slice_literal(&["a".into()]), "[]string{\"a\"}");
    }
}
