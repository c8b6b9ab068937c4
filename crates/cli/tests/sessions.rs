//! `hlsgate sessions list|end` against dynalite, and what the issuer's own
//! renewal then decides.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};
use std::time::Duration;

use hlsgate_aws::local_dynamodb::LocalDynamo;
use hlsgate_signed_url_issuer::entitlement::table;
use hlsgate_signed_url_issuer::sessions::table::SessionsTable;
use hlsgate_signed_url_issuer::sessions::{Admission, Lapse, NewSession, SessionId, StreamLimit};
use serde_json::Value;

fn hlsgate(endpoint: &str, args: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hlsgate"))
        .args(args.split_whitespace())
        .args(["--table", "support-sessions", "--endpoint", endpoint])
        .output()
        .expect("run hlsgate")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn support_staff_list_and_end_a_viewers_sessions() {
    let db = match LocalDynamo::start() {
        Ok(db) => db,
        Err(e) if std::env::var_os("CI").is_none() => return eprintln!("skipped: {e}"),
        Err(e) => panic!("{e}"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = SessionsTable::new(
        table::local_client(&db.endpoint(), Duration::from_secs(5)),
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
        };
        let admitted = rt
            .block_on(t.admit(&new, [i as u8; 16], 3, StreamLimit::Refuse, now + 900))
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
