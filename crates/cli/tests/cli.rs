//! The `hlsgate` binary, end to end.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use hlsgate_fixtures::{CDN, fixtures};

fn key(name: &str) -> String {
    fixtures()
        .join("conformance/keys")
        .join(name)
        .display()
        .to_string()
}

fn hlsgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(args)
        .output()
        .expect("run hlsgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn vectors() -> Vec<Value> {
    let raw = std::fs::read(fixtures().join("conformance/cloudfront-signing.json")).unwrap();
    let v: Value = serde_json::from_slice(&raw).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// The `hlsgate sign` arguments that express a vector's inputs.
fn sign_args(case: &Value) -> Vec<String> {
    let input = &case["input"];
    let mut a: Vec<String> = vec![
        "sign".into(),
        "--key-pair-id".into(),
        case["key_pair_id"].as_str().unwrap().into(),
        "--private-key".into(),
        key("test-rsa2048-pkcs1.pem"),
        "--hash".into(),
        input["hash_algorithm"].as_str().unwrap().to_lowercase(),
    ];
    match input["policy"].as_str() {
        Some(raw) => {
            let p: Value = serde_json::from_str(raw).unwrap();
            let st = &p["Statement"][0];
            let resource = st["Resource"].as_str().unwrap();
            let c = &st["Condition"];
            a.extend(["--url".into(), resource.into()]);
            a.extend(["--policy-resource".into(), resource.into()]);
            a.extend([
                "--expires".into(),
                c["DateLessThan"]["AWS:EpochTime"].to_string(),
            ]);
            if let Some(s) = c["DateGreaterThan"]["AWS:EpochTime"].as_u64() {
                a.extend(["--starts".into(), s.to_string()]);
            }
            if let Some(ip) = c["IpAddress"]["AWS:SourceIp"].as_str() {
                a.extend(["--ip".into(), ip.into()]);
            }
        }
        None => {
            a.extend(["--url".into(), input["url"].as_str().unwrap().into()]);
            a.extend(["--expires".into(), input["date_less_than"].to_string()]);
            if let Some(s) = input["date_greater_than"].as_u64() {
                a.extend(["--starts".into(), s.to_string()]);
            }
            if let Some(ip) = input["ip_address"].as_str() {
                a.extend(["--ip".into(), ip.into()]);
            }
        }
    }
    a
}

#[test]
fn sign_reproduces_every_vector() {
    for case in vectors() {
        let name = case["name"].as_str().unwrap();
        let args = sign_args(&case);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = hlsgate(&refs);
        assert!(
            text.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&text.stderr)
        );
        assert_eq!(
            stdout(&text).trim_end(),
            case["signed_url"].as_str().unwrap(),
            "{name}: signed URL"
        );
        let mut json_args = refs.clone();
        json_args.extend(["--format", "json"]);
        let out: Value = serde_json::from_str(&stdout(&hlsgate(&json_args))).unwrap();
        assert_eq!(out["signature"], case["signature"], "{name}: signature");
        assert_eq!(out["policy"], case["policy_json"], "{name}: policy");
        assert_eq!(out["key_pair_id"], "K2JCJMDEHXQW5F");
        assert_eq!(out["hash_algorithm"], case["input"]["hash_algorithm"]);
        assert_eq!(out["expires"], 1893456000);
        assert!(out["query"].as_str().unwrap().contains("Signature="));
        assert_eq!(out["cookies"]["CloudFront-Signature"], case["signature"]);
    }
}

#[test]
fn sign_cookies_prints_set_cookie_headers() {
    let o = hlsgate(&[
        "sign",
        "--url",
        &format!("{CDN}/videos/abc123/master.m3u8"),
        "--policy-resource",
        &format!("{CDN}/videos/abc123/*"),
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        &key("test-rsa2048-pkcs8.pem"),
        "--expires",
        "1h",
        "--hash",
        "sha256",
        "--cookies",
        "--cookie-domain",
        "d111111abcdef8.cloudfront.net",
        "--cookie-path",
        "/videos/abc123/",
        "--same-site",
        "none",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for l in lines {
        assert!(l.starts_with("Set-Cookie: CloudFront-"), "{l}");
        assert!(l.contains("; Secure") && l.contains("; HttpOnly"), "{l}");
        assert!(l.contains("; SameSite=None"), "{l}");
        assert!(l.contains("; Path=/videos/abc123/"), "{l}");
    }
    assert!(out.contains("CloudFront-Hash-Algorithm=SHA256"));
}

/// `hlsgate sign` of a policy on the whole `/videos/abc123/` folder, with
/// `extra` flags; returns stdout trimmed.
fn sign_folder(extra: &[&str]) -> String {
    let url = format!("{CDN}/videos/abc123/master.m3u8");
    let resource = format!("{CDN}/videos/abc123/*");
    let pk = key("test-rsa2048-pkcs1.pem");
    let mut args = vec![
        "sign",
        "--url",
        &url,
        "--policy-resource",
        &resource,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        &pk,
        "--expires",
        "1893456000",
    ];
    args.extend_from_slice(extra);
    let o = hlsgate(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(&o).trim().to_string()
}

/// A signed folder URL (bound to an IP range and a window) for the verify table.
fn folder_url() -> String {
    sign_folder(&["--starts", "1893369600", "--ip", "203.0.113.0/24"])
}

#[test]
fn verify_names_each_reason_in_text_and_json() {
    let good = folder_url();
    let canned = vectors()[0]["signed_url"].as_str().unwrap().to_string();
    let pk = format!("K2JCJMDEHXQW5F={}", key("test-rsa2048-public.pem"));
    let sig_start = good.find("Signature=").unwrap() + 20;
    let mut tampered = good.clone();
    tampered.replace_range(
        sig_start..sig_start + 1,
        if &good[sig_start..sig_start + 1] == "A" {
            "B"
        } else {
            "A"
        },
    );
    // (url, now, ip, code, text fragment)
    let table: Vec<(String, &str, Option<&str>, &str, &str)> = vec![
        (
            format!("{CDN}/videos/abc123/master.m3u8"),
            "1893400000",
            Some("203.0.113.1"),
            "malformed",
            "no signing parameters",
        ),
        (
            format!("{good}&Expires=1893456000"),
            "1893400000",
            Some("203.0.113.1"),
            "canned_custom_mismatch",
            "both Expires",
        ),
        (
            good.replace("K2JCJMDEHXQW5F", "KOTHER"),
            "1893400000",
            Some("203.0.113.1"),
            "unknown_key_id",
            "KOTHER",
        ),
        (
            tampered,
            "1893400000",
            Some("203.0.113.1"),
            "bad_signature",
            "does not verify",
        ),
        (
            good.replace("/abc123/master", "/zzz/master"),
            "1893400000",
            Some("203.0.113.1"),
            "resource_mismatch",
            "/videos/abc123/*",
        ),
        (
            good.clone(),
            "1893369000",
            Some("203.0.113.1"),
            "not_yet_valid",
            "valid after 1893369600",
        ),
        (
            good.clone(),
            "1893456001",
            Some("203.0.113.1"),
            "expired",
            "valid until 1893456000",
        ),
        (
            good.clone(),
            "1893400000",
            Some("198.51.100.1"),
            "ip_outside_range",
            "198.51.100.1 is not in 203.0.113.0/24",
        ),
        (
            good.clone(),
            "1893400000",
            None,
            "ip_unknown",
            "no viewer IP",
        ),
        (
            canned.replace("master.m3u8", "other.m3u8"),
            "1893400000",
            None,
            "bad_signature",
            "another URL",
        ),
    ];
    for (url, now, ip, code, fragment) in table {
        let mut args = vec!["verify", "--url", &url, "--public-key", &pk, "--now", now];
        if let Some(ip) = ip {
            args.extend(["--ip", ip]);
        }
        let text = hlsgate(&args);
        assert_eq!(text.status.code(), Some(1), "{code}: {}", stdout(&text));
        let out = stdout(&text);
        assert!(out.starts_with("invalid: "), "{out}");
        assert!(out.contains(fragment), "{code}: {out} lacks {fragment:?}");
        args.extend(["--format", "json"]);
        let json = hlsgate(&args);
        assert_eq!(json.status.code(), Some(1));
        let v: Value = serde_json::from_str(&stdout(&json)).unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["reason"], code, "{v}");
        assert!(v["message"].as_str().unwrap().contains(fragment));
        assert!(v["details"].is_object());
    }
    let ok = hlsgate(&[
        "verify",
        "--url",
        &good,
        "--public-key",
        &pk,
        "--now",
        "1893400000",
        "--ip",
        "203.0.113.9",
        "--format",
        "json",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let v: Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["kind"], "custom");
    assert_eq!(v["resource"], format!("{CDN}/videos/abc123/*"));
}

#[test]
fn verify_cookies_and_key_rotation() {
    let case = &vectors()[3]; // custom-window-sha1
    let cookies: Vec<String> = case["cookies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map(str::to_string).unwrap_or(v.to_string())
            )
        })
        .collect();
    let cookie = cookies.join("; ");
    let url = case["input"]["url"].as_str().unwrap();
    let o = hlsgate(&[
        "verify",
        "--url",
        url,
        "--cookie",
        &cookie,
        "--public-key",
        &format!("KSECOND={}", key("second-rsa2048-public.pem")),
        "--public-key",
        &format!("K2JCJMDEHXQW5F={}", key("test-rsa2048-pkcs8.pem")),
        "--now",
        "1893400000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("valid: custom policy, key K2JCJMDEHXQW5F"));
}

/// `hlsgate sign` of a fixed URL with `key`, `expires` and extra flags.
fn sign_quick(key: &str, expires: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sign",
        "--url",
        "https://d/a",
        "--key-pair-id",
        "K1",
        "--private-key",
        key,
        "--expires",
        expires,
    ];
    args.extend_from_slice(extra);
    hlsgate(&args)
}

#[test]
fn usage_errors_exit_2() {
    let cases: Vec<Vec<&str>> = vec![
        vec!["verify", "--url", "x"],
        vec![
            "verify",
            "--url",
            "https://d/a",
            "--public-key",
            "nokeyfile",
        ],
        vec!["frobnicate"],
    ];
    for args in cases {
        let o = hlsgate(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    // A file that cannot be read is I/O, not usage.
    let missing = sign_quick("/nonexistent.pem", "1h", &[]);
    assert_eq!(missing.status.code(), Some(3));
    let pk = key("test-rsa2048-pkcs1.pem");
    let ms = sign_quick(&pk, "1893456000000", &[]);
    assert_eq!(ms.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ms.stderr).contains("milliseconds"));
    let v6 = sign_quick(&pk, "1h", &["--ip", "2001:db8::/32"]);
    assert_eq!(v6.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&v6.stderr).contains("IPv6"));
    let small = fixtures()
        .join("keys/test-only-rsa1024.pem")
        .display()
        .to_string();
    let refused = sign_quick(&small, "1h", &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only accepts 2048-bit"));
    let allowed = sign_quick(&small, "1h", &["--allow-any-key-size"]);
    assert!(allowed.status.success());
}

#[test]
fn help_on_every_command() {
    for cmd in [
        vec!["--help"],
        vec!["keygen", "--help"],
        vec!["sign", "--help"],
        vec!["verify", "--help"],
        vec!["rewrite", "--help"],
        vec!["dev", "--help"],
    ] {
        let o = hlsgate(&cmd);
        assert!(o.status.success(), "{cmd:?}");
        assert!(stdout(&o).contains("Usage:"), "{cmd:?}");
    }
    // Bad options fail before anything starts.
    let dev = hlsgate(&["dev", "--dev-token", "short"]);
    assert_eq!(dev.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&dev.stderr).contains("--dev-token: at least 16"),
        "{dev:?}"
    );
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn keygen_writes_keys_that_sign_and_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ecdsa", "rsa"] {
        let out = dir.path().join(alg);
        let o = hlsgate(&["keygen", "--algorithm", alg, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = stdout(&o);
        assert!(text.contains("-----BEGIN PUBLIC KEY-----"), "{text}");
        // Quoted inside, or SAM cuts the PEM at its first space.
        assert!(text.contains("\"SigningPublicKey1='$(cat "), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join("private.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Refuses to overwrite without --force.
        let again = hlsgate(&["keygen", "--algorithm", alg, "--out", out.to_str().unwrap()]);
        assert_eq!(again.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

        for hash in ["sha1", "sha256"] {
            let signed = hlsgate(&[
                "sign",
                "--url",
                &format!("{CDN}/videos/abc123/master.m3u8"),
                "--key-pair-id",
                "KNEW",
                "--private-key",
                out.join("private.pem").to_str().unwrap(),
                "--expires",
                "1893456000",
                "--hash",
                hash,
                "--format",
                "json",
            ]);
            assert!(signed.status.success());
            let v: Value = serde_json::from_str(&stdout(&signed)).unwrap();
            let url = v["url"].as_str().unwrap();
            let pk = format!("KNEW={}", out.join("public.pem").display());
            let ok = hlsgate(&[
                "verify",
                "--url",
                url,
                "--public-key",
                &pk,
                "--now",
                "1893400000",
            ]);
            assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
            openssl_verify(&out.join("public.pem"), hash, &v);
        }
    }
}

fn openssl_verify(public: &Path, hash: &str, signed: &Value) {
    if !openssl_available() {
        eprintln!(
            "skipped: openssl not on PATH (.ci/run installs it); signature not cross-checked"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    let sig = dir.path().join("sig.der");
    std::fs::write(&policy, signed["policy"].as_str().unwrap()).unwrap();
    let safe = signed["signature"].as_str().unwrap();
    let standard: String = safe
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    let der = decode_base64(&standard);
    std::fs::write(&sig, der).unwrap();
    let o = Command::new("openssl")
        .args(["dgst", &format!("-{hash}"), "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(&sig)
        .arg(&policy)
        .output()
        .unwrap();
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verified OK"),
        "openssl dgst -{hash} -verify: {} {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Plain base64 decoding via openssl itself, so the check owes nothing to our code.
fn decode_base64(s: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["base64", "-d", "-A"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    child.wait_with_output().unwrap().stdout
}

fn hlsgate_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run hlsgate");
    // A usage error exits before reading stdin: a broken pipe is expected then.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// sign --format query → rewrite → every segment URL verifies: the chain a
/// deployment runs, from the command line.
#[test]
fn rewrite_signs_a_playlist_whose_urls_verify() {
    let folder = format!("{CDN}/videos/abc123");
    let query = sign_folder(&["--format", "query"]);
    assert!(
        query.starts_with("Policy=") && !query.contains('?'),
        "{query}"
    );

    let input = std::fs::read(fixtures().join("hls/golden/media-basic.m3u8")).unwrap();
    let base = format!("{folder}/index.m3u8");
    let o = hlsgate_stdin(
        &["rewrite", "--params", &query, "--base-url", &base],
        &input,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "nothing skipped, nothing to say");
    let out = stdout(&o);
    let segments: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(segments.len(), 3);
    let public = fixtures().join("conformance/keys/test-rsa2048-public.pem");
    for seg in segments {
        assert!(seg.ends_with(&query), "{seg}");
        let url = format!("{folder}/{seg}");
        let v = hlsgate(&[
            "verify",
            "--url",
            &url,
            "--public-key",
            &format!("K2JCJMDEHXQW5F={}", public.display()),
            "--now",
            "1893400000",
        ]);
        assert_eq!(v.status.code(), Some(0), "{url}: {}", stdout(&v));
    }
}

#[test]
fn rewrite_child_params_report_and_file_input() {
    let master = fixtures().join("hls/golden/master.m3u8");
    let o = hlsgate(&[
        "rewrite",
        "--params",
        "a=1",
        "--child-params",
        "a=1&a-hg=1",
        "--report",
        master.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\n1080p/index.m3u8?a=1&a-hg=1\n"));
    // A session key is served by the origin function too: the child set.
    assert!(stdout(&o).contains("URI=\"keys/session.key?a=1&a-hg=1\""));
    let report: Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(report["kind"], "master");
    assert_eq!(report["by_tag"]["EXT-X-STREAM-INF"]["rewritten"], 3);
    assert_eq!(report["rewritten"], 12);

    // Without --base-url absolute URLs stay unsigned, and stderr says so.
    let o = hlsgate_stdin(
        &["rewrite", "--params", "a=1"],
        b"#EXTM3U\n#EXTINF:4,\nhttps://cdn.example.com/a.ts\n#EXTINF:4,\nb.ts\n",
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "#EXTM3U\n#EXTINF:4,\nhttps://cdn.example.com/a.ts\n#EXTINF:4,\nb.ts?a=1\n"
    );
    assert!(
        stderr(&o).contains("left 1 URI(s) unsigned (no_base_url: 1)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rewrite_refuses_bad_playlists_with_exit_1_and_no_output() {
    for (input, why) in [
        (&b"\xEF\xBB\xBF#EXTM3U\nseg.ts\n"[..], "byte order mark"),
        (b"<html>Access Denied</html>", "#EXTM3U"),
        (
            b"#EXTM3U\n#EXTINF:4,\nseg\xff.ts\n",
            "line 3: EXTINF URI is not valid UTF-8",
        ),
        (b"", "empty"),
    ] {
        let o = hlsgate_stdin(&["rewrite", "--params", "a=1"], input);
        assert_eq!(o.status.code(), Some(1), "{input:?}");
        assert!(o.stdout.is_empty(), "{input:?}: wrote {}", stdout(&o));
        assert!(stderr(&o).contains(why), "{input:?}: {}", stderr(&o));
    }
    let big = b"#EXTM3U\n#EXTINF:4,\na.ts\n";
    let o = hlsgate_stdin(&["rewrite", "--params", "a=1", "--max-bytes", "10"], big);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("over the limit of 10 bytes"),
        "{}",
        stderr(&o)
    );
    let o = hlsgate_stdin(&["rewrite", "--params", "a=1", "--max-uris", "0"], big);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("more than 0 URIs"), "{}", stderr(&o));
}

#[test]
fn rewrite_usage_errors_exit_2() {
    for args in [
        vec!["rewrite"],
        vec!["rewrite", "--params", "a=\"x"],
        vec!["rewrite", "--params", "a=1&&b=2"],
        vec![
            "rewrite",
            "--params",
            "a=1",
            "--base-url",
            "cdn.example.com",
        ],
    ] {
        let o = hlsgate_stdin(&args, b"#EXTM3U\n");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    let o = hlsgate_stdin(&["rewrite", "--params", "a=1", "/nonexistent.m3u8"], b"");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn video_id_follows_the_jobs_rule() {
    let out = hlsgate(&[
        "video-id",
        "--bucket",
        "hlsgate-uploads-123456789012",
        "uploads/launch/Product Tour.mp4",
    ]);
    assert!(out.status.success());
    // The id the jobs Lambda's fixtures use for the same upload.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "launch-product-tour_uOb6FZ_vBM50xq-gnfY8hqd1TEV24sheZOLbtzqYa6A"
    );
    let out = hlsgate(&["video-id", "--json", "--bucket", "b", "uploads/a.mp4"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["video_id"].as_str().unwrap();
    assert!(id.starts_with("a_"));
    assert_eq!(v["master"], format!("videos/{id}/master.m3u8"));

    let out = hlsgate(&["video-id", "--bucket", "b", "elsewhere/a.mp4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignores it"));
}

/// 0 done, 1 refused, 2 usage, 3 I/O or environment: said in --help, and
/// each one reached.
#[test]
fn exit_statuses_are_documented_and_kept() {
    let help = stdout(&hlsgate(&["--help"]));
    assert!(
        help.contains("Exit status: 0 done; 1 refused (an invalid playlist or signature); 2 usage"),
        "{help}"
    );
    assert!(help.contains("3 I/O or environment"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    // keygen --out under a file: the folder cannot be made.
    let out = file.join("keys");
    let o = hlsgate(&["keygen", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));
    // A playlist that is not one is refused (1), not a usage error.
    let o = hlsgate_stdin(&["rewrite", "--params", "a=1"], b"not a playlist\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // A bad value is usage.
    let o = hlsgate(&["keygen", "--algorithm", "dsa", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[possible values: rsa, ecdsa]"),
        "{}",
        stderr(&o)
    );
}

/// keygen, sign, verify, rewrite and video-id build without the AWS SDK,
/// hyper or s3s: only `dev` (a default feature) brings them in; `probe`
/// (the other) brings hyper and rustls alone.
#[test]
fn the_tools_do_not_link_the_sdk() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = |features: &[&str]| {
        let o = Command::new(&cargo)
            .args([
                "tree",
                "--offline",
                "--locked",
                "-p",
                "hlsgate",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(features)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo tree");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let heavy = |t: &str| {
        t.lines()
            .filter(|l| {
                ["aws-sdk-", "aws-config ", "aws-smithy-", "hyper ", "s3s "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let lean = tree(&["--no-default-features"]);
    assert!(
        lean.lines().any(|l| l.starts_with("hlsgate-core ")),
        "{lean}"
    );
    assert_eq!(heavy(&lean), Vec::<String>::new());
    assert!(!heavy(&tree(&[])).is_empty(), "dev brings the SDK in");
    // The probe brings an HTTPS client, and nothing of the SDK.
    let probe = tree(&["--no-default-features", "--features", "probe"]);
    let sdk: Vec<String> = heavy(&probe)
        .into_iter()
        .filter(|l| !l.starts_with("hyper "))
        .collect();
    assert_eq!(sdk, Vec::<String>::new());
    assert!(
        probe.lines().any(|l| l.starts_with("hyper-rustls ")),
        "{probe}"
    );
}
