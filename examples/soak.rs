//! Release-mode soak of the daemon (issue #8): `promsd run` with one job of 1M file SD targets
//! (100 files of 100 groups of 100 targets: DESIGN.md's 10k groups of 100), 10 % of the files
//! replaced every 5 s, one fast and one slow HTTP SD consumer, for 10 minutes.
//!
//! ```text
//! cargo run --release --example soak [-- --targets 1000000 --duration 10m --every 5s
//!     --fraction 0.1 --slow-rate 8 --promsd PATH]
//! ```
//!
//! - Churn: every `--every`, `--fraction` of the files are replaced by rename; each replaced
//!   file's targets all change (the `rack` label carries the file's revision).
//! - Fast consumer: polls shard 0 of 10 (100k targets) every second with `If-None-Match`.
//! - Slow consumer: reads the whole job's body (~400 MiB) at `--slow-rate` MiB/s, again and
//!   again, so that it holds an old body while several changes go by.
//! - RSS and CPU time of promsd are sampled every 5 s and printed every minute: RSS must stay
//!   flat (the figures of the last minutes against the first).
//! - At the end, churn stops; after three quiet intervals the whole body, as a fresh request
//!   and as the slow consumer's next read, must hold every target exactly once with the `rack`
//!   revision last written to its file.
//!
//! Every wait is bounded; the daemon is stopped by its PID and the files removed.

#[path = "harness/mod.rs"]
mod harness;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use harness::*;
use reqwest::header::{ETAG, IF_NONE_MATCH};

/// Checks that `body` holds every target of `targets` exactly once, with the revision last
/// written to its file; the number of targets.
fn verify(body: &[u8], targets: &Targets, revisions: &[u64]) -> Result<usize, String> {
    const START: &[u8] = b"{\"targets\":[\"";
    const RACK: &[u8] = b"\"rack\":\"";
    let find = |from: usize, what: &[u8]| {
        body[from..]
            .windows(what.len())
            .position(|w| w == what)
            .map(|p| from + p)
    };
    let mut seen = vec![false; targets.total()];
    let mut at = 0;
    let mut count = 0;
    while let Some(start) = find(at, START) {
        let address_start = start + START.len();
        let address_end = find(address_start, b"\"").ok_or("unterminated address")?;
        let address =
            std::str::from_utf8(&body[address_start..address_end]).map_err(|e| e.to_string())?;
        let (ip, port) = address
            .rsplit_once(':')
            .ok_or(format!("no port in {address}"))?;
        let octets: Vec<usize> = ip.split('.').map(|o| o.parse().unwrap_or(0)).collect();
        let port: usize = port.parse().map_err(|_| format!("bad port in {address}"))?;
        let i = ((port - 9100) << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3];
        if i >= seen.len() || std::mem::replace(&mut seen[i], true) {
            return Err(format!("target {address} unknown or listed twice"));
        }
        let rack_start = find(address_end, RACK).ok_or("no rack label")? + RACK.len();
        let rack_end = find(rack_start, b"\"").ok_or("unterminated rack")?;
        let rack = std::str::from_utf8(&body[rack_start..rack_end]).map_err(|e| e.to_string())?;
        let file = i / targets.per_file;
        let expected = format!("-r{}", revisions[file]);
        if !rack.ends_with(&expected) {
            return Err(format!(
                "{address} (file {file}) has rack {rack}; last written revision {}",
                revisions[file]
            ));
        }
        count += 1;
        at = rack_end;
    }
    if count != targets.total() {
        return Err(format!("{count} targets of {}", targets.total()));
    }
    Ok(count)
}

/// Counts entries in a body read in pieces.
#[derive(Default)]
struct EntryCounter {
    carry: Vec<u8>,
    count: usize,
}

impl EntryCounter {
    const ENTRY: &'static [u8] = b"{\"targets\":[";

    fn feed(&mut self, chunk: &[u8]) {
        self.carry.extend_from_slice(chunk);
        self.count += count_targets(&self.carry);
        let keep = self.carry.len().min(Self::ENTRY.len() - 1);
        self.carry.drain(..self.carry.len() - keep);
    }
}

struct Sample {
    at: Duration,
    rss_mib: f64,
    cpu: Duration,
}

fn main() {
    let n = number_flag("--targets", 1_000_000);
    let duration = duration_flag("--duration", "10m");
    let every = duration_flag("--every", "5s");
    let fraction: f64 = flag("--fraction").map_or(0.1, |f| f.parse().expect("--fraction"));
    let slow_rate = number_flag("--slow-rate", 8) as f64 * (1 << 20) as f64;
    assert!(
        n.is_multiple_of(10_000) && n > 0,
        "--targets must be a multiple of 10000"
    );
    let binary = promsd_binary(flag("--promsd").as_deref());

    let work = tempfile::tempdir().unwrap();
    let targets = Targets {
        dir: work.path().join("targets"),
        files: 100,
        per_file: n / 100,
        group_size: 100,
    };
    targets.write_all();
    let config = work.path().join("prometheus.yml");
    targets.config(&config);
    let per_round = ((targets.files as f64 * fraction).round() as usize).max(1);
    println!(
        "soak: {n} targets in {} files of {} groups of 100; {per_round} files ({} targets) replaced every {every:?} for {duration:?}; load average {}",
        targets.files,
        targets.per_file / 100,
        per_round * targets.per_file,
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').next().unwrap_or("?")
    );

    let started = Instant::now();
    let mut daemon = Daemon::start(&binary, &config, work.path(), &[]);
    let port = daemon.port;
    wait_for("every target served", Duration::from_secs(600), || {
        daemon.check_alive();
        let (status, _, body) = http_get(port, "/api/v1/sd/bench", &[])?;
        (status == 200 && count_targets(&body) == n).then_some(())
    });
    println!(
        "start: every target served after {:.2} s; promsd CPU {:.2} s, RSS {:.0} MiB (peak {:.0} MiB)",
        started.elapsed().as_secs_f64(),
        daemon.cpu().as_secs_f64(),
        daemon.rss_mib(),
        daemon.peak_mib()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(4))
        .timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/v1/sd/bench");
    let revisions: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(vec![0; targets.files]));
    let stop = Rc::new(Cell::new(false));
    let quiet = Rc::new(Cell::new(false));

    runtime.block_on(async {
        let local = tokio::task::LocalSet::new();

        // Fast consumer: shard 0 of 10, every second.
        let fast = {
            let (client, stop) = (client.clone(), stop.clone());
            let url = format!("{base}?shard=0&shards=10");
            local.spawn_local(async move {
                let (mut polls, mut changes, mut errors) = (0usize, 0usize, 0usize);
                let mut etag: Option<String> = None;
                let mut latencies = Vec::new();
                while !stop.get() {
                    let t = Instant::now();
                    let mut request = client.get(&url);
                    if let Some(etag) = &etag {
                        request = request.header(IF_NONE_MATCH, etag.as_str());
                    }
                    match request.send().await {
                        Ok(response) if response.status() == 304 => {}
                        Ok(response) if response.status() == 200 => {
                            etag = response
                                .headers()
                                .get(ETAG)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            match response.bytes().await {
                                Ok(_) => changes += 1,
                                Err(_) => errors += 1,
                            }
                        }
                        _ => errors += 1,
                    }
                    latencies.push(t.elapsed());
                    polls += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                (polls, changes, errors, latencies)
            })
        };

        // Slow consumer: the whole body at a bounded rate, again and again; the first read that
        // starts after churn has stopped is checked, and is its last.
        let slow = {
            let (client, quiet, revisions) = (client.clone(), quiet.clone(), revisions.clone());
            let url = base.clone();
            let targets = Targets {
                dir: targets.dir.clone(),
                ..targets
            };
            local.spawn_local(async move {
                let (mut bodies, mut errors) = (0usize, 0usize);
                let mut durations = Vec::new();
                let checked = loop {
                    let last = quiet.get();
                    let t = Instant::now();
                    let mut counter = EntryCounter::default();
                    let mut whole = Vec::new();
                    let mut read = 0usize;
                    let result = async {
                        let mut response = client.get(&url).send().await?;
                        while let Some(chunk) = response.chunk().await? {
                            read += chunk.len();
                            counter.feed(&chunk);
                            if last {
                                whole.extend_from_slice(&chunk);
                            }
                            let due = Duration::from_secs_f64(read as f64 / slow_rate);
                            if let Some(wait) = due.checked_sub(t.elapsed()) {
                                tokio::time::sleep(wait).await;
                            }
                        }
                        Ok::<_, reqwest::Error>(())
                    }
                    .await;
                    match result {
                        Ok(()) if counter.count == n => {
                            bodies += 1;
                            durations.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                    if last {
                        break verify(&whole, &targets, &revisions.borrow());
                    }
                };
                (bodies, errors, durations, checked)
            })
        };

        let mut samples: Vec<Sample> = Vec::new();
        let (cpu0, t0) = (daemon.cpu(), Instant::now());
        let mut rounds = 0usize;
        local
            .run_until(async {
                let mut next_round = Instant::now() + every;
                let mut next_sample = Instant::now();
                let mut next_print = Instant::now() + Duration::from_secs(60);
                while t0.elapsed() < duration {
                    let now = Instant::now();
                    if now >= next_sample {
                        daemon.check_alive();
                        samples.push(Sample {
                            at: t0.elapsed(),
                            rss_mib: daemon.rss_mib(),
                            cpu: daemon.cpu() - cpu0,
                        });
                        next_sample += Duration::from_secs(5);
                    }
                    if now >= next_print {
                        let s = samples.last().unwrap();
                        println!(
                            "  {:>5.0} s: RSS {:>6.0} MiB, promsd CPU {:>7.1} s ({:.0} % of one core), {rounds} rounds",
                            s.at.as_secs_f64(),
                            s.rss_mib,
                            s.cpu.as_secs_f64(),
                            100.0 * s.cpu.as_secs_f64() / s.at.as_secs_f64()
                        );
                        next_print += Duration::from_secs(60);
                    }
                    if now >= next_round {
                        let mut revisions = revisions.borrow_mut();
                        for k in 0..per_round {
                            let file = (rounds * per_round + k) % targets.files;
                            revisions[file] += 1;
                            targets.replace(file, revisions[file]);
                        }
                        rounds += 1;
                        next_round += every;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Quiet: the last changes reach the view.
                tokio::time::sleep(3 * every.max(Duration::from_secs(5))).await;
                quiet.set(true);
                let response = client.get(&base).send().await.expect("final body");
                assert_eq!(response.status(), 200);
                let body = response.bytes().await.expect("final body");
                let fresh = verify(&body, &targets, &revisions.borrow());
                drop(body);
                stop.set(true);
                let (polls, changes, fast_errors, mut latencies) = fast.await.unwrap();
                let (bodies, slow_errors, mut durations, checked) = tokio::time::timeout(
                    Duration::from_secs_f64(600.0 + 2.0 * 450e6 / slow_rate),
                    slow,
                )
                .await
                .expect("the slow consumer finishes its reads")
                .unwrap();

                let elapsed = t0.elapsed();
                let cpu = daemon.cpu() - cpu0;
                println!("after {:.0} s, {rounds} rounds of churn:", elapsed.as_secs_f64());
                println!(
                    "  promsd CPU {:.1} s ({:.0} % of one core); RSS now {:.0} MiB, peak {:.0} MiB",
                    cpu.as_secs_f64(),
                    100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
                    daemon.rss_mib(),
                    daemon.peak_mib()
                );
                let minute = |from: f64, to: f64| {
                    let window: Vec<f64> = samples
                        .iter()
                        .filter(|s| (from..to).contains(&s.at.as_secs_f64()))
                        .map(|s| s.rss_mib)
                        .collect();
                    let max = window.iter().copied().fold(0.0, f64::max);
                    let min = window.iter().copied().fold(f64::INFINITY, f64::min);
                    (min, max)
                };
                let span = duration.as_secs_f64();
                let first = minute(0.0, (span / 3.0).max(5.0));
                let last = minute(span * 2.0 / 3.0, span + 1.0);
                println!(
                    "  RSS over time: first third {:.0}..{:.0} MiB, last third {:.0}..{:.0} MiB ({:+.1} % max to max)",
                    first.0,
                    first.1,
                    last.0,
                    last.1,
                    100.0 * (last.1 - first.1) / first.1
                );
                println!(
                    "  fast consumer: {polls} polls, {changes} new bodies, {fast_errors} errors; latency {}",
                    summary(&mut latencies)
                );
                println!(
                    "  slow consumer ({:.0} MiB/s): {bodies} whole bodies, {slow_errors} errors; read time {}",
                    slow_rate / (1 << 20) as f64,
                    summary(&mut durations)
                );
                println!("  final state, fresh request: {fresh:?}");
                println!("  final state, slow consumer's last read: {checked:?}");
                assert_eq!(fast_errors + slow_errors, 0, "consumers saw errors");
                assert_eq!(fresh, Ok(n), "the final state served is the last written");
                assert_eq!(checked, Ok(n), "the slow consumer's last read is the last written");
            })
            .await;
    });
}
