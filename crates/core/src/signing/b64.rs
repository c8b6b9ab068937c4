//! CloudFront-safe base64: standard base64 with `+`→`-`, `=`→`_`, `/`→`~`, so a
//! value can sit in a query string or a cookie without further encoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes bytes as CloudFront-safe base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            other => other,
        })
        .collect()
}

/// Decodes CloudFront-safe base64. Plain base64 characters (`+`, `=`, `/`) are
/// refused: CloudFront never emits them and accepting them would make two
/// spellings of one signature.
pub fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let standard: Vec<u8> = s
        .bytes()
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'=',
            b'~' => b'/',
            b'+' | b'=' | b'/' => b'!', // invalid on purpose
            other => other,
        })
        .collect();
    STANDARD.decode(standard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_all_three_characters() {
        // 0xfb 0xff -> "+/8=" in standard base64.
        assert_eq!(encode(&[0xfb, 0xff]), "-~8_");
        assert_eq!(decode("-~8_").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn refuses_standard_alphabet_specials() {
        assert!(decode("+/8=").is_err());
    }

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
    }
}
