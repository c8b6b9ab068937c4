//! A DynamoDB-compatible server on loopback for tests, benchmarks and the
//! local stack: npm's `dynalite` (in memory), installed with the browser
//! tools into `$HLSGATE_TOOLS/e2e` by `make e2e-tools`, run with the
//! machine's Node.js. It answers the real `aws-sdk-dynamodb` client, so the
//! grants code is tested against a server, not a mock of ours.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The region and keys its clients sign with (any are accepted).
pub const REGION: &str = crate::sdk::LOCAL_REGION;
pub const ACCESS_KEY: &str = "hlsgate-local";
pub const SECRET_KEY: &str = "hlsgate-local-secret";

/// Where `make e2e-tools` puts dynalite's command: under `HLSGATE_TOOLS`,
/// else the checkout's `.tools`.
pub fn dynalite_script() -> PathBuf {
    let tools = std::env::var_os("HLSGATE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(".tools")
        });
    tools.join("e2e/node_modules/dynalite/cli.js")
}

/// A running dynalite; stopped when dropped.
#[derive(Debug)]
pub struct LocalDynamo {
    child: Child,
    addr: SocketAddr,
}

impl LocalDynamo {
    /// Starts dynalite on a free loopback port and waits (up to 15 s) until
    /// it accepts connections. The error says what to install.
    pub fn start() -> Result<LocalDynamo, String> {
        let script = dynalite_script();
        if !script.exists() {
            return Err(format!(
                "no DynamoDB-compatible server: {} is missing (make e2e-tools installs dynalite)",
                script.display()
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new("node")
            .arg(&script)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--createTableMs", "0", "--deleteTableMs", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("node {}: {e}", script.display()))?;
        let mut server = LocalDynamo { child, addr };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("dynalite exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!("dynalite did not listen on {addr} within 15 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
