//! CloudFront's resource matching: `*` matches any run of characters (including
//! none, `/` and `?`), `?` matches exactly one character, everything else
//! matches itself, case-sensitively, over the whole URL including its query.

/// True when `url` matches `pattern` in full.
///
/// Iterative with single-star backtracking: O(len(url) × stars) in the worst
/// case, no recursion, no allocation beyond the char buffers.
pub fn matches(pattern: &str, url: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = url.chars().collect();
    let (mut pi, mut si) = (0usize, 0usize);
    // Where to resume after the most recent `*`: (pattern index after it,
    // url index it is currently assumed to end at).
    let mut resume: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                pi += 1;
                resume = Some((pi, si));
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match resume {
                Some((rp, rs)) => {
                    // Let the last `*` swallow one more character.
                    pi = rp;
                    si = rs + 1;
                    resume = Some((rp, rs + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    const D: &str = "https://d111111abcdef8.cloudfront.net";

    #[test]
    fn star_at_the_end_covers_a_folder_and_its_queries() {
        let p = format!("{D}/videos/abc/*");
        assert!(matches(&p, &format!("{D}/videos/abc/master.m3u8")));
        assert!(matches(
            &p,
            &format!("{D}/videos/abc/720p/seg_001.ts?x=1&y=2")
        ));
        assert!(matches(&p, &format!("{D}/videos/abc/")));
        assert!(!matches(&p, &format!("{D}/videos/abc")));
        assert!(!matches(&p, &format!("{D}/videos/abcd/master.m3u8")));
        assert!(!matches(&p, &format!("{D}/videos/ABC/master.m3u8")));
    }

    #[test]
    fn star_at_the_start_and_middle() {
        assert!(matches("*/master.m3u8", &format!("{D}/v/master.m3u8")));
        assert!(matches("http*://d.example/*", "https://d.example/a"));
        assert!(matches("http*://d.example/*", "http://d.example/a"));
        assert!(matches(
            &format!("{D}/videos/*/master.m3u8"),
            &format!("{D}/videos/a/b/master.m3u8")
        ));
        assert!(!matches(
            &format!("{D}/videos/*/master.m3u8"),
            &format!("{D}/videos/a/master.m3u8?x=1")
        ));
        assert!(matches("*", ""));
        assert!(matches("*", "anything at all"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(matches("a**b", "ab"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(matches(
            "https://d.example/seg?.ts",
            "https://d.example/seg1.ts"
        ));
        assert!(!matches(
            "https://d.example/seg?.ts",
            "https://d.example/seg.ts"
        ));
        assert!(!matches(
            "https://d.example/seg?.ts",
            "https://d.example/seg12.ts"
        ));
        // One character, not one byte.
        assert!(matches("https://d.example/ü?", "https://d.example/üé"));
        // A literal `?` in a resource is a wildcard too: it also matches `?`.
        assert!(matches(
            "https://d.example/a.m3u8?lang=en",
            "https://d.example/a.m3u8?lang=en"
        ));
        assert!(matches(
            "https://d.example/a.m3u8?lang=en",
            "https://d.example/a.m3u8Xlang=en"
        ));
    }

    #[test]
    fn query_strings_must_match_in_full_without_a_star() {
        let p = "https://d.example/a.m3u8";
        assert!(matches(p, "https://d.example/a.m3u8"));
        assert!(!matches(p, "https://d.example/a.m3u8?x=1"));
        assert!(matches(
            "https://d.example/a.m3u8*",
            "https://d.example/a.m3u8?x=1"
        ));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = "*a".repeat(50) + "b";
        let url = "a".repeat(4000);
        assert!(!matches(&pattern, &url));
    }
}
