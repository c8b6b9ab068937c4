//! Playback rules over HTTP against `hlsgate dev --viewer-country FR`: the
//! rules set with `hlsgate rules` and the stack's own lambda.env, the edge
//! saying where the viewer is.

use super::*;

impl Dev {
    /// `hlsgate rules ARGS` with the stack's S3 variables (its lambda.env).
    fn rules(&self, args: &[&str]) -> std::process::Output {
        let env = std::fs::read_to_string(self.data.path().join("dev/lambda.env")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hlsgate"));
        cmd.arg("rules").args(args).env_remove("RULES_PREFIX");
        for line in env.lines() {
            if let Some((k, v)) = line.split_once('=') {
                cmd.env(k, v.trim_matches('\''));
            }
        }
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "hlsgate rules {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    /// A start of `sample` from a page of `origin`: the status and the
    /// answer, polled until it is `want` (an error code, or `ok`; the stack
    /// reads rules again every 2 s) or for 20 s.
    fn start_from(&self, origin: &str, want: &str) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut r = get(
                &self.url("/playback/sample?mode=url"),
                &[
                    ("Authorization", &format!("Bearer {TOKEN}")),
                    ("Origin", origin),
                    // What a viewer sends is replaced by the edge's.
                    ("CloudFront-Viewer-Country", "DE"),
                ],
            );
            let status = r.status().as_u16();
            let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap())
                .unwrap_or(Value::Null);
            let got = body["error"].as_str().unwrap_or("ok");
            if got == want || Instant::now() > deadline {
                return (status, body);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

const SHOP: &str = "https://shop.example";

#[test]
fn rules_refuse_by_country_site_and_window_and_the_video_plays_where_allowed() {
    let dev = Dev::start_with("url", &[], &["--viewer-country", "FR"]);
    assert!(
        dev.stdout_when(|o| o.contains("viewer is in FR"))
            .contains("viewer is in FR")
    );
    assert_eq!(dev.start_from(SHOP, "ok").0, 200, "{}", dev.logs());

    dev.rules(&["set", "sample", "--countries", "DE"]);
    let (status, body) = dev.start_from(SHOP, "country_not_allowed");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "country_not_allowed");
    assert_eq!(body["rule"], "video.countries");
    assert_eq!(
        body["country"], "FR",
        "the edge's country, not the viewer's header"
    );
    // The page says which rule refused, in the player package's words.
    if let Some(browser) = Browser::find() {
        let page = browser.run("refused.mjs", &[&dev.url(&format!("/#token={TOKEN}"))]);
        assert_eq!(page["ok"], true, "{page}");
        let status = page["status"].as_str().unwrap();
        assert!(
            status.contains("403: country_not_allowed (rule video.countries)")
                && status.contains("This video is not available in your country (FR)."),
            "{status}"
        );
    }

    dev.rules(&["set", "sample", "--deny-countries", "US", "--origins", SHOP]);
    let (status, body) = dev.start_from("https://other.example", "origin_not_allowed");
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("origin_not_allowed")),
        "{body}"
    );
    let (status, body) = dev.start_from(SHOP, "ok");
    assert_eq!(status, 200, "{body}");
    // It plays: the signed manifest through the edge.
    let manifest = body["manifest_url"].as_str().unwrap();
    assert_eq!(status_and_reason(manifest, &[]).0, 200);

    // A window opening in a few seconds: refused, then playing once the
    // clock passes it (the real clock).
    let opens = now() + 8;
    dev.rules(&["set", "sample", "--from", &opens.to_string()]);
    let (status, body) = dev.start_from(SHOP, "not_yet_available");
    assert_eq!(body["error"], "not_yet_available", "{status} {body}");
    assert!(now() < opens, "the refusal came before the window opened");
    let (status, body) = dev.start_from(SHOP, "ok");
    assert_eq!(status, 200, "{body}");
    assert!(now() >= opens);

    dev.rules(&["clear", "sample"]);
    assert_eq!(dev.start_from("https://other.example", "ok").0, 200);
}
