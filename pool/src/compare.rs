//! Judge mode's output comparison: a case's stdout against its expected output. It runs
//! here, in the engine, so that expected outputs never enter a sandbox.

use warmrun_api::Comparison;

/// Whether `actual` counts as `expected` under `mode`.
pub fn same_output(mode: Comparison, expected: &[u8], actual: &[u8]) -> bool {
    match mode {
        Comparison::Exact => expected == actual,
        Comparison::TrailingWhitespace => trimmed_lines(expected).eq(trimmed_lines(actual)),
        Comparison::Tokens => tokens(expected).eq(tokens(actual)),
        Comparison::Numbers { tolerance } => {
            let (mut want, mut got) = (tokens(expected), tokens(actual));
            loop {
                match (want.next(), got.next()) {
                    (None, None) => return true,
                    (Some(w), Some(g)) if same_token(w, g, tolerance) => {}
                    _ => return false,
                }
            }
        }
    }
}

/// What counts as whitespace: ASCII's, vertical tab and NUL too (as Judge0 compares, so
/// that its `expected_output` and judge mode agree).
fn blank(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' | b'\0')
}

fn trim_end(text: &[u8]) -> &[u8] {
    let end = text.iter().rposition(|b| !blank(b)).map_or(0, |i| i + 1);
    &text[..end]
}

/// Lines without their trailing whitespace (`\r` included), trailing empty lines dropped.
fn trimmed_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let text = trim_end(text);
    let empty = text.is_empty();
    text.split(|&b| b == b'\n')
        .map(trim_end)
        .filter(move |_| !empty)
}

fn tokens(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(blank).filter(|t| !t.is_empty())
}

/// Equal tokens, or two numbers within `tolerance` of each other, absolutely or relative
/// to the expected one.
fn same_token(want: &[u8], got: &[u8], tolerance: f64) -> bool {
    if want == got {
        return true;
    }
    match (number(want), number(got)) {
        (Some(w), Some(g)) => {
            let diff = (w - g).abs();
            diff <= tolerance || diff <= tolerance * w.abs()
        }
        _ => false,
    }
}

/// A finite decimal number (`inf`/`nan` spelled out are words, not numbers).
fn number(token: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(token).ok()?;
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::same_output;
    use warmrun_api::Comparison;

    fn same(mode: Comparison, want: &str, got: &str) -> bool {
        same_output(mode, want.as_bytes(), got.as_bytes())
    }

    #[test]
    fn exact_is_byte_for_byte() {
        let m = Comparison::Exact;
        assert!(same(m, "1 2\n", "1 2\n"));
        assert!(!same(m, "1 2\n", "1 2"));
        assert!(!same(m, "1 2\n", "1 2 \n"));
        assert!(!same(m, "1 2\n", "1  2\n"));
        assert!(same(m, "", ""));
    }

    #[test]
    fn trailing_whitespace_ignores_line_ends_only() {
        let m = Comparison::TrailingWhitespace;
        assert_eq!(Comparison::default(), m);
        assert!(same(m, "1 2\n3\n", "1 2\n3"));
        assert!(same(m, "1 2\n3\n", "1 2  \r\n3\t\n\n\n"));
        assert!(same(m, "", "\n \n"));
        assert!(same(m, "a\n", "a\0\x0b\n"));
        assert!(!same(m, "", "x"));
        assert!(!same(m, "1 2\n3\n", "1  2\n3\n"));
        assert!(!same(m, "1 2\n3\n", " 1 2\n3\n"));
        assert!(!same(m, "a\n\nb\n", "a\nb\n"));
        assert!(!same(m, "1\n2\n", "1 2\n"));
    }

    #[test]
    fn tokens_ignore_all_spacing() {
        let m = Comparison::Tokens;
        assert!(same(m, "1 2\n3\n", "1\n2   3"));
        assert!(same(m, "", "  \n"));
        assert!(!same(m, "1 2 3", "1 2"));
        assert!(!same(m, "1 2", "1 2 3"));
        assert!(!same(m, "1.0", "1"));
    }

    #[test]
    fn numbers_within_tolerance() {
        let m = Comparison::Numbers { tolerance: 1e-6 };
        assert!(same(m, "0.3333333 x\n", "0.33333331 x"));
        assert!(same(m, "1000000000", "1000000100")); // relative: 1e-7
        assert!(same(m, "1e3 -2", "1000.0000001 -2.0"));
        assert!(!same(m, "0.5", "0.50001"));
        assert!(!same(m, "yes", "no"));
        assert!(!same(m, "1 2", "1"));
        assert!(!same(m, "nan", "1"));
        assert!(same(m, "nan", "nan")); // equal words
        assert!(!same(
            Comparison::Numbers { tolerance: 0.0 },
            "0.1",
            "0.1000001"
        ));
        assert!(same(Comparison::Numbers { tolerance: 0.5 }, "3", "3.4"));
    }
}
