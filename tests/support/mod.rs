//! Helpers for tests that start real processes: free ports, processes stopped by PID when the
//! test ends, bounded waits, and plain HTTP requests.

#![allow(dead_code)] // each test binary uses a part

pub mod diff_example;
pub mod http_fixture;
pub mod kube_fixture;
mod kube_support;
pub mod tls_proxy;
#[allow(unused_imports)] // not every test binary uses them
pub use kube_support::*;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: machines are small and noisy.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (by its PID) when dropped.
pub struct Process {
    pub child: Child,
    pub name: String,
    log: std::path::PathBuf,
}

impl Process {
    /// Starts `program` with `args`, its output going to `<dir>/<name>.log`.
    pub fn start(name: &str, program: &str, args: &[&str], dir: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (is it installed?): {e}"));
        Process {
            child,
            name: name.to_owned(),
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let end = Instant::now() + DEADLINE;
        while Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not exit; log:\n{}", self.name, self.log());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `f` returns `Some`, or panics naming `what` after the deadline.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP answer: status, headers (names in lower case), body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// A plain HTTP/1.1 request to 127.0.0.1. `None` if nobody answers.
pub fn http(method: &str, port: u16, path: &str, headers: &[(&str, &str)]) -> Option<Answer> {
    http_with_body(method, port, path, headers, b"")
}

/// A plain HTTP/1.1 request with a body to 127.0.0.1. `None` if nobody answers.
pub fn http_with_body(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Answer> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let body = if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, headers, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// GET returning the body of a 200 answer.
pub fn get_ok(port: u16, path: &str) -> Option<String> {
    match http("GET", port, path, &[])? {
        (200, _, body) => Some(body),
        _ => None,
    }
}

/// The path of the promsd binary built for the tests.
pub fn promsd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_promsd")
}

/// Starts `promsd run` on a free port with extra flags; waits until it answers `/-/ready`.
pub fn start_promsd(dir: &Path, config: &Path, extra: &[&str]) -> (Process, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "run",
        "--config.file",
        config.to_str().unwrap(),
        "--web.listen-address",
        &listen,
        "--discovery.update-interval",
        "200ms",
    ];
    args.extend_from_slice(extra);
    let process = Process::start("promsd", promsd_bin(), &args, dir);
    wait_for("promsd to be ready", || {
        get_ok(port, "/-/ready").map(|_| ())
    });
    (process, port)
}

/// Runs `promsd check service-discovery CONFIG JOB` with `env` added to its environment and
/// returns its JSON (the array of targets) and its stderr, or its failure (exit status and
/// stderr).
pub fn check_sd(
    config: &Path,
    job: &str,
    env: &[(&str, &str)],
) -> Result<(serde_json::Value, String), String> {
    let mut command = Command::new(promsd_bin());
    command
        .args(["check", "service-discovery", config.to_str().unwrap(), job])
        .args(["--timeout", "60s"])
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(format!("exit {:?}: {stderr}", output.status.code()));
    }
    let json = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&output.stdout)))?;
    Ok((json, stderr))
}
