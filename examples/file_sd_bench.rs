//! Release-mode harness for file SD: how much CPU the initial load of 100k targets in 100 files
//! costs, and that rewriting k of the files costs work in proportion to k, not to the 100.
//!
//! ```text
//! cargo run --release --example file_sd_bench [-- [--vs-prometheus] FILES GROUPS_PER_FILE TARGETS_PER_GROUP ROUNDS]
//! ```
//!
//! Defaults: 100 files × 10 groups × 100 targets = 100k targets, 10 rounds. CPU time is the
//! whole process's (`CLOCK_PROCESS_CPUTIME_ID`: the runtime, the blocking pool and the watcher
//! thread), measured from just before the files are touched until the discoverer has sent the
//! last expected group. Contents are rendered beforehand, so only the writes themselves (a
//! few syscalls per file) are counted besides the discoverer. Wall times include the watcher
//! debounce (50 ms) and are shown for orientation only.
//!
//! With `--vs-prometheus`, the same files and rewrites are then given to `/usr/bin/prometheus`
//! (its own file SD, targets dropped by relabeling so that nothing is scraped), and its own
//! `prometheus_sd_file_scan_duration_seconds` tells how many full scans each round caused and
//! how long they took, beside the process's CPU time (from `/proc`, 10 ms ticks).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use promsd::discovery::file::{FileMetrics, FileSdConfig, Tuning};
use promsd_actors::{Discoverer, Update};

fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Shape {
    files: usize,
    groups: usize,
    targets: usize,
}

/// File `f` in `generation` `gen`: every target differs per file and group; the first target
/// of the first group carries the generation, so each rewrite changes exactly one group.
fn render(shape: &Shape, f: usize, gen: usize) -> String {
    let mut out = String::with_capacity(shape.groups * shape.targets * 24);
    out.push('[');
    for g in 0..shape.groups {
        if g > 0 {
            out.push(',');
        }
        out.push_str("{\"targets\":[");
        for t in 0..shape.targets {
            if t > 0 {
                out.push(',');
            }
            let port = if g == 0 && t == 0 { 10000 + gen } else { 9100 };
            out.push_str(&format!("\"10.{}.{}.{}:{port}\"", f % 256, g, t % 256));
        }
        out.push_str(&format!(
            "],\"labels\":{{\"env\":\"prod\",\"dc\":\"dc{}\",\"team\":\"team{g}\",\"file\":\"f{f}\"}}}}",
            f % 3
        ));
    }
    out.push(']');
    out
}

fn write_atomically(path: &Path, content: &str) {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn next_update(stream: &mut Discoverer) -> Update {
    match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
        Ok(Some(Ok(update))) => update,
        other => panic!("unexpected discoverer item: {other:?}"),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let vs_prometheus = std::env::args().any(|a| a == "--vs-prometheus");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let shape = Shape {
        files: args.first().copied().unwrap_or(100),
        groups: args.get(1).copied().unwrap_or(10),
        targets: args.get(2).copied().unwrap_or(100),
    };
    let rounds = args.get(3).copied().unwrap_or(10);
    let total = shape.files * shape.groups * shape.targets;

    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..shape.files)
        .map(|f| dir.path().join(format!("targets-{f:04}.json")))
        .collect();
    let mut bytes = 0;
    for (f, path) in paths.iter().enumerate() {
        let content = render(&shape, f, 0);
        bytes += content.len();
        std::fs::write(path, content).unwrap();
    }
    println!(
        "file SD: {} files x {} groups x {} targets = {total} targets, {:.1} MiB of JSON",
        shape.files,
        shape.groups,
        shape.targets,
        bytes as f64 / (1 << 20) as f64
    );

    let config = FileSdConfig::new(
        vec![format!("{}/*.json", dir.path().display())],
        "5m".parse().unwrap(),
    )
    .unwrap();
    let metrics = FileMetrics::new();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut stream = config.discoverer(metrics.clone(), Tuning::default());
    let Update::Full(groups) = next_update(&mut stream).await else {
        panic!("first update must be full")
    };
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let targets: usize = groups.iter().map(|g| g.targets.len()).sum();
    assert_eq!(targets, total);
    println!(
        "initial load:  {:>8.1} ms CPU  {:>8.1} ms wall  {} files parsed, {} groups sent",
        cpu.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3,
        metrics.parsed_files(),
        groups.len()
    );
    drop(groups);

    let mut generation = 0;
    for k in [1, 10, 100] {
        let k = k.min(shape.files);
        let (mut cpus, mut walls) = (Vec::new(), Vec::new());
        let mut parsed_per_round = 0;
        let mut sent_per_round = 0;
        for round in 0..rounds {
            generation += 1;
            // Rotate through the files so that each round touches different ones.
            let chosen: Vec<usize> = (0..k).map(|i| (round * k + i) % shape.files).collect();
            let contents: Vec<String> = chosen
                .iter()
                .map(|&f| render(&shape, f, generation))
                .collect();
            let mut expected: HashSet<String> = chosen
                .iter()
                .map(|&f| format!("{}:0", paths[f].display()))
                .collect();
            let parsed_before = metrics.parsed_files();
            let (cpu0, wall0) = (cpu_time(), Instant::now());
            for (&f, content) in chosen.iter().zip(&contents) {
                write_atomically(&paths[f], content);
            }
            let mut sent = 0;
            while !expected.is_empty() {
                let Update::Changed(groups) = next_update(&mut stream).await else {
                    panic!("later updates must be changes")
                };
                sent += groups.len();
                for g in &groups {
                    expected.remove(&*g.source);
                }
            }
            cpus.push(cpu_time() - cpu0);
            walls.push(wall0.elapsed());
            parsed_per_round = metrics.parsed_files() - parsed_before;
            sent_per_round = sent;
        }
        let cpu = median(cpus);
        println!(
            "rewrite {k:>3} of {}: {:>8.2} ms CPU  {:>8.1} ms wall  (median of {rounds}; {parsed_per_round} files parsed, {sent_per_round} groups sent, {:.1} us CPU per file)",
            shape.files,
            cpu.as_secs_f64() * 1e3,
            median(walls).as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e6 / k as f64,
        );
    }
    drop(stream);

    if vs_prometheus {
        prometheus::compare(dir.path(), &paths, &shape, rounds, generation);
    }
}

/// The same files and rewrites, given to Prometheus.
mod prometheus {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::{render, write_atomically, Shape};

    /// Kills the Prometheus process it started, by its PID, however the harness ends.
    struct Guard(Child);

    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// User + system CPU time of a process.
    fn process_cpu(pid: u32) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_nanos(ticks * 1_000_000_000 / hz)
    }

    /// The value of the first sample of `/metrics` whose line starts with `series`.
    fn metric(port: u16, series: &str) -> Option<f64> {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(conn, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut body = String::new();
        conn.read_to_string(&mut body).ok()?;
        body.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    const COUNT: &str = "prometheus_sd_file_scan_duration_seconds_count";
    const SUM: &str = "prometheus_sd_file_scan_duration_seconds_sum";

    pub(super) fn compare(
        dir: &Path,
        paths: &[PathBuf],
        shape: &Shape,
        rounds: usize,
        mut generation: usize,
    ) {
        let work = tempfile::tempdir().unwrap();
        let config = work.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1h}}\n\
                 scrape_configs:\n\
                 - job_name: bench\n  \
                   file_sd_configs: [{{files: ['{}/*.json']}}]\n  \
                   relabel_configs: [{{action: drop, regex: '.*', source_labels: [__address__]}}]\n",
                dir.display()
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/bin/prometheus must be installed (Debian package prometheus)");
        let guard = Guard(child);
        let pid = guard.0.id();
        let total = shape.files * shape.groups * shape.targets;
        let discovered = "prometheus_sd_discovered_targets{config=\"bench\",name=\"scrape\"}";
        wait_for("Prometheus to discover every target", || {
            metric(port, discovered) == Some(total as f64)
        });
        let first_scan = metric(port, SUM).unwrap();
        let version = Command::new("/usr/bin/prometheus")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let version = version.split_whitespace().nth(2).unwrap_or("?");
        println!(
            "prometheus {version}: initial scan {:>8.1} ms (its own scan duration; process CPU incl. startup {:.0} ms)",
            first_scan * 1e3,
            process_cpu(pid).as_secs_f64() * 1e3
        );
        for k in [1, 10, 100] {
            let k = k.min(shape.files);
            let (mut scans, mut scan_time, mut cpu) = (0.0, 0.0, Duration::ZERO);
            for round in 0..rounds {
                generation += 1;
                let chosen: Vec<usize> = (0..k).map(|i| (round * k + i) % shape.files).collect();
                let contents: Vec<String> = chosen
                    .iter()
                    .map(|&f| render(shape, f, generation))
                    .collect();
                let (count0, sum0) = (metric(port, COUNT).unwrap(), metric(port, SUM).unwrap());
                let cpu0 = process_cpu(pid);
                for (&f, content) in chosen.iter().zip(&contents) {
                    write_atomically(&paths[f], content);
                }
                // Done when scans have happened and none came for a second.
                let mut last = (count0, Instant::now());
                wait_for("Prometheus to settle", || {
                    let count = metric(port, COUNT).unwrap();
                    if count != last.0 {
                        last = (count, Instant::now());
                    }
                    count > count0 && last.1.elapsed() > Duration::from_secs(1)
                });
                scans += metric(port, COUNT).unwrap() - count0;
                scan_time += metric(port, SUM).unwrap() - sum0;
                cpu += process_cpu(pid) - cpu0;
            }
            let n = rounds as f64;
            println!(
                "prometheus rewrite {k:>3} of {}: {:>5.1} full scans of {} files, {:>8.1} ms scanning, {:>8.1} ms process CPU (mean of {rounds}; CPU includes 1 s idle)",
                shape.files,
                scans / n,
                shape.files,
                scan_time * 1e3 / n,
                cpu.as_secs_f64() * 1e3 / n,
            );
        }
        drop(guard);
    }
}
