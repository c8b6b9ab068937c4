//! `hlsgate dev` end to end: the real binary on a free port, spoken to over
//! plain HTTP, and played in headless Chromium (playwright-core + hls.js).
//!
//! The browser tests skip, saying why, when Chromium, Node or the npm
//! modules (`make e2e-tools`) are missing; the upload tests skip without
//! ffmpeg. `.ci/run` installs all of them.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hlsgate_core::signing::{
    Epoch, HashAlgorithm, KeyPairId, KeySize, Signer, private_key_from_pem,
};
use serde_json::Value;

const TOKEN: &str = "e2e-dev-token-0123456789";

#[path = "dev/probe.rs"]
mod probe;
#[path = "dev/rules.rs"]
mod rules;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One `hlsgate dev` process on a free port, killed on drop.
struct Dev {
    child: Child,
    origin: String,
    data: tempfile::TempDir,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Dev {
    fn start(mode: &str, env: &[(&str, &str)]) -> Dev {
        Dev::start_with(mode, env, &[])
    }

    fn start_with(mode: &str, env: &[(&str, &str)], args: &[&str]) -> Dev {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hlsgate"));
        cmd.args(["dev", "--port", "0", "--mode", mode, "--dev-token", TOKEN])
            .args(args)
            .arg("--data")
            .arg(data.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(hlsjs) = hlsjs() {
            cmd.arg("--hlsjs").arg(hlsjs);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(o) = line.strip_prefix("hlsgate dev listening on ") {
                    let _ = tx.send(o.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let origin = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(o) => o,
            Err(_) => panic!(
                "hlsgate dev did not start:\n{}",
                stderr.lock().unwrap().join("\n")
            ),
        };
        Dev {
            child,
            origin,
            data,
            stdout,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Stdout once `done` holds for it: a line printed after the state a
    /// test polled for (a notice after the job's status) may still be on
    /// its way through the pipe.
    fn stdout_when(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.stdout();
            if done(&out) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The DynamoDB endpoint of the sessions table, from the banner.
    fn sessions_endpoint(&self) -> String {
        let out = self.stdout_when(|o| o.contains("  sessions "));
        out.lines()
            .find(|l| l.trim_start().starts_with("sessions "))
            .and_then(|l| l.split_whitespace().nth(3))
            .unwrap_or_else(|| panic!("no sessions line:\n{out}"))
            .to_string()
    }

    fn logs(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr.lock().unwrap().join("\n")
        )
    }

    /// The issuer's answer for `id`.
    fn issue(&self, id: &str, mode: &str) -> (u16, Value, Vec<String>) {
        let mut r = get(
            &self.url(&format!("/playback/{id}?mode={mode}")),
            &[("Authorization", &format!("Bearer {TOKEN}"))],
        );
        let cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body: Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null);
        (r.status().as_u16(), body, cookies)
    }

    fn signed_manifest(&self, id: &str) -> String {
        let (status, body, _) = self.issue(id, "url");
        assert_eq!(status, 200, "{body}");
        body["manifest_url"].as_str().unwrap().to_string()
    }

    /// A signer with the dev key, as an attacker who stole nothing cannot have.
    fn dev_signer(&self) -> Signer {
        let doc: Value = serde_json::from_slice(
            &std::fs::read(self.data.path().join("dev/signing-keys.json")).unwrap(),
        )
        .unwrap();
        let k = &doc["keys"][0];
        let key = private_key_from_pem(
            k["private_key"].as_str().unwrap().as_bytes(),
            KeySize::CloudFront,
        )
        .unwrap();
        Signer::new(
            key,
            KeyPairId::new(k["id"].as_str().unwrap()).unwrap(),
            HashAlgorithm::Sha256,
        )
    }

    fn media(&self) -> PathBuf {
        self.data.path().join("s3/hlsgate-media/videos")
    }

    /// Polls `/api/videos` until the job for `video_id` ends.
    fn wait_for_job(&self, video_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let mut r = get(
                &self.url("/api/videos"),
                &[("Authorization", &format!("Bearer {TOKEN}"))],
            );
            let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
            let job = v["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["video_id"] == video_id)
                .cloned();
            if let Some(j) = &job
                && (j["status"] == "COMPLETE" || j["status"] == "ERROR")
            {
                return serde_json::json!({"job": j, "videos": v["videos"]});
            }
            assert!(
                Instant::now() < deadline,
                "job never ended: {v}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(url: &str, headers: &[(&str, &str)]) -> ureq::http::Response<ureq::Body> {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.call().unwrap()
}

/// A JSON call with the dev token: its status and JSON answer.
fn call_json(method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .body(body.map(Value::to_string).unwrap_or_default())
        .unwrap();
    let mut r = agent().run(req).unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Six to seven MB of lossless 720p (4 s): two 5 MiB parts.
fn make_two_part_clip(dir: &Path, name: &str) -> PathBuf {
    let clip = make_clip_sized(dir, name, 4, &[None], "1280x720", &["-qp", "0"]);
    let size = std::fs::metadata(&clip).unwrap().len();
    assert!(size > 5 * 1024 * 1024, "the clip is {size} bytes, one part");
    clip
}

fn put(url: &str, body: &[u8]) -> (u16, Value) {
    let mut r = agent()
        .put(url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Status and the dev edge's reason.
fn status_and_reason(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let r = get(url, headers);
    let reason = r
        .headers()
        .get("x-hlsgate-dev-reason")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), reason)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Copies video `from` to `to` in the media bucket (objects are files),
/// without its `playback.json`, which names `from`.
fn copy_video(media: &Path, from: &str, to: &str) {
    let dst = media.join(to);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(media.join(from)).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() && e.file_name() != "playback.json" {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_edge_refuses_what_cloudfront_refuses() {
    let dev = Dev::start("url", &[]);
    let manifest = dev.signed_manifest("sample");
    let (base, query) = manifest.split_once('?').unwrap();
    assert_eq!(base, dev.url("/videos/sample/master.m3u8"));

    // The signed manifest plays: every URI in it is signed.
    let mut ok = get(&manifest, &[]);
    assert_eq!(ok.status(), 200, "{}", dev.logs());
    assert_eq!(ok.headers()["cache-control"], "private, no-store");
    let body = ok.body_mut().read_to_string().unwrap();
    let child = body.lines().find(|l| l.starts_with("master_")).unwrap();
    assert!(
        child.contains("&Signature=") && child.contains("Signature-PREFIX="),
        "{child}"
    );

    // Unsigned manifest.
    let (s, why) = status_and_reason(base, &[]);
    assert_eq!((s, why.split(':').next().unwrap()), (403, "missing_key"));
    let mut r = get(base, &[]);
    let xml = r.body_mut().read_to_string().unwrap();
    assert!(xml.contains("<Code>MissingKey</Code>"), "{xml}");

    // Tampered signature.
    let sig_at = manifest.find("&Signature=").unwrap() + "&Signature=".len();
    let mut tampered = manifest.clone();
    let c = if &manifest[sig_at..=sig_at] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(sig_at..=sig_at, c);
    let (s, why) = status_and_reason(&tampered, &[]);
    assert_eq!(s, 403);
    assert!(why.starts_with("bad_signature"), "{why}");

    // Expired: signed with the real dev key, a minute ago.
    let signer = dev.dev_signer();
    let folder = dev.url("/videos/sample/");
    let expired = signer
        .sign_folder(&folder, Epoch::new(now() - 60).unwrap(), None, None)
        .unwrap()
        .apply_to(base)
        .unwrap();
    let (s, why) = status_and_reason(&expired, &[]);
    assert_eq!(s, 403);
    assert!(why.starts_with("expired"), "{why}");
    // The same key and a future expiry pass: the 403 was the expiry.
    let valid = signer
        .sign_folder(&folder, Epoch::new(now() + 600).unwrap(), None, None)
        .unwrap();
    let fresh = valid
        .apply_to(&dev.url("/videos/sample/master_240p_00001.ts"))
        .unwrap();
    assert_eq!(status_and_reason(&fresh, &[]).0, 200);

    // A segment without parameters.
    let (s, why) = status_and_reason(&dev.url("/videos/sample/master_240p_00001.ts"), &[]);
    assert_eq!((s, why.split(':').next().unwrap()), (403, "missing_key"));

    // Another video's signature.
    copy_video(&dev.media(), "sample", "other");
    assert_eq!(dev.issue("other", "url").0, 200, "other is a real video");
    let (s, why) = status_and_reason(&dev.url(&format!("/videos/other/master.m3u8?{query}")), &[]);
    assert_eq!(s, 403);
    assert!(why.starts_with("resource_mismatch"), "{why}");

    // A signature bound to another address.
    let elsewhere = signer
        .sign_folder(
            &folder,
            Epoch::new(now() + 600).unwrap(),
            None,
            Some("203.0.113.10/32".parse().unwrap()),
        )
        .unwrap()
        .apply_to(base)
        .unwrap();
    let (s, why) = status_and_reason(&elsewhere, &[]);
    assert_eq!(s, 403);
    assert!(why.starts_with("ip_outside_range"), "{why}");

    // The rewriter's own URL without the origin secret, even with a valid
    // forwarded copy; with it, the same request is served.
    let bare = dev.url(&format!(
        "/_origin/rewriter/videos/sample/master.m3u8?{query}"
    ));
    assert_eq!(get(&bare, &[]).status(), 403);
    assert_eq!(get(&bare, &[("X-Origin-Verify", "guess")]).status(), 403);
    let secret = std::fs::read_to_string(dev.data.path().join("dev/origin-secret")).unwrap();
    let with_secret = get(
        &bare,
        &[
            ("X-Origin-Verify", secret.trim()),
            ("CloudFront-Viewer-Address", "127.0.0.1:5000"),
        ],
    );
    assert_eq!(with_secret.status(), 200);

    // Segments: the S3 origin's Range, content type and CORS.
    let seg = valid
        .apply_to(&dev.url("/videos/sample/master_360p_00001.ts"))
        .unwrap();
    let r = get(&seg, &[("Range", "bytes=0-187"), ("Origin", &dev.origin)]);
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "video/MP2T");
    assert!(
        r.headers()["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-187/")
    );
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        dev.origin.as_str()
    );
    // A missing object answers as S3 does behind origin access control.
    let missing = valid.apply_to(&dev.url("/videos/sample/nope.ts")).unwrap();
    assert_eq!(get(&missing, &[]).status(), 403);

    // The issuer: no token, a wrong token, an unknown video.
    let api = dev.url("/playback/sample");
    assert_eq!(get(&api, &[]).status(), 401);
    // The API's own URL, without the distribution: a forged viewer address
    // or origin header buys nothing, and host-only cookies are not issued.
    let direct = dev.url("/_origin/issuer/playback/sample?mode=cookies");
    let auth = format!("Bearer {TOKEN}");
    assert_eq!(get(&direct, &[("Authorization", &auth)]).status(), 400);
    let forged = get(
        &direct,
        &[("Authorization", &auth), ("X-Origin-Verify", "guess")],
    );
    assert_eq!(forged.status(), 403);
    assert_eq!(
        get(&api, &[("Authorization", "Bearer wrong-token-0000000000")]).status(),
        401
    );
    assert_eq!(dev.issue("no-such-video", "url").0, 404);
}

#[test]
fn signed_cookies_open_one_folder() {
    let dev = Dev::start("cookies", &[]);
    let (status, body, cookies) = dev.issue("sample", "cookies");
    assert_eq!(status, 200, "{body}");
    let manifest = body["manifest_url"].as_str().unwrap();
    assert!(!manifest.contains("Signature"), "{manifest}");
    // Policy, Key-Pair-Id, Signature, Hash-Algorithm.
    assert_eq!(cookies.len(), 4, "{cookies:?}");
    assert!(
        cookies
            .iter()
            .all(|c| !c.contains("Domain=") && c.contains("Path=/videos/sample/")),
        "host-only cookies on the edge's host: {cookies:?}"
    );
    let jar: Vec<&str> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    let jar = jar.join("; ");
    let mut r = get(manifest, &[("Cookie", &jar)]);
    assert_eq!(r.status(), 200, "{}", dev.logs());
    let text = r.body_mut().read_to_string().unwrap();
    assert!(
        !text.contains("Signature="),
        "cookie mode serves the playlist as stored"
    );
    let seg = dev.url("/videos/sample/master_144p_00001.ts");
    assert_eq!(get(&seg, &[("Cookie", &jar)]).status(), 200);
    // Without them, 403; with them on another video, 403.
    assert_eq!(status_and_reason(&seg, &[]).0, 403);
    copy_video(&dev.media(), "sample", "other");
    let (s, why) = status_and_reason(&dev.url("/videos/other/master.m3u8"), &[("Cookie", &jar)]);
    assert_eq!(s, 403);
    assert!(why.starts_with("resource_mismatch"), "{why}");
    // Nor through dot segments, which resolve before the check, as at CloudFront.
    for path in [
        "/videos/sample/../other/master.m3u8",
        "/videos/sample/%2e%2e/other/master.m3u8",
        "/videos/sample/%2E%2E/other/master.m3u8",
        "/videos/sample/./../other/master.m3u8",
    ] {
        let (s, why) = status_and_reason(&dev.url(path), &[("Cookie", &jar)]);
        assert_eq!(s, 403, "{path}: {why}");
    }
}

/// `hlsgate dev --entitlement dynamodb`, or `None` (saying why) without
/// dynalite; under CI its absence fails the test.
fn dev_with_grants_table() -> Option<Dev> {
    dev_with_grants_table_and(&[])
}

/// As [`dev_with_grants_table`], with more `args`.
fn dev_with_grants_table_and(args: &[&str]) -> Option<Dev> {
    if !hlsgate_aws::local_dynamodb::dynalite_script().exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs need dynalite (make e2e-tools)"
        );
        eprintln!("skipped: no dynalite (make e2e-tools)");
        return None;
    }
    let mut all = vec!["--entitlement", "dynamodb"];
    all.extend_from_slice(args);
    Some(Dev::start_with("url", &[], &all))
}

#[test]
fn local_grants_rent_the_seed_video_and_a_revocation_shows_within_a_second() {
    let Some(dev) = dev_with_grants_table() else {
        return;
    };
    let (status, body, _) = dev.issue("sample", "url");
    assert_eq!(status, 200, "{body}\n{}", dev.logs());
    let grant_end = humantime_epoch(body["grant_expires_at"].as_str().unwrap());
    let expires = humantime_epoch(body["expires_at"].as_str().unwrap());
    assert!(
        (now() + 7200 - 10..=now() + 7200).contains(&grant_end),
        "{body}"
    );
    assert!(expires <= grant_end, "{body}");
    // The banner names the table's endpoint; the CLI revokes there.
    let line = dev
        .stdout_when(|o| o.contains("  grants "))
        .lines()
        .find(|l| l.trim_start().starts_with("grants "))
        .unwrap_or_else(|| panic!("no grants line:\n{}", dev.stdout()))
        .to_string();
    let endpoint = line.split_whitespace().nth(3).unwrap().to_string();
    let revoke = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args([
            "revoke",
            "--table",
            "hlsgate-dev-grants",
            "--endpoint",
            &endpoint,
        ])
        .args(["--subject", "dev-viewer", "--video", "sample"])
        .output()
        .unwrap();
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (status, body, _) = dev.issue("sample", "url");
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not_entitled")),
        "{body}"
    );
}

/// The review: SIGTERM (a service manager, a test harness) left dynalite
/// running. Every stop signal now stops the stack as Ctrl-C does, and every
/// child it started ends with it.
#[cfg(target_os = "linux")]
#[test]
fn sigterm_stops_the_stack_and_its_children() {
    let Some(mut dev) = dev_with_grants_table() else {
        return;
    };
    let pid = dev.child.id();
    let children: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flat_map(|task| {
            let path = task.unwrap().path().join("children");
            std::fs::read_to_string(path)
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    assert!(!children.is_empty(), "dynalite is a child of hlsgate dev");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = dev.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "hlsgate dev ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}\n{}", dev.logs());
    assert!(dev.stdout().contains("stopped (SIGTERM)"), "{}", dev.logs());
    // Running, or a zombie not yet reaped by init: gone within seconds.
    let alive = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while children.iter().any(|c| alive(*c)) {
        assert!(
            Instant::now() < deadline,
            "a child of hlsgate dev outlived it: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Seconds since the epoch of an RFC 3339 time the issuer wrote.
fn humantime_epoch(t: &str) -> u64 {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp() as u64
}

#[test]
fn a_webhook_that_says_no_is_a_403_and_one_that_is_down_a_503() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/entitled", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { continue };
            let mut buf = [0u8; 8192];
            let n = sock.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let body = r#"{"allow": false}"#;
            let _ = write!(
                sock,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dev = Dev::start_with(
        "url",
        &[],
        &[
            "--entitlement",
            "webhook",
            "--entitlement-url",
            &url,
            "--entitlement-secret",
            "s3cret-for-the-test",
        ],
    );
    let (status, body, _) = dev.issue("sample", "url");
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not_entitled")),
        "{body}"
    );
    let request = seen.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /entitled "), "{request}");
    assert!(request.contains(r#""subject":"dev-viewer""#), "{request}");
    assert!(request.contains(r#""claims":{"groups":"#), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("x-hlsgate-signature: v1="),
        "{request}"
    );
    drop(dev);
    // Nobody listening: an outage, retryable, not a denial.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let dev = Dev::start_with(
        "url",
        &[],
        &["--entitlement", "webhook", "--entitlement-url", &closed],
    );
    let (status, body, _) = dev.issue("sample", "url");
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("entitlement_unavailable")),
        "{body}"
    );
    // Flags for another backend are refused, not ignored.
    let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(["dev", "--entitlement-url", &closed])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn without_ffmpeg_an_upload_says_how_to_install_it() {
    let dev = Dev::start(
        "url",
        &[
            ("HLSGATE_FFMPEG", "/nonexistent/ffmpeg"),
            ("HLSGATE_FFPROBE", "/nonexistent/ffprobe"),
        ],
    );
    let (status, body) = put(&dev.url("/upload/clip.mp4"), b"not really a video");
    assert_eq!(status, 503, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("apt-get install ffmpeg"),
        "{body}"
    );
    assert!(dev.stdout().contains("ffmpeg not found"), "{}", dev.logs());
    // Bad names and unauthenticated uploads never reach the jobs function.
    assert_eq!(put(&dev.url("/upload/..%2Fx.mp4"), b"x").0, 400);
    let r = agent()
        .put(&dev.url("/upload/a.mp4"))
        .send(&b"x"[..])
        .unwrap();
    assert_eq!(r.status(), 401);
    // Not a video extension: the jobs function ignores it, and says so.
    let (status, body) = put(&dev.url("/upload/notes.txt"), b"hello");
    assert_eq!(status, 422, "{body}");

    // --video cannot be honoured: refuse to start, saying why.
    let data = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(["dev", "--port", "0", "--video", "clip.mp4", "--data"])
        .arg(data.path())
        .env("HLSGATE_FFMPEG", "/nonexistent/ffmpeg")
        .output()
        .unwrap();
    // A missing tool is the environment's trouble (3), not usage.
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--video: ffmpeg and ffprobe are needed"),
        "{err}"
    );
}

#[test]
fn video_given_at_start_is_uploaded_and_transcoded() {
    if !ffmpeg_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(tmp.path(), 3);
    let dev = Dev::start_with("url", &[], &["--video", clip.to_str().unwrap()]);
    let line = dev
        .stdout_when(|o| o.contains("\n  --video "))
        .lines()
        .find(|l| l.starts_with("  --video "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no --video line\n{}", dev.logs()));
    let json = &line[line.find('{').unwrap()..];
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["key"], "uploads/clip.mp4");
    let done = dev.wait_for_job(v["video_id"].as_str().unwrap());
    assert_eq!(done["job"]["status"], "COMPLETE", "{done}\n{}", dev.logs());
}

/// True when ffmpeg is here; else says the test is skipped.
fn ffmpeg_or_skip() -> bool {
    let here = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        eprintln!("skipped: ffmpeg is not installed (apt-get install ffmpeg)");
    }
    here
}

/// A short clip with a test pattern and a tone.
fn make_clip(dir: &Path, seconds: u32) -> PathBuf {
    make_clip_in(dir, "clip.mp4", seconds, &[None])
}

/// A clip with a test pattern and one tone per entry of `languages`, each
/// audio stream tagged with its language when it has one.
fn make_clip_in(dir: &Path, name: &str, seconds: u32, languages: &[Option<&str>]) -> PathBuf {
    make_clip_sized(dir, name, seconds, languages, "640x360", &[])
}

/// [`make_clip_in`] at `size`, with extra video encoder arguments.
fn make_clip_sized(
    dir: &Path,
    name: &str,
    seconds: u32,
    languages: &[Option<&str>],
    size: &str,
    video_args: &[&str],
) -> PathBuf {
    let out = dir.join(name);
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(format!("testsrc2=size={size}:rate=25:duration={seconds}"));
    for i in 0..languages.len() {
        cmd.args(["-f", "lavfi", "-i"]).arg(format!(
            "sine=frequency={}:duration={seconds}",
            440 + 220 * i
        ));
    }
    cmd.args(["-map", "0:v"]);
    for (i, lang) in languages.iter().enumerate() {
        cmd.args(["-map", &format!("{}:a", i + 1)]);
        if let Some(l) = lang {
            cmd.arg(format!("-metadata:s:a:{i}"))
                .arg(format!("language={l}"));
        }
    }
    let st = cmd
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(video_args)
        .args(["-c:a", "aac", "-shortest"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

#[test]
fn an_upload_through_ffmpeg_becomes_playable() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dev = Dev::start("url", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(tmp.path(), 6);
    let (status, body) = put(
        &dev.url("/upload/My%20Clip.mp4"),
        &std::fs::read(&clip).unwrap(),
    );
    assert_eq!(status, 202, "{body}\n{}", dev.logs());
    let video_id = body["video_id"].as_str().unwrap().to_string();
    assert_eq!(body["key"], "uploads/My Clip.mp4");
    let done = dev.wait_for_job(&video_id);
    assert_eq!(done["job"]["status"], "COMPLETE", "{done}\n{}", dev.logs());
    assert!(
        done["videos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == &video_id)
    );

    // The ladder of the jobs config, named as MediaConvert names it.
    let folder = dev.media().join(&video_id);
    let master = std::fs::read_to_string(folder.join("master.m3u8")).unwrap();
    for rung in ["master_360p.m3u8", "master_240p.m3u8", "master_144p.m3u8"] {
        assert!(master.contains(rung), "{master}");
    }
    let media = std::fs::read_to_string(folder.join("master_240p.m3u8")).unwrap();
    assert!(media.contains("#EXT-X-TARGETDURATION:2"), "{media}");
    assert!(media.contains("master_240p_00001.ts"), "{media}");
    // The COMPLETE path of the jobs handler: playback.json and the notice.
    let sidecar: Value =
        serde_json::from_slice(&std::fs::read(folder.join("playback.json")).unwrap()).unwrap();
    assert_eq!(sidecar["video_id"], video_id.as_str());
    assert_eq!(sidecar["renditions"].as_array().unwrap().len(), 3);
    assert!(
        (sidecar["duration_seconds"].as_f64().unwrap() - 6.0).abs() < 0.5,
        "{sidecar}"
    );
    let out = dev.stdout_when(|o| o.contains("SNS publish") && o.contains("video ready"));
    assert!(
        out.contains("SNS publish") && out.contains("video ready"),
        "{out}"
    );

    // Signed and played like any other video.
    let manifest = dev.signed_manifest(&video_id);
    assert_eq!(get(&manifest, &[]).status(), 200);
    if let Some(browser) = Browser::find() {
        let r = browser.play(&dev, &video_id, "url", 2.0, false);
        assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
    }
}

/// Two audio languages and an `.en.vtt` beside the upload: an audio group,
/// a WebVTT subtitle rendition, I-frame and image playlists, thumbnails and
/// a poster, listed in playback.json and the issuer's answer, and played in
/// Chromium with every request signed and answered 200.
#[test]
fn an_upload_in_presigned_parts_is_processed_and_its_status_followed_to_playback() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dev = Dev::start("url", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let clip = std::fs::read(make_two_part_clip(tmp.path(), "Launch Day.mp4")).unwrap();
    let api = dev.url("/_origin/issuer/");
    let asked = serde_json::json!({"name": "Launch Day.mp4", "size": clip.len(), "content_type": "video/mp4"});
    let (status, created) = call_json("POST", &format!("{api}uploads"), Some(&asked));
    assert_eq!(
        status,
        201,
        "{created}
{}",
        dev.logs()
    );
    assert_eq!(created["parts"], 2);
    let video_id = created["video_id"].as_str().unwrap().to_string();

    // The part URLs are the embedded S3's, presigned; it answers a browser
    // on the page's origin as the upload bucket's CORS rule does.
    let first = created["urls"][0]["url"].as_str().unwrap();
    assert!(
        first.contains("X-Amz-Signature=") && !first.starts_with(&dev.origin),
        "{first}"
    );
    let preflight = agent()
        .options(first)
        .header("Origin", &dev.origin)
        .header("Access-Control-Request-Method", "PUT")
        .call()
        .unwrap();
    let allow = |h: &str| {
        preflight
            .headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        allow("access-control-allow-origin").as_deref(),
        Some(dev.origin.as_str())
    );
    assert!(
        allow("access-control-allow-methods")
            .unwrap_or_default()
            .contains("PUT")
    );
    let stranger = agent()
        .options(first)
        .header("Origin", "https://elsewhere.example")
        .header("Access-Control-Request-Method", "PUT")
        .call()
        .unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let part_bytes = created["part_bytes"].as_u64().unwrap() as usize;
    let mut parts = Vec::new();
    for (i, chunk) in clip.chunks(part_bytes).enumerate() {
        let url = created["urls"][i]["url"].as_str().unwrap();
        let r = agent()
            .put(url)
            .header("Origin", &dev.origin)
            .send(chunk)
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("access-control-expose-headers")
                .map(|v| v.to_str().unwrap().to_ascii_lowercase()),
            Some("etag".to_string())
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        parts.push(serde_json::json!({"number": i + 1, "etag": etag}));
    }
    let complete = format!("{api}{}", created["complete"].as_str().unwrap());
    let (status, done) = call_json(
        "POST",
        &complete,
        Some(&serde_json::json!({"parts": parts})),
    );
    assert_eq!(
        status,
        200,
        "{done}
{}",
        dev.logs()
    );
    assert_eq!(done["video_id"], video_id.as_str());

    // The jobs function's status, step by step, to complete.
    let status_url = format!("{api}{}", created["status"].as_str().unwrap());
    let mut states: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let last = loop {
        let (code, s) = call_json("GET", &status_url, None);
        assert_eq!(
            code,
            200,
            "{s}
{}",
            dev.logs()
        );
        let state = s["state"].as_str().unwrap().to_string();
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if state == "complete" || state == "error" {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "{states:?}
{}",
            dev.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        last["state"],
        "complete",
        "{last}
{}",
        dev.logs()
    );
    assert_eq!(last["renditions"].as_array().unwrap().len(), 3, "{last}");
    assert!(last["duration_seconds"].as_f64().unwrap() > 3.0, "{last}");
    let order = ["uploaded", "submitted", "progressing", "complete"];
    let ranks: Vec<usize> = states
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{states:?}");
    let (status, issued, _) = dev.issue(&video_id, "url");
    assert_eq!(status, 200, "{issued}");

    // Someone else's video, or none, is not found; a bad name is a clear 400.
    let (code, _) = call_json("GET", &format!("{api}videos/sample/status"), None);
    assert_eq!(code, 404);
    let bad = serde_json::json!({"name": "a.exe", "size": 10});
    let (code, refused) = call_json("POST", &format!("{api}uploads"), Some(&bad));
    assert_eq!(
        (code, &refused["error"]),
        (400, &serde_json::json!("bad_extension"))
    );
}

#[test]
fn chromium_drops_a_file_that_uploads_in_parts_and_plays_when_processed() {
    if !ffmpeg_or_skip() {
        return;
    }
    let Some(browser) = Browser::find() else {
        return;
    };
    let dev = Dev::start("url", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_two_part_clip(tmp.path(), "Dropped Clip.mp4");
    let page = format!("{}/#token={TOKEN}", dev.origin);
    let r = browser.run("upload.mjs", &[page.as_str(), clip.to_str().unwrap()]);
    assert_eq!(
        r["ok"],
        true,
        "{r}
{}",
        dev.logs()
    );
    // Two parts, each PUT by the browser straight to the embedded S3 on its
    // presigned URL, each with its own bar that filled before the next began.
    assert_eq!(r["bars"], 2, "{r}");
    let puts = r["puts"].as_array().unwrap();
    assert_eq!(puts.len(), 2, "{r}");
    for (i, p) in puts.iter().enumerate() {
        assert_eq!(p["status"], 200, "{r}");
        assert_eq!(p["signed"], true, "{r}");
        assert_eq!(p["part"], (i + 1).to_string(), "{r}");
        assert_ne!(p["host"], dev.origin.trim_start_matches("http://"), "{r}");
    }
    let changes: Vec<(u64, f64)> = r["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_u64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let full = |n: u64| changes.iter().position(|&(p, v)| p == n && v >= 100.0);
    let first_of = |n: u64| changes.iter().position(|&(p, _)| p == n);
    let (Some(one_full), Some(two_first), Some(_)) = (full(1), first_of(2), full(2)) else {
        panic!("every part's bar fills: {r}");
    };
    assert!(
        one_full < two_first,
        "part 1 filled before part 2 moved: {r}"
    );
    // The status the page followed, in order, to complete; then it played.
    let states: Vec<&str> = r["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(states.first(), Some(&"uploading"), "{r}");
    assert!(states.last().unwrap().starts_with("complete"), "{r}");
    assert!(
        states
            .iter()
            .any(|s| s.starts_with("progressing") || s.starts_with("submitted")),
        "{r}"
    );
    let id = r["video"].as_str().unwrap();
    assert!(id.contains("-dropped-clip_"), "{r}");
    assert!(
        r["playing"]
            .as_str()
            .unwrap()
            .contains(&format!("/videos/{id}/")),
        "{r}"
    );
    assert!(r["time"].as_f64().unwrap() > 1.0, "{r}");
}

#[test]
fn an_upload_with_two_languages_and_captions_plays_every_track_signed() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dev = Dev::start("url", &[]);
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip_in(tmp.path(), "talk.mp4", 8, &[Some("eng"), Some("fra")]);
    let vtt =
        "WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nHello\n\n00:00:04.000 --> 00:00:07.500\nWorld\n";
    let (status, body) = put(&dev.url("/upload/talk.en.vtt"), vtt.as_bytes());
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["outcome"], "stored");
    let (status, body) = put(&dev.url("/upload/talk.mp4"), &std::fs::read(&clip).unwrap());
    assert_eq!(status, 202, "{body}\n{}", dev.logs());
    let video_id = body["video_id"].as_str().unwrap().to_string();
    let done = dev.wait_for_job(&video_id);
    assert_eq!(done["job"]["status"], "COMPLETE", "{done}\n{}", dev.logs());

    let folder = dev.media().join(&video_id);
    let master = std::fs::read_to_string(folder.join("master.m3u8")).unwrap();
    for line in [
        r#"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="eng",NAME="English",AUTOSELECT=YES,DEFAULT=YES"#,
        r#"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",LANGUAGE="fra",NAME="Français",AUTOSELECT=YES,DEFAULT=NO"#,
        r#"#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="English""#,
        "#EXT-X-I-FRAME-STREAM-INF:",
        r#"CODECS="jpeg",URI="master_thumbnails.m3u8""#,
    ] {
        assert!(master.contains(line), "{line}\n{master}");
    }
    let sidecar: Value =
        serde_json::from_slice(&std::fs::read(folder.join("playback.json")).unwrap()).unwrap();
    assert_eq!(
        sidecar["tracks"]["audio"].as_array().unwrap().len(),
        2,
        "{sidecar}"
    );
    assert_eq!(sidecar["tracks"]["subtitles"][0]["language"], "en");
    assert_eq!(
        sidecar["poster_key"],
        format!("videos/{video_id}/poster.0000001.jpg")
    );
    let (status, issued, _) = dev.issue(&video_id, "url");
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["tracks"], sidecar["tracks"]);
    assert_eq!(
        get(issued["poster_url"].as_str().unwrap(), &[]).status(),
        200
    );

    let Some(browser) = Browser::find() else {
        return;
    };
    let r = browser.play_with(&dev, &video_id, "url", 1.0, &["--tracks"]);
    assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
    let names: Vec<&str> = r["tracks"]["audio"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["English", "Français"], "{r}");
    assert_eq!(r["tracks"]["subtitles"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(
        r["tracks"]["menus"]["subs"],
        serde_json::json!(["off", "English (en)"]),
        "{r}"
    );
    assert!(
        r["tracks"]["poster"]
            .as_str()
            .unwrap()
            .contains("poster.0000001.jpg?"),
        "{r}"
    );
    assert!(r["trick"]["iframes"].as_u64().unwrap() >= 3, "{r}");
    assert!(r["trick"]["thumbnails"].as_u64().unwrap() >= 3, "{r}");
    assert_eq!(r["trick"]["audioTrack"], 1, "{r}");
    assert_eq!(r["refused"], serde_json::json!([]), "{r}");
    let requests: Vec<&str> = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        requests
            .iter()
            .all(|q| q.starts_with("200 ") && q.ends_with("(signed URL)")),
        "{requests:?}"
    );
    for wanted in [
        "_vtt.m3u8",
        ".vtt",
        "_I-Frame.m3u8",
        "_thumbnails.m3u8",
        "_thumbnails_00001.jpg",
        "/poster.0000001.jpg",
        "_audio_2_fra",
    ] {
        assert!(
            requests.iter().any(|q| q.contains(wanted)),
            "no {wanted}: {requests:?}"
        );
    }
}

/// `--encrypt`: the transcoder asks the key provider for the key as
/// MediaConvert does (SPEKE); the ladder is ciphertext in S3, its key lives
/// outside `videos/` and comes only through the signed path, ffmpeg decrypts
/// it with that key, and it still plays.
#[test]
fn an_encrypted_upload_is_ciphertext_at_rest_and_plays_with_its_key() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dev = Dev::start_with("url", &[], &["--encrypt"]);
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(tmp.path(), 6);
    let (status, body) = put(
        &dev.url("/upload/secret.mp4"),
        &std::fs::read(&clip).unwrap(),
    );
    assert_eq!(status, 202, "{body}\n{}", dev.logs());
    let id = body["video_id"].as_str().unwrap().to_string();
    let done = dev.wait_for_job(&id);
    assert_eq!(done["job"]["status"], "COMPLETE", "{done}\n{}", dev.logs());

    // At rest: the key outside the video folders, segments ciphertext.
    let stored_key = std::fs::read(
        dev.data
            .path()
            .join(format!("s3/hlsgate-media/keys/{id}.key")),
    )
    .unwrap();
    assert_eq!(stored_key.len(), 16);
    // The key came through the key provider, asked as MediaConvert asks.
    let logs = dev.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("key provided") && l.contains(&id) && l.contains("81376844")),
        "{logs}"
    );
    // The probe plays it through the edge: the key route, and the key
    // refused without a signature.
    let report = dev.probe_passes(&id, &[]);
    for check in report["checks"].as_array().unwrap() {
        if check["id"] == "play.key" || check["id"] == "attack.unsigned-key" {
            assert_eq!(check["outcome"], "pass", "{check}");
        }
    }
    let folder = dev.media().join(&id);
    assert!(!folder.join("hls.key").exists());
    let media = std::fs::read_to_string(folder.join("master_240p.m3u8")).unwrap();
    assert!(
        media.contains(r#"#EXT-X-KEY:METHOD=AES-128,URI="hls.key""#),
        "{media}"
    );
    let segment = folder.join("master_240p_00001.ts");
    let bytes = std::fs::read(&segment).unwrap();
    let synced = bytes.chunks(188).take(20).filter(|p| p[0] == 0x47).count();
    assert!(
        synced < 3,
        "{synced} of 20 packets start with the MPEG-TS sync byte: plaintext?"
    );
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams"])
        .arg(&segment)
        .output()
        .unwrap();
    let streams = String::from_utf8_lossy(&probe.stdout);
    // What was encrypted is H.264 and AAC. Random bytes are sometimes taken
    // for a raw stream of another codec with no picture (H.263, 0x0), which
    // reads nothing of the video; finding the codecs that were encrypted
    // would.
    let read = ["codec_name=h264", "codec_name=aac"]
        .iter()
        .any(|c| streams.contains(c));
    assert!(
        !probe.status.success() || !read,
        "ffprobe read an encrypted segment alone: {streams}"
    );
    // With the stored key beside the playlist, ffmpeg decrypts the rendition.
    let copy = tmp.path().join("decrypt");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("master_240p") {
            std::fs::copy(&p, copy.join(&name)).unwrap();
        }
    }
    // ffmpeg's decode of the rendition with `key` as its hls.key: stderr,
    // empty when every segment decoded.
    let decode_with = |key: &[u8]| {
        std::fs::write(copy.join("hls.key"), key).unwrap();
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-allowed_extensions", "ALL", "-i"])
            .arg(copy.join("master_240p.m3u8"))
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = decode_with(&stored_key);
    assert!(
        ok && stderr.is_empty(),
        "ffmpeg could not decrypt with the stored key: {stderr}"
    );
    let (ok, stderr) = decode_with(&[0u8; 16]);
    assert!(!ok || !stderr.is_empty(), "another key decrypted it too");

    // In transit: the key URI is signed with the copy; the key comes through
    // the edge and the rewriter's key route, and only for this folder.
    let manifest = dev.signed_manifest(&id);
    let master_url = url::Url::parse(&manifest).unwrap();
    let child = master_url.join("master_240p.m3u8").unwrap();
    let child = format!("{}?{}", child, master_url.query().unwrap());
    let mut r = get(&child, &[]);
    assert_eq!(r.status(), 200);
    let signed_media = r.body_mut().read_to_string().unwrap();
    let key_uri = signed_media
        .lines()
        .find_map(|l| l.strip_prefix(r#"#EXT-X-KEY:METHOD=AES-128,URI=""#))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{signed_media}"))
        .to_string();
    assert!(key_uri.contains("Signature-PREFIX="), "{key_uri}");
    let key_url = master_url.join(&key_uri).unwrap();
    let mut r = get(key_url.as_str(), &[]);
    assert_eq!(r.status(), 200);
    let mut served = Vec::new();
    std::io::Read::read_to_end(&mut r.body_mut().as_reader(), &mut served).unwrap();
    assert_eq!(served, stored_key);
    // The sample's signature does not open this video's key, at the edge or
    // at the origin (with the origin secret).
    let sample = url::Url::parse(&dev.signed_manifest("sample")).unwrap();
    let foreign = format!(
        "{}?{}",
        dev.url(&format!("/videos/{id}/hls.key")),
        sample.query().unwrap()
    );
    assert_eq!(get(&foreign, &[]).status(), 403);
    let secret = std::fs::read_to_string(dev.data.path().join("dev/origin-secret")).unwrap();
    let copy: Vec<String> = sample
        .query_pairs()
        .filter(|(n, _)| n.ends_with("-PREFIX"))
        .map(|(n, v)| format!("{n}={}", percent_encode(&v)))
        .collect();
    let at_origin = dev.url(&format!(
        "/_origin/rewriter/videos/{id}/hls.key?{}",
        copy.join("&")
    ));
    assert_eq!(
        get(&at_origin, &[("X-Origin-Verify", secret.trim())]).status(),
        403
    );
    assert!(
        !dev.logs().contains(&hex(&stored_key)),
        "the key reached a log"
    );

    if let Some(browser) = Browser::find() {
        let r = browser.play(&dev, &id, "url", 2.0, false);
        assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
        assert_eq!(r["before"]["encryption"], "AES-128 encrypted", "{r}");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn a_corrupt_upload_is_an_error_notice_not_a_crash() {
    if !ffmpeg_or_skip() {
        return;
    }
    let dev = Dev::start("url", &[]);
    let (status, body) = put(&dev.url("/upload/broken.mp4"), &[0x42; 4096]);
    assert_eq!(status, 202, "{body}");
    let video_id = body["video_id"].as_str().unwrap();
    let done = dev.wait_for_job(video_id);
    assert_eq!(done["job"]["status"], "ERROR", "{done}");
    assert!(
        done["job"]["error"]
            .as_str()
            .unwrap()
            .contains("Unable to open input file"),
        "{done}"
    );
    let out = dev.stdout_when(|o| o.contains("video failed") && o.contains("\"errorCode\": 1010"));
    assert!(
        out.contains("video failed") && out.contains("\"errorCode\": 1010"),
        "{out}"
    );
    // Still serving.
    assert_eq!(dev.issue("sample", "url").0, 200);
}

/// Sessions in Chromium with hls.js, one stack and one browser for all of
/// it (`e2e/sessions.mjs`): 10 s signatures renewed through four lifetimes
/// of playing, a pause of two and a seek back, in URL and cookie mode, with
/// no 403 on the way; a copied manifest URL refused a lifetime later; the
/// beacon on leaving; two streams and a refused third; ending from another
/// screen, from the CLI, and by revoking the grant, each stopping the page
/// within a lifetime plus a renewal, saying why; and on a second stack (one
/// stream, evict-oldest) a newer start stopping the playing page.
#[test]
fn chromium_renews_short_signatures_and_stops_when_the_session_ends() {
    const LIFETIME: f64 = 10.0;
    let Some(browser) = Browser::find() else {
        return;
    };
    let Some(dev) = dev_with_grants_table_and(&["--signature-seconds", "10", "--max-streams", "2"])
    else {
        return;
    };
    // A second stack, one stream and evict-oldest: a newer start ends the
    // playing page at its next renewal.
    let evicting = Dev::start_with(
        "url",
        &[],
        &[
            "--signature-seconds",
            "10",
            "--max-streams",
            "1",
            "--stream-limit",
            "evict-oldest",
        ],
    );
    let r = browser.run_sessions(
        "sessions.mjs",
        &dev,
        "10",
        &[
            "--grants-table",
            "hlsgate-dev-grants",
            "--evict-origin",
            &evicting.origin,
        ],
    );
    assert_eq!(r["ok"], true, "{r}\n{}\n{}", dev.logs(), evicting.logs());
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(
            run["refused"],
            serde_json::json!([]),
            "a 403 reached the player: {run}"
        );
        assert!(
            run["played"].as_f64().unwrap() >= 4.0 * LIFETIME + 3.0,
            "{run}"
        );
        // Segments were still fetched six lifetimes after the start.
        assert!(
            run["last_request_after"].as_f64().unwrap() > 6.0 * LIFETIME,
            "{run}"
        );
        assert!(run["renewals"].as_u64().unwrap() >= 7, "{run}");
        assert!(run["stopped"].is_null(), "{run}");
        assert_eq!(run["statusClass"], "", "the page showed an error: {run}");
    }
    let copied = &r["runs"][0]["copied"];
    assert_eq!(copied["status"], 403, "{copied}");
    assert!(copied["after_seconds"].as_f64().unwrap() > LIFETIME);
    assert_eq!(
        r["after_leaving"], 0,
        "the beacon did not end the session: {r}"
    );
    assert_eq!(r["third"]["status"], 409, "{r}");
    assert_eq!(r["third"]["body"]["error"], "too_many_streams");
    assert_eq!(r["third"]["body"]["sessions"].as_array().unwrap().len(), 2);
    for (step, code) in [
        ("ended_by_other_screen", "session_ended"),
        ("ended_by_cli", "session_ended"),
        ("revoked", "not_entitled"),
    ] {
        let s = &r[step];
        assert_eq!(s["stopped"]["code"], code, "{step}: {s}");
        assert!(
            s["seconds"].as_f64().unwrap() <= 2.0 * LIFETIME,
            "{step}: {s}"
        );
        assert_eq!(s["paused"], true, "{step}: {s}");
        assert!(
            s["status"]
                .as_str()
                .unwrap()
                .starts_with("Playback stopped: "),
            "{step}: {s}"
        );
    }
    // The page says it with @hlsgate/player's `explain` (the grant is gone:
    // `reason` no_grant).
    assert!(
        r["revoked"]["status"]
            .as_str()
            .unwrap()
            .contains("Your account does not include this video."),
        "{r}"
    );
    let evicted = &r["evicted"];
    assert_eq!(evicted["start"], 200, "{r}");
    assert_eq!(evicted["stopped"]["code"], "session_ended", "{r}");
    assert!(
        evicted["seconds"].as_f64().unwrap() <= 2.0 * LIFETIME,
        "{r}"
    );
    assert!(
        evicted["status"]
            .as_str()
            .unwrap()
            .contains("newer playback"),
        "{r}"
    );
}

/// `@hlsgate/player`'s adapters in Chromium (`e2e/players.mjs`, one
/// browser): Shaka Player and video.js, each in URL and cookie mode at once,
/// play four 10 s lifetimes with a pause of two and a seek back with no 403;
/// `hlsgate sessions end` stops each with `ended` and its reason; native
/// playback refuses URL mode in words (and plays with cookies where
/// Chromium plays HLS); the package README's page plays as pasted; one
/// stream makes a second page show the `too_many_streams` explanation.
/// hls.js is the dev page's player, in the sessions test above.
#[test]
fn chromium_plays_through_renewals_with_shaka_and_videojs() {
    const LIFETIME: f64 = 10.0;
    let Some(browser) = Browser::find() else {
        return;
    };
    let Some(dev) = dev_with_grants_table_and(&["--signature-seconds", "10"]) else {
        return;
    };
    let limited = Dev::start_with(
        "url",
        &[],
        &["--signature-seconds", "10", "--max-streams", "1"],
    );
    let package = repo().join("clients/web");
    let r = browser.run_sessions(
        "players.mjs",
        &dev,
        "10",
        &[
            "--limit-origin",
            &limited.origin,
            "--package",
            package.to_str().unwrap(),
        ],
    );
    assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for run in runs {
        assert_eq!(
            run["refused"],
            serde_json::json!([]),
            "a 403 reached the player: {run}"
        );
        assert!(
            run["played"].as_f64().unwrap() >= 4.0 * LIFETIME + 3.0,
            "{run}"
        );
        let renewals = run["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| *e == "renewed")
            .count();
        assert!(renewals >= 7, "{run}");
        assert!(
            !run["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e == "ended"),
            "{run}"
        );
    }
    for s in r["stopped"].as_array().unwrap() {
        assert_eq!(s["reason"], "session_ended", "{r}");
        assert!(s["seconds"].as_f64().unwrap() <= 2.0 * LIFETIME, "{r}");
    }
    assert!(
        r["native_url"]
            .as_str()
            .unwrap()
            .contains("cannot renew a URL-mode signature"),
        "{r}"
    );
    if r["native_hls"] != "" {
        assert_eq!(r["native_cookies"], "played", "{r}");
    }
    assert_eq!(r["readme"], "played", "{r}");
    assert_eq!(r["limited"]["action"], "end-other-sessions", "{r}");
    assert!(
        r["limited"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You are already watching on 1 screen (shaka)"),
        "{r}"
    );
}

/// Headless Chromium with playwright-core, when all of it is here.
struct Browser {
    modules: PathBuf,
}

/// One browser at a time: two cores cannot decode two players on time.
static BROWSER: Mutex<()> = Mutex::new(());

impl Browser {
    fn find() -> Option<Browser> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if !Path::new(&chromium).exists() {
            eprintln!(
                "skipped the browser part: no Chromium at {chromium} (apt-get install chromium)"
            );
            return None;
        }
        if !Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            eprintln!("skipped the browser part: no node on PATH");
            return None;
        }
        let tools = std::env::var("HLSGATE_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo().join(".tools"));
        let modules = tools.join("e2e");
        if !modules.join("node_modules/playwright-core").exists() {
            eprintln!(
                "skipped the browser part: no playwright-core under {} (make e2e-tools)",
                modules.display()
            );
            return None;
        }
        Some(Browser { modules })
    }

    fn play(&self, dev: &Dev, id: &str, mode: &str, min_time: f64, switch: bool) -> Value {
        self.play_with(
            dev,
            id,
            mode,
            min_time,
            if switch { &["--switch"] } else { &[] },
        )
    }

    fn play_with(&self, dev: &Dev, id: &str, mode: &str, min_time: f64, flags: &[&str]) -> Value {
        let page = format!("{}/?mode={mode}&video={id}#token={TOKEN}", dev.origin);
        let min_time = min_time.to_string();
        let mut args = vec![page.as_str(), "--min-time", &min_time];
        args.extend_from_slice(flags);
        self.run("play.mjs", &args)
    }

    /// A session script (`e2e/sessions.mjs`, `e2e/players.mjs`) on `dev`:
    /// its origin and token, signatures of `lifetime` seconds, this
    /// `hlsgate` and the dev viewer's sessions table, then `more`.
    fn run_sessions(&self, script: &str, dev: &Dev, lifetime: &str, more: &[&str]) -> Value {
        let endpoint = dev.sessions_endpoint();
        let mut args = vec![
            dev.origin.as_str(),
            TOKEN,
            "--lifetime",
            lifetime,
            "--hlsgate",
            env!("CARGO_BIN_EXE_hlsgate"),
            "--sessions-table",
            "hlsgate-dev-sessions",
            "--endpoint",
            &endpoint,
            "--subject",
            "dev-viewer",
        ];
        args.extend_from_slice(more);
        self.run(script, &args)
    }

    /// `node e2e/SCRIPT ARGS…`, one browser at a time; its last line of JSON.
    fn run(&self, script: &str, args: &[&str]) -> Value {
        let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let out = Command::new("node")
            .arg(repo().join("e2e").join(script))
            .args(args)
            .env("HLSGATE_E2E_MODULES", &self.modules)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|_| {
            panic!(
                "{script} said:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// `e2e/page.mjs` on the player page: hostile strings, and with
    /// `block_player` no hls.js.
    fn page(&self, dev: &Dev, block_player: bool) -> Value {
        let page = format!("{}/#token={TOKEN}", dev.origin);
        let mut args = vec![page.as_str()];
        if block_player {
            args.push("--block-player");
        }
        self.run("page.mjs", &args)
    }
}

#[test]
fn chromium_shows_server_strings_as_text_and_says_when_the_player_is_missing() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dev = Dev::start("url", &[]);
    for block_player in [false, true] {
        let r = browser.page(&dev, block_player);
        assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
        assert_eq!(r["pwned"], 0, "markup ran: {r}");
        assert_eq!(r["elements"], 0, "markup became elements: {r}");
        assert_eq!(r["dialogs"], serde_json::json!([]), "{r}");
        // The upload named like a tag is refused, and the refusal says why.
        let status = r["status"].as_str().unwrap();
        assert!(
            status.contains("Upload refused (400)") && status.contains("letters, digits"),
            "{status}"
        );
        // Markup from the server is shown as the characters it is.
        let jobs = r["rendered"]["jobs"].as_str().unwrap();
        assert!(jobs.contains("<img src=x onerror="), "{jobs}");
        assert!(
            r["rendered"]["videos"][0]
                .as_str()
                .unwrap()
                .starts_with("<img src=x"),
            "{r}"
        );
        // A long id shows its readable part and the hash's start, kept inside the list.
        let long = &r["rendered"]["long"];
        assert_eq!(
            long["text"], "a-long-title-of-a-summer-trip-to-the-mountains-and-back-again Ab0-_A…",
            "{r}"
        );
        assert_eq!(long["overflowX"], "hidden", "{r}");
        assert_eq!(long["textOverflow"], "ellipsis", "{r}");
        if block_player {
            let e = r["playerError"].as_str().unwrap_or_default();
            assert!(
                e.contains("did not load") && e.contains("make dev") && e.contains("--hlsjs"),
                "{r}"
            );
        } else {
            assert!(r["playerError"].is_null(), "{r}");
        }
    }
}

fn hlsjs() -> Option<PathBuf> {
    let tools = std::env::var("HLSGATE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".tools"));
    let p = tools.join("e2e/node_modules/hls.js/dist/hls.min.js");
    p.exists().then_some(p)
}

fn plays(mode: &str, args: &[&str]) {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dev = Dev::start_with(mode, &[], args);
    let r = browser.play(&dev, "sample", mode, 3.0, true);
    assert_eq!(r["ok"], true, "{r}\n{}", dev.logs());
    if args.contains(&"dynamodb") {
        // The dev viewer's two-hour grant, counting down on the page.
        let before = r["before"]["grant"].as_str().unwrap();
        let after = r["after"]["grant"].as_str().unwrap();
        assert!(
            before.starts_with("1 h 59 min") || before.starts_with("2 h 00 min"),
            "{before}"
        );
        assert_ne!(before, after, "the grant countdown did not move");
    } else {
        assert_eq!(r["before"]["grant"], Value::Null, "{r}");
    }
    assert!(r["before"]["time"].as_f64().unwrap() > 3.0, "{r}");
    assert_ne!(r["after"]["level"], r["before"]["level"], "{r}");
    assert_eq!(r["after"]["level"], r["target"], "{r}");
    assert!(
        r["after"]["time"].as_f64().unwrap() > r["after"]["switchedAt"].as_f64().unwrap() + 1.5,
        "{r}"
    );
    assert_eq!(r["refused"], serde_json::json!([]), "{r}");
    let url = r["before"]["issued"]["manifest_url"].as_str().unwrap();
    let requests: Vec<&str> = r["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    match mode {
        // Every request the player made carried the signature in its URL.
        "url" => {
            assert!(url.contains("Signature="), "{url}");
            assert!(
                requests.iter().all(|q| q.ends_with("(signed URL)")),
                "{requests:?}"
            );
        }
        // None did: the cookies carried it.
        _ => {
            assert!(!url.contains("Signature="), "{url}");
            assert!(
                requests.iter().all(|q| !q.contains("signed URL")),
                "{requests:?}"
            );
        }
    }
    // Both renditions were fetched: the switch really happened on the wire.
    let levels = r["before"]["levels"].as_array().unwrap();
    let target = levels[r["target"].as_u64().unwrap() as usize]
        .as_u64()
        .unwrap();
    assert!(
        requests.iter().any(|q| q.contains(&format!("_{target}p_"))),
        "no segment of the {target}p rendition: {requests:?}"
    );
}

#[test]
fn chromium_plays_and_switches_with_signed_urls() {
    plays("url", &[]);
}

/// With the grants table of `--entitlement dynamodb` (dynalite, when
/// `make e2e-tools` installed it; the claim rule otherwise).
#[test]
fn chromium_plays_and_switches_with_signed_cookies() {
    if hlsgate_aws::local_dynamodb::dynalite_script().exists() {
        plays("cookies", &["--entitlement", "dynamodb"]);
    } else {
        eprintln!("no dynalite (make e2e-tools): playing on the claim rule");
        plays("cookies", &[]);
    }
}
