//! `hlsgate grant`, `revoke`, `grants` and `sessions` against dynalite, and
//! what the issuer's own lookup or renewal then decides.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};
use std::time::Duration;

use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_core::video::VideoId;
use hlsgate_signed_url_issuer::dynamo;
use hlsgate_signed_url_issuer::entitlement::Decision;
use hlsgate_signed_url_issuer::entitlement::table::GrantsTable;
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
use hlsgate_signed_url_issuer::sessions::{Admission, Lapse, NewSession, SessionId, StreamLimit};
use serde_json::Value;

/// `hlsgate ARGS --table TABLE --endpoint ENDPOINT`, the arguments split
/// at blanks; the grants table unless ARGS start with `sessions`.
fn hlsgate(endpoint: &str, args: &str) -> Output {
    let table = if args.starts_with("sessions") {
        "support-sessions"
    } else {
        "support"
    };
    Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(args.split_whitespace())
        .args(["--table", table, "--endpoint", endpoint])
        .output()
        .expect("run hlsgate")
}

/// dynalite, or `None` (said) when it is not installed; CI must have it.
fn dynalite() -> Option<LocalDynamo> {
    match LocalDynamo::start() {
        Ok(db) => Some(db),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn support_staff_grant_list_and_revoke_by_hand() {
    let Some(db) = dynalite() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = GrantsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
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
    let Decision::Allowed {
        until: Some(end), ..
    } = check("intro", false)
    else {
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

#[test]
fn support_staff_list_and_end_a_viewers_sessions() {
    let Some(db) = dynalite() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = SessionsTable::new(
        dynamo::local_client(&db.endpoint(), Duration::from_secs(5)),
        "support-sessions",
    );
    rt.block_on(t.create()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut ids = Vec::new();
    for (i, device) in ["tv", "phone"].into_iter().enumerate() {
        let new = NewSession {
            subject: "alice",
            video: "intro",
            device: Some(device),
            now: now + i as u64,
            signature_expires: now + 300,
            max_streams: 3,
        };
        let admitted = rt
            .block_on(t.admit(&new, [i as u8; 16], StreamLimit::Refuse, now + 900))
            .unwrap();
        let Admission::Admitted { id, .. } = admitted else {
            panic!("{admitted:?}")
        };
        ids.push(id);
    }
    let e = db.endpoint();

    let o = hlsgate(&e, "sessions list --subject alice --json");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["device"], "tv");
    assert_eq!(rows[0]["id"], ids[0].to_string());
    assert_eq!(rows[1]["video_id"], "intro");

    // One session: it may not renew any more; the other still may.
    let o = hlsgate(
        &e,
        &format!("sessions end --subject alice --session {}", ids[0]),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("ended 1 session of alice"));
    let renew = |id: &SessionId| {
        rt.block_on(t.renew("alice", "intro", id, now + 5, now + 905))
            .unwrap()
    };
    assert_eq!(renew(&ids[0]), Err(Lapse::Ended));
    assert_eq!(renew(&ids[1]), Ok(()));

    // All of them; then nothing is left to end (exit 1, said on stderr).
    let o = hlsgate(&e, "sessions end --subject alice");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("ended 1 session of alice"));
    assert_eq!(renew(&ids[1]), Err(Lapse::Ended));
    let o = hlsgate(&e, "sessions end --subject alice");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("alice has no active session"));
    let o = hlsgate(&e, "sessions list --subject alice");
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("no active sessions"));

    // A bad id is a usage error.
    let o = hlsgate(&e, "sessions end --subject alice --session nope");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}
