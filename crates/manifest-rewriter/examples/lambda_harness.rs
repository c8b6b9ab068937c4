//! Runs the real `manifest-rewriter` binary as Lambda would, on one machine:
//! a Lambda Runtime API emulator (one instance, one request at a time, as in
//! Lambda), an HTTP front that turns requests into Function URL events, and
//! s3s-fs as S3 over a directory. For `bench/load-rewriter.sh`.
//!
//! ```text
//! lambda_harness --bin target/release/manifest-rewriter --data DIR \
//!     --port 9000 --warm '/videos/bench/movie.m3u8?…'
//! ```
//! The function's own config comes from the environment. The warm-up request
//! is queued before the process starts, so the first line printed,
//! `{"cold_start_ms":…}`, is process start → first response (init, S3 read,
//! rewrite); `--cold-only` stops there. `GET /__harness/stats` answers the function's RSS and the
//! p50/p99 of warm invocations as Lambda bills them (event handed out →
//! response posted), which leaves out the front hop.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use hlsgate_aws::local_s3::LocalS3;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot};

type Reply = oneshot::Sender<Value>;

struct Invocation {
    id: String,
    event: String,
    reply: Reply,
}

struct Shared {
    queue_tx: mpsc::UnboundedSender<Invocation>,
    queue_rx: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// Reply channel and hand-out time of each invocation in flight.
    pending: Mutex<HashMap<String, (Reply, Instant)>>,
    /// Hand-out → response, as Lambda bills it (µs), warm invocations only.
    durations: Mutex<Vec<u64>>,
    next_id: AtomicU64,
    child_pid: AtomicU64,
}

type Resp = Response<Full<Bytes>>;

fn resp(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

/// The Lambda Runtime API (the subset lambda_runtime uses).
async fn runtime_api(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/2018-06-01/runtime/invocation/next" {
        let inv = shared.queue_rx.lock().await.recv().await;
        let Some(inv) = inv else {
            return Ok(resp(500, "queue closed"));
        };
        shared
            .pending
            .lock()
            .await
            .insert(inv.id.clone(), (inv.reply, Instant::now()));
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        let mut r = resp(200, inv.event);
        let h = r.headers_mut();
        h.insert("lambda-runtime-aws-request-id", inv.id.parse().unwrap());
        h.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().unwrap(),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:manifest-rewriter"
                .parse()
                .unwrap(),
        );
        h.insert(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".parse().unwrap(),
        );
        return Ok(r);
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
        let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
        // Billed time ends when the runtime has posted the response.
        let pending = shared.pending.lock().await.remove(id);
        let Some((tx, handed_out)) = pending else {
            return Ok(resp(400, "unknown invocation"));
        };
        if id != "inv-1" {
            let us = handed_out.elapsed().as_micros() as u64;
            shared.durations.lock().await.push(us);
        }
        let value = match kind {
            "response" => serde_json::from_slice(&body).unwrap_or(Value::Null),
            _ => json!({ "statusCode": 502, "body": String::from_utf8_lossy(&body) }),
        };
        let _ = tx.send(value);
        return Ok(resp(202, ""));
    }
    if path == "/2018-06-01/runtime/init/error" {
        eprintln!("harness: init error: {}", String::from_utf8_lossy(&body));
        std::process::exit(1);
    }
    Ok(resp(404, "unknown runtime API path"))
}

/// A Function URL (payload 2.0) event for an HTTP request.
fn event(id: &str, method: &str, path: &str, query: &str, headers: &[(String, String)]) -> String {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), json!(v));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "harness",
            "domainName": "127.0.0.1",
            "domainPrefix": "harness",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "harness" },
            "requestId": id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:00:00:00 +0000",
            "timeEpoch": now
        },
        "isBase64Encoded": false
    })
    .to_string()
}

async fn invoke(shared: &Shared, event_for: impl FnOnce(&str) -> String) -> Value {
    let id = format!("inv-{}", shared.next_id.fetch_add(1, Ordering::SeqCst));
    let (tx, rx) = oneshot::channel();
    let ev = event_for(&id);
    let _ = shared.queue_tx.send(Invocation {
        id,
        event: ev,
        reply: tx,
    });
    rx.await.unwrap_or(Value::Null)
}

fn to_http(v: &Value) -> Resp {
    let status = v["statusCode"].as_u64().unwrap_or(502) as u16;
    let body = v["body"].as_str().unwrap_or("");
    let bytes: Bytes = if v["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
            .into()
    } else {
        Bytes::copy_from_slice(body.as_bytes())
    };
    let mut r = resp(status, bytes);
    if let Some(h) = v["headers"].as_object() {
        for (k, val) in h {
            if let (Ok(name), Some(Ok(val))) = (
                hyper::header::HeaderName::try_from(k.as_str()),
                val.as_str().map(hyper::header::HeaderValue::from_str),
            ) {
                r.headers_mut().insert(name, val);
            }
        }
    }
    r
}

fn proc_status(pid: u64) -> Value {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
    };
    json!({ "rss_kb": field("VmRSS:"), "peak_rss_kb": field("VmHWM:") })
}

async fn front(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    if req.uri().path() == "/__harness/stats" {
        let pid = shared.child_pid.load(Ordering::SeqCst);
        let mut d = shared.durations.lock().await.clone();
        d.sort_unstable();
        let pct = |p: f64| -> f64 {
            if d.is_empty() {
                return 0.0;
            }
            let i = ((d.len() as f64 * p).ceil() as usize).clamp(1, d.len()) - 1;
            d[i] as f64 / 1000.0
        };
        let mut v = proc_status(pid);
        v["invocations"] = json!(d.len());
        v["function_p50_ms"] = json!(pct(0.50));
        v["function_p99_ms"] = json!(pct(0.99));
        v["function_max_ms"] = json!(pct(1.0));
        return Ok(resp(200, v.to_string()));
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let v = invoke(&shared, |id| event(id, &method, &path, &query, &headers)).await;
    Ok(to_http(&v))
}

async fn serve<F, Fut>(listener: TcpListener, f: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Resp, Infallible>> + Send + 'static,
{
    while let Ok((sock, _)) = listener.accept().await {
        let f = f.clone();
        tokio::spawn(async move {
            let _ = ConnBuilder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(sock), hyper::service::service_fn(f))
                .await;
        });
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut bin, mut data, mut port, mut warm) = (None, None, 9000u16, None);
    let mut cold_only = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = args.next(),
            "--data" => data = args.next(),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(9000),
            "--warm" => warm = args.next(),
            // Measure one cold start and exit.
            "--cold-only" => cold_only = true,
            _ => {
                eprintln!(
                    "usage: lambda_harness --bin PATH --data DIR [--port 9000] [--warm PATH?QUERY] [--cold-only]"
                );
                std::process::exit(2);
            }
        }
    }
    let (Some(bin), Some(data)) = (bin, data) else {
        eprintln!("--bin and --data are required");
        std::process::exit(2);
    };
    let s3 = LocalS3::start(&PathBuf::from(data)).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        queue_tx: tx,
        queue_rx: Mutex::new(rx),
        pending: Mutex::new(HashMap::new()),
        durations: Mutex::new(Vec::new()),
        next_id: AtomicU64::new(1),
        child_pid: AtomicU64::new(0),
    });
    let runtime = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_addr = runtime.local_addr().unwrap();
    let sh = shared.clone();
    tokio::spawn(serve(runtime, move |r| runtime_api(sh.clone(), r)));

    // Queue the first request before the process exists.
    let warm = warm.unwrap_or_else(|| "/".to_string());
    let (wpath, wquery) = warm.split_once('?').unwrap_or((&warm, ""));
    let (wpath, wquery) = (wpath.to_string(), wquery.to_string());
    let origin_header = std::env::var("HARNESS_ORIGIN_SECRET").unwrap_or_default();
    let first = {
        let sh = shared.clone();
        tokio::spawn(async move {
            let headers = vec![("x-origin-verify".to_string(), origin_header)];
            invoke(&sh, |id| event(id, "GET", &wpath, &wquery, &headers)).await
        })
    };
    tokio::task::yield_now().await;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&bin)
        .env("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "manifest-rewriter")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", LocalS3::REGION)
        .env("AWS_ACCESS_KEY_ID", &s3.keys().access_key)
        .env("AWS_SECRET_ACCESS_KEY", &s3.keys().secret_key)
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("S3_FORCE_PATH_STYLE", "true")
        // The function's JSON logs go to our stderr; stdout is for results.
        .stdout(std::process::Stdio::from(
            std::io::stderr().as_fd().try_clone_to_owned().unwrap(),
        ))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
    shared
        .child_pid
        .store(u64::from(child.id().unwrap_or(0)), Ordering::SeqCst);
    let v = first.await.unwrap();
    let cold = started.elapsed();
    if cold_only {
        println!(
            "{}",
            json!({ "cold_start_ms": cold.as_secs_f64() * 1000.0, "first_status": v["statusCode"] })
        );
        let _ = child.kill().await;
        // Exit now: tearing the runtime down under open connections can
        // panic in a server task, which aborts under panic=abort.
        std::process::exit(0);
    }
    let front_listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("port {port}: {e}"));
    println!(
        "{}",
        json!({
            "cold_start_ms": cold.as_secs_f64() * 1000.0,
            "first_status": v["statusCode"],
            "front": format!("http://127.0.0.1:{port}")
        })
    );
    let sh = shared.clone();
    tokio::select! {
        () = serve(front_listener, move |r| front(sh.clone(), r)) => {}
        status = child.wait() => eprintln!("harness: function exited: {status:?}"),
        _ = tokio::signal::ctrl_c() => {}
    }
}
