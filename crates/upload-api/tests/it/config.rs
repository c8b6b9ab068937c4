//! The configuration: what is required, and the docs' table.

use hlsgate_aws::Env;
use hlsgate_upload_api::Config;

use crate::common::config;

#[test]
fn the_docs_list_exactly_the_variables_read() {
    let vars: Vec<(String, String)> = [
        ("INPUT_BUCKET", "u"),
        ("MEDIA_BUCKET", "m"),
        ("UPLOADER_VALUES", "editors"),
        ("LOG_HASH_KEY", "k"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (env, read) = Env::from_pairs(vars).tracking();
    Config::from(env).unwrap();
    hlsgate_aws::testing::assert_documented("upload-api.md", read.names());
}

#[test]
fn every_problem_at_once() {
    let err = Config::from(Env::from_pairs([
        ("STATUS_PREFIX", "videos/status/"),
        ("UPLOAD_PART_BYTES", "1000"),
        ("UPLOAD_URL_SECONDS", "86400"),
    ]))
    .unwrap_err()
    .to_string();
    for says in [
        "INPUT_BUCKET",
        "MEDIA_BUCKET",
        "UPLOADER_VALUES",
        "STATUS_PREFIX",
        "UPLOAD_PART_BYTES",
        "UPLOAD_URL_SECONDS",
        "LOG_HASH_KEY_SECRET_ARN",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
}

#[test]
fn a_file_too_big_for_ten_thousand_parts_gets_bigger_parts() {
    let c = config(&[]);
    let mib = 1024 * 1024;
    assert_eq!(c.part_size(10), 5 * mib);
    assert_eq!(c.part_size(10_000 * 5 * mib), 5 * mib);
    let big = 10_000 * 5 * mib + 1;
    let part = c.part_size(big);
    assert_eq!(part, 6 * mib);
    assert!(big.div_ceil(part) <= 10_000);
}
