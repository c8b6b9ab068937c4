//! `hlsgate probe` against the local stack: every check passes in each
//! mode the stack has (URL, cookies, sessions in a table with the grants
//! table; the encrypted ladder in the encryption test), and the token is
//! never in its output.

use super::*;

impl Dev {
    /// `hlsgate probe` on `video` through this stack's edge, with its key
    /// group and its own origin as the page's: the exit status, the JSON
    /// report, and everything it printed.
    pub(crate) fn probe(&self, video: &str, args: &[&str]) -> (i32, Value, String) {
        let key_id = self
            .stdout_when(|o| o.contains("key group "))
            .split("key group ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap()
            .to_string();
        let pem = self.data.path().join("dev/public-key.pem");
        let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
            .args([
                "probe",
                "--issuer",
                &self.origin,
                "--video",
                video,
                "--origin",
                &self.origin,
            ])
            .arg("--public-key")
            .arg(format!("{key_id}={}", pem.display()))
            .arg("--json")
            .args(args)
            .env("HLSGATE_PROBE_TOKEN", TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let printed = format!("{stdout}{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            !printed.contains(TOKEN),
            "the probe printed the token:\n{printed}"
        );
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (o.status.code().unwrap_or(-1), report, printed)
    }

    /// Probes `video` and asserts every check passed; returns the report.
    pub(crate) fn probe_passes(&self, video: &str, args: &[&str]) -> Value {
        let (code, report, printed) = self.probe(video, args);
        assert_eq!(
            code,
            0,
            "hlsgate probe {args:?}:\n{printed}\n{}",
            self.logs()
        );
        assert_eq!(report["passed"], true, "{printed}");
        report
    }
}

/// The outcome of check `id` in a report.
fn outcome<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["outcome"].as_str())
        .unwrap_or_else(|| panic!("no check {id} in {report}"))
}

#[test]
fn the_probe_passes_against_the_local_stack_with_urls_and_with_cookies() {
    let dev = Dev::start("url", &[]);
    let report = dev.probe_passes("sample", &[]);
    for id in [
        "issuer.signature",
        "play.segments",
        "play.range",
        "attack.other-folder",
        "attack.expired-policy",
        "session.renew",
    ] {
        assert_eq!(outcome(&report, id), "pass", "{id}: {report}");
    }
    // Stateless sessions: nothing to end, and the probe says so.
    assert_eq!(outcome(&report, "session.end"), "skip");
    let report = dev.probe_passes("sample", &["--mode", "cookies"]);
    assert_eq!(report["target"]["mode"], "cookies");
    assert_eq!(outcome(&report, "issuer.cookies"), "pass");
    assert_eq!(outcome(&report, "play.master.uris"), "pass");

    // A video the stack does not have is a failed check; a bad flag is a
    // usage error; a closed port could not be reached.
    let (code, report, _) = dev.probe("no-such-video", &[]);
    assert_eq!(code, 1);
    assert_eq!(report["checks"][0]["problem"], "issuer_refused");
    let (code, _, printed) = dev.probe("sample", &["--mode", "carrier-pigeon"]);
    assert_eq!(code, 2, "{printed}");
    let (code, _, printed) = dev.probe("sample", &["--video", "b", "--video", "c"]);
    assert_eq!(code, 2, "{printed}");
    // A second video: the other-folder try is made on its folder.
    let (code, report, printed) = dev.probe("sample", &["--video", "another-video"]);
    assert_eq!(code, 0, "{printed}");
    assert_eq!(outcome(&report, "attack.other-folder"), "pass");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args([
            "probe",
            "--issuer",
            &format!("http://127.0.0.1:{port}"),
            "--video",
            "sample",
        ])
        .env("HLSGATE_PROBE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args([
            "probe",
            "--issuer",
            "https://d111.cloudfront.net/playback",
            "--video",
            "sample",
            "--token",
            "t",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give an origin only"));
}

#[test]
fn the_probe_ends_a_recorded_session_and_plays_a_granted_video() {
    let Some(dev) = dev_with_grants_table() else {
        return;
    };
    let report = dev.probe_passes("sample", &[]);
    // Recorded sessions end: the renewal after the end is refused.
    assert_eq!(outcome(&report, "session.end"), "pass", "{report}");
}
