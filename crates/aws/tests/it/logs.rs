//! Captured logs: each test sees its own thread's events, whichever thread
//! reached a callsite first.

use hlsgate_aws::testing::LogCapture;

/// One callsite shared by the threads below, as a handler's access log is
/// shared by every test that calls the handler.
fn shared_event(n: u32) {
    tracing::info!(n, "shared callsite");
}

#[test]
fn a_capture_sees_a_callsite_another_thread_reached_first() {
    let capture = LogCapture::default();
    let guard = capture.install();
    std::thread::spawn(|| shared_event(1)).join().unwrap();
    shared_event(2);
    drop(guard);
    shared_event(3);
    let lines = capture.lines();
    let seen: Vec<_> = lines.iter().map(|l| l["n"].clone()).collect();
    assert_eq!(
        seen,
        [2],
        "only this thread's event while installed: {lines:?}"
    );
}
