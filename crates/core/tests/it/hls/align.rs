//! The insertion-only check, shared by the integration tests and the fuzz
//! target (`fuzz/fuzz_targets/rewrite.rs` includes this file by path), so it
//! uses nothing but std.

/// Checks that `output` is `input` with insertions only, each one of `sets`
/// preceded by `?`, by `&`, or by nothing right after an existing `?`/`&`.
/// Returns how many were inserted, or where the two first differ.
pub fn insertions(input: &[u8], output: &[u8], sets: &[&str]) -> Result<usize, String> {
    // Longest first, so a set that extends another is taken whole.
    let mut sets: Vec<&[u8]> = sets.iter().map(|s| s.as_bytes()).collect();
    sets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let (mut i, mut j, mut n) = (0, 0, 0);
    'walk: while j < output.len() {
        let after_sep = j > 0 && matches!(output[j - 1], b'?' | b'&');
        for set in &sets {
            if after_sep && output[j..].starts_with(set) && !input[i..].starts_with(set) {
                j += set.len();
                n += 1;
                continue 'walk;
            }
        }
        if i < input.len() && output[j] == input[i] {
            i += 1;
            j += 1;
            continue;
        }
        // Does the URI so far hold a query? A URI line starts the line. In a
        // tag (maybe indented), inside a quoted value (an odd number of quotes
        // so far) the URI starts after the opening quote; an unquoted value
        // (against the spec) has no reliable start, so either separator
        // passes there.
        let line_start = output[..j]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = &output[line_start..j];
        let has_query = if !line.trim_ascii_start().starts_with(b"#") {
            Some(line.contains(&b'?'))
        } else if line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            line.iter()
                .rposition(|&b| b == b'"')
                .map(|q| line[q + 1..].contains(&b'?'))
        } else {
            None
        };
        for set in &sets {
            let rest = &output[j + 1..];
            let sep_ok = match (output[j], has_query) {
                (b'?' | b'&', None) => true,
                (b'?', Some(q)) => !q,
                (b'&', Some(q)) => q,
                _ => false,
            };
            if sep_ok && rest.starts_with(set) {
                j += 1 + set.len();
                n += 1;
                continue 'walk;
            }
        }
        return Err(format!(
            "output differs at output byte {j} / input byte {i}: output {:?} input {:?}",
            String::from_utf8_lossy(&output[j.saturating_sub(40)..(j + 40).min(output.len())]),
            String::from_utf8_lossy(&input[i.saturating_sub(40)..(i + 40).min(input.len())]),
        ));
    }
    if i != input.len() {
        return Err(format!(
            "output ends early: input byte {i} of {}",
            input.len()
        ));
    }
    Ok(n)
}
