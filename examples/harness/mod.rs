//! What the release-mode harnesses (`daemon_load`, `soak`) share: the `promsd` binary started on
//! a free loopback port and stopped by its PID, generated file SD targets, the process's CPU
//! time and memory from `/proc`, a plain HTTP client for setup, and percentiles.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The release `promsd` binary: `--promsd PATH`, else `$PROMSD_BIN`, else the one beside this
/// example's directory, built with `cargo build --release --bin promsd` if it is missing.
pub fn promsd_binary(flag: Option<&str>) -> PathBuf {
    if let Some(path) = flag
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("PROMSD_BIN").map(PathBuf::from))
    {
        return path;
    }
    let exe = std::env::current_exe().expect("own path");
    // <target>/release/examples/<name> -> <target>/release/promsd
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .expect("examples live in <target>/<profile>/examples")
        .join("promsd");
    if !binary.exists() {
        eprintln!(
            "building {} (cargo build --release --bin promsd)",
            binary.display()
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "promsd"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "cargo build --release --bin promsd failed"
        );
    }
    binary
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `promsd run`, stopped (SIGTERM, then SIGKILL) by its PID when dropped.
pub struct Daemon {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `promsd run` with `config` on a free port, logging to `<dir>/promsd.log`.
    pub fn start(binary: &Path, config: &Path, dir: &Path, extra: &[&str]) -> Daemon {
        let port = free_port();
        let log = dir.join("promsd.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .arg("run")
            .arg("--config.file")
            .arg(config)
            .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        Daemon { child, port, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn cpu(&self) -> Duration {
        process_cpu(self.pid())
    }

    pub fn rss_mib(&self) -> f64 {
        status_kib(self.pid(), "VmRSS") as f64 / 1024.0
    }

    pub fn peak_mib(&self) -> f64 {
        status_kib(self.pid(), "VmHWM") as f64 / 1024.0
    }

    /// Fails if the daemon has exited.
    pub fn check_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "promsd exited ({status}); log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's PID.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User + system CPU time of a process (10 ms ticks).
pub fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / hz)
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing for pid {pid}"))
}

/// Waits until `f` returns `Some`, polling every 20 ms, or panics naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An HTTP answer: status, headers (names in lower case), body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A GET to 127.0.0.1 on a new connection; `None` if nobody answers.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Some((status, headers, raw[split + 4..].to_vec()))
}

/// The value of `series` (name with its labels exactly as exposed) on `/metrics`.
pub fn metric(port: u16, series: &str) -> Option<f64> {
    let (status, _, body) = http_get(port, "/metrics", &[])?;
    if status != 200 {
        return None;
    }
    String::from_utf8_lossy(&body)
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Targets in an HTTP SD body rendered by promsd (one group per target).
pub fn count_targets(body: &[u8]) -> usize {
    const ENTRY: &[u8] = b"{\"targets\":[";
    body.windows(ENTRY.len()).filter(|w| *w == ENTRY).count()
}

/// Generated file SD: `files` JSON files of `per_file` targets in groups of `group_size`, 4
/// labels each (env, dc, team, rack). Revision `r` of a file changes every `rack` label.
pub struct Targets {
    pub dir: PathBuf,
    pub files: usize,
    pub per_file: usize,
    pub group_size: usize,
}

impl Targets {
    pub fn total(&self) -> usize {
        self.files * self.per_file
    }

    pub fn path(&self, file: usize) -> PathBuf {
        self.dir.join(format!("targets-{file:05}.json"))
    }

    /// File `file` at `revision`.
    pub fn render(&self, file: usize, revision: u64) -> String {
        let mut out = String::with_capacity(self.per_file * 100);
        out.push('[');
        for g in 0..self.per_file / self.group_size {
            if g > 0 {
                out.push_str(",\n");
            }
            out.push_str("{\"targets\":[");
            for t in 0..self.group_size {
                if t > 0 {
                    out.push(',');
                }
                let i = file * self.per_file + g * self.group_size + t;
                out.push_str(&format!(
                    "\"10.{}.{}.{}:{}\"",
                    (i >> 16) & 255,
                    (i >> 8) & 255,
                    i & 255,
                    9100 + (i >> 24)
                ));
            }
            out.push_str(&format!(
                "],\"labels\":{{\"env\":\"{}\",\"dc\":\"dc{}\",\"team\":\"team{}\",\"rack\":\"rack{}-r{revision}\"}}}}",
                if g.is_multiple_of(4) { "staging" } else { "prod" },
                g % 3,
                g % 16,
                (file * 100 + g) % 500
            ));
        }
        out.push_str("]\n");
        out
    }

    /// Writes every file at revision 0.
    pub fn write_all(&self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        for f in 0..self.files {
            std::fs::write(self.path(f), self.render(f, 0)).unwrap();
        }
    }

    /// Replaces `file` with `revision` by rename, as deployment tools do.
    pub fn replace(&self, file: usize, revision: u64) {
        let path = self.path(file);
        let tmp = self.dir.join(format!(".targets-{file:05}.json.tmp"));
        std::fs::write(&tmp, self.render(file, revision)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// A `prometheus.yml` with one job `bench` reading these files.
    pub fn config(&self, path: &Path) {
        std::fs::write(
            path,
            format!(
                "scrape_configs:\n  - job_name: bench\n    file_sd_configs: [{{files: ['{}/*.json']}}]\n",
                self.dir.display()
            ),
        )
        .unwrap();
    }
}

/// The `q`-quantile (0..=1) of sorted `values`.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `p50 .. p90 .. p99 .. max` of `values`, in milliseconds.
pub fn summary(values: &mut [Duration]) -> String {
    values.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n={})",
        ms(quantile(values, 0.5)),
        ms(quantile(values, 0.9)),
        ms(quantile(values, 0.99)),
        ms(values.last().copied().unwrap_or_default()),
        values.len()
    )
}

/// The value of a `--name value` flag.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A duration flag in Prometheus' syntax (`90s`, `10m`), or `default`.
pub fn duration_flag(name: &str, default: &str) -> Duration {
    let text = flag(name).unwrap_or_else(|| default.to_owned());
    text.parse::<promsd::common::Duration>()
        .unwrap_or_else(|e| panic!("{name} {text}: {e}"))
        .as_std()
}

pub fn number_flag(name: &str, default: usize) -> usize {
    flag(name).map_or(default, |v| {
        v.parse().unwrap_or_else(|e| panic!("{name} {v}: {e}"))
    })
}
