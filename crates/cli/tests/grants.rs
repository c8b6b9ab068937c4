//! `hlsgate grant`, `revoke` and `grants` against dynalite, and what the
//! issuer's own lookup then decides.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};
use std::time::Duration;

use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_core::video::VideoId;
use hlsgate_signed_url_issuer::entitlement::Decision;
use hlsgate_signed_url_issuer::entitlement::table::{self, GrantsTable};
use serde_json::Value;

/// `hlsgate ARGS --table support --endpoint ENDPOINT`, the arguments
/// split at blanks.
fn hlsgate(endpoint: &str, args: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(args.split_whitespace())
        .args(["--table", "support", "--endpoint", endpoint])
        .output()
        .expect("run hlsgate")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn support_staff_grant_list_and_revoke_by_hand() {
    let db = match LocalDynamo::start() {
        Ok(db) => db,
        Err(e) if std::env::var_os("CI").is_none() => return eprintln!("skipped: {e}"),
        Err(e) => panic!("{e}"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = GrantsTable::new(
        table::local_client(&db.endpoint(), Duration::from_secs(5)),
        "support",
    );
    rt.block_on(t.create()).unwrap();
    let e = db.endpoint();

    let o = hlsgate(&e, "grant --subject alice --video intro --until 48h");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let said = text(&o.stdout);
    assert!(said.starts_with("granted intro to alice until "), "{said}");
    let o = hlsgate(&e, "grant --subject alice --video course-101-*");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("with no end"));

    // The issuer's lookup sees both: the rental ends in about 48 h.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let check = |video: &str, wildcards: bool| {
        let id = VideoId::parse(video).unwrap();
        rt.block_on(t.check("alice", &id, wildcards, now)).unwrap()
    };
    let Decision::Allowed { until: Some(end) } = check("intro", false) else {
        panic!("{:?}", check("intro", false))
    };
    let in_48h = now + 48 * 3600;
    assert!((in_48h - 5..=in_48h + 5).contains(&end), "{end}");
    assert_eq!(check("course-101-a", true), Decision::ALLOWED);

    let o = hlsgate(&e, "grants --subject alice --json");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["video"], "course-101-*");
    assert_eq!(rows[1]["video"], "intro");
    assert_eq!(rows[1]["state"], "valid");
    assert_eq!(rows[1]["expires_at"], end);

    let o = hlsgate(&e, "revoke --subject alice --video intro");
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Revoking what is not there says so, with the refused status.
    let o = hlsgate(&e, "revoke --subject alice --video intro");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("holds no grant for intro"));
    let o = hlsgate(&e, "grants --subject alice");
    assert_eq!(text(&o.stdout).lines().count(), 1, "{}", text(&o.stdout));

    // Bad input is a usage error, before any call.
    for bad in [
        "grant --subject alice --video a/b",
        "grant --subject alice --video intro --until 1970-01-02T00:00:00Z",
        "grant --subject alice --video intro --until 1h --from 2h",
        "grant --subject alice --video intro --until soon",
    ] {
        let o = hlsgate(&e, bad);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
    }
    // A table that is not there is the environment's trouble, named.
    let o = Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args([
            "grants",
            "--subject",
            "alice",
            "--table",
            "nope",
            "--endpoint",
            &e,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("ResourceNotFoundException"),
        "{}",
        text(&o.stderr)
    );
}
