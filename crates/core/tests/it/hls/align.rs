//! The insertion-only check, shared by the integration tests and the fuzz
//! target (`fuzz/fuzz_targets/rewrite.rs` includes this file by path), so it
//! uses nothing but std.

/// Checks that `output` is `input` with insertions only, each one of `sets`
/// preceded by `?`, by `&`, or by nothing right after an existing `?`/`&`.
/// Returns how many were inserted, or where the two first differ.
pub fn insertions(input: &[u8], output: &[u8], sets: &[&str]) -> Result<usize, String> {
    signed_uris(input, output, sets).map(|uris| uris.len())
}

/// As [`insertions`], returning for each insertion the URI it was made in, up
/// to the insertion point (scheme, authority, path and query: all that says
/// where the URI goes).
pub fn signed_uris(input: &[u8], output: &[u8], sets: &[&str]) -> Result<Vec<String>, String> {
    // Longest first, so a set that extends another is taken whole.
    let mut sets: Vec<&[u8]> = sets.iter().map(|s| s.as_bytes()).collect();
    sets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let (mut i, mut j) = (0, 0);
    let mut uris = Vec::new();
    'walk: while j < output.len() {
        let after_sep = j > 0 && matches!(output[j - 1], b'?' | b'&');
        for set in &sets {
            if after_sep && output[j..].starts_with(set) && !input[i..].starts_with(set) {
                uris.push(String::from_utf8_lossy(uri_before(output, j)).into_owned());
                j += set.len();
                continue 'walk;
            }
        }
        if i < input.len() && output[j] == input[i] {
            i += 1;
            j += 1;
            continue;
        }
        // Does the URI so far hold a query?
        let uri = uri_before(output, j);
        let has_query = uri.contains(&b'?');
        for set in &sets {
            let rest = &output[j + 1..];
            let sep_ok = match output[j] {
                b'?' => !has_query,
                b'&' => has_query,
                _ => false,
            };
            if sep_ok && rest.starts_with(set) {
                uris.push(String::from_utf8_lossy(uri).into_owned());
                j += 1 + set.len();
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
    Ok(uris)
}

/// The URI that runs up to output byte `j`.
fn uri_before(output: &[u8], j: usize) -> &[u8] {
    let line_start = output[..j]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    &output[line_start + value_start(&output[line_start..j])..j]
}

/// Where the URI that runs to the end of `line` starts: the line itself for a
/// URI line; in a tag (maybe indented), the start of the attribute value still
/// open at the end, walking `NAME=VALUE,…` with quoted values kept whole. Our
/// parameter sets hold no quotes or commas, so walking the output finds the
/// same boundaries as walking the input.
fn value_start(line: &[u8]) -> usize {
    let lead = line.len() - line.trim_ascii_start().len();
    if !line[lead..].starts_with(b"#") {
        return 0;
    }
    let n = line.len();
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return n;
    };
    let mut i = colon + 1;
    while i < n {
        while i < n && line[i] != b'=' && line[i] != b',' {
            i += 1; // the name
        }
        if i == n {
            return n;
        }
        i += 1;
        if line[i - 1] == b',' {
            continue; // a name without a value
        }
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let Some(close) = line[start..].iter().position(|&b| b == b'"') else {
                return start; // an open quoted value
            };
            i = start + close + 1;
            while i < n && line[i] != b',' {
                i += 1;
            }
        } else {
            let start = i;
            while i < n && line[i] != b',' {
                i += 1;
            }
            if i == n {
                return start; // an open unquoted value
            }
        }
        i += 1;
    }
    n
}
