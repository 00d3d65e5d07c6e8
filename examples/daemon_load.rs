//! Release-mode harness for the daemon's serving figures (issue #8): `promsd run` with one job
//! of 100k file SD targets, measured from outside over loopback HTTP.
//!
//! ```text
//! cargo run --release --example daemon_load [-- --targets 100000 --consumers 1000 --period 5s
//!     --duration 60s --change-every 15s --promsd PATH]
//! ```
//!
//! 1. Start: from spawning the daemon until `GET /api/v1/sd/bench` lists every target.
//! 2. The full body of the job: the first request after a change (which assembles the body:
//!    entries in identity order and the ETag) and 20 more (served from the cache), each timed
//!    from sending the request to reading the last byte, on a kept-alive connection.
//!    Target: < 100 ms.
//! 3. 304: 2,000 sequential requests with the current ETag in `If-None-Match`. Target: < 1 ms.
//! 4. Consumers: `--consumers` shards of the job (`?shard=i&shards=n`), each polled by its own
//!    consumer every `--period` with `If-None-Match`, starts spread evenly over one period, for
//!    `--duration`; one file (1 % of the targets) is replaced every `--change-every`, so bodies
//!    change under load. Every request's latency and status is recorded; any status other than
//!    200 or 304, or any transport error, is an error (there must be none). Changes stop two
//!    periods before the end, and then the targets of the consumers' last bodies must add up to
//!    the job's. promsd's CPU time and RSS (sampled every second) over the run are reported.
//!
//! Consumers drop idle connections after 4 s: the daemon closes a connection idle for 5 s
//! (actix-web's default), and a poll racing that close would fail for a reason that is not
//! promsd's. The load generator shares the machine's cores with promsd: its own CPU time is
//! reported too.

#[path = "harness/mod.rs"]
mod harness;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use harness::*;
use reqwest::header::{ETAG, IF_NONE_MATCH};

struct Poll {
    latency: Duration,
    status: Option<u16>,
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    etag: Option<&str>,
) -> (Poll, Option<(String, Vec<u8>)>) {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let result = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, etag, body))
    }
    .await;
    let latency = started.elapsed();
    match result {
        Ok((status, etag, body)) => {
            let fresh = (status == 200).then(|| (etag.unwrap_or_default(), body.to_vec()));
            (
                Poll {
                    latency,
                    status: Some(status),
                },
                fresh,
            )
        }
        Err(error) => {
            eprintln!("request failed: {error}");
            (
                Poll {
                    latency,
                    status: None,
                },
                None,
            )
        }
    }
}

fn main() {
    let n = number_flag("--targets", 100_000);
    let consumers = number_flag("--consumers", 1000);
    let period = duration_flag("--period", "5s");
    let duration = duration_flag("--duration", "60s");
    let change_every = duration_flag("--change-every", "15s");
    assert!(
        n.is_multiple_of(1000) && n > 0,
        "--targets must be a multiple of 1000"
    );
    let binary = promsd_binary(flag("--promsd").as_deref());

    let work = tempfile::tempdir().unwrap();
    let targets = Targets {
        dir: work.path().join("targets"),
        files: n / 1000,
        per_file: 1000,
        group_size: 10,
    };
    targets.write_all();
    let config = work.path().join("prometheus.yml");
    targets.config(&config);
    println!(
        "daemon_load: {n} targets in {} files (groups of 10, 4 labels); {} on {} cores (shared machine; load average {})",
        targets.files,
        binary.display(),
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').next().unwrap_or("?")
    );

    let started = Instant::now();
    let mut daemon = Daemon::start(&binary, &config, work.path(), &[]);
    let port = daemon.port;
    let url = format!("http://127.0.0.1:{port}/api/v1/sd/bench");
    let (etag, body) = wait_for("every target served", Duration::from_secs(300), || {
        daemon.check_alive();
        let (status, headers, body) = http_get(port, "/api/v1/sd/bench", &[])?;
        (status == 200 && count_targets(&body) == n).then(|| {
            let etag = headers
                .into_iter()
                .find(|(k, _)| k == "etag")
                .map(|(_, v)| v);
            (etag.expect("an ETag"), body)
        })
    });
    println!(
        "start: every target served after {:.3} s; promsd CPU {:.2} s, RSS {:.0} MiB (peak {:.0} MiB); body {:.1} MiB",
        started.elapsed().as_secs_f64(),
        daemon.cpu().as_secs_f64(),
        daemon.rss_mib(),
        daemon.peak_mib(),
        body.len() as f64 / (1 << 20) as f64
    );
    drop(body);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(4))
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    runtime.block_on(async {
        // The full body: first after a change, then cached.
        let mut revision = 0u64;
        let mut etag = etag;
        revision += 1;
        targets.replace(0, revision);
        let first = loop {
            let (poll, fresh) = get(&client, &url, Some(&etag)).await;
            assert!(poll.status.is_some(), "full body request failed");
            if let Some((new_etag, body)) = fresh {
                assert_eq!(count_targets(&body), n);
                etag = new_etag;
                break poll.latency;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut cached = Vec::new();
        for _ in 0..20 {
            let (poll, fresh) = get(&client, &url, None).await;
            assert_eq!(poll.status, Some(200));
            assert_eq!(fresh.map(|(_, b)| count_targets(&b)), Some(n));
            cached.push(poll.latency);
        }
        println!(
            "full body ({n} targets): first after a change {:.1} ms (assembly + transfer); cached: {}",
            first.as_secs_f64() * 1e3,
            summary(&mut cached)
        );

        // 304s.
        let mut not_modified = Vec::new();
        for _ in 0..2000 {
            let (poll, _) = get(&client, &url, Some(&etag)).await;
            assert_eq!(poll.status, Some(304));
            not_modified.push(poll.latency);
        }
        println!("304 (If-None-Match, kept-alive connection): {}", summary(&mut not_modified));

        // Consumers.
        let polls: Rc<RefCell<Vec<Poll>>> = Rc::default();
        let last_counts: Rc<RefCell<Vec<usize>>> = Rc::new(RefCell::new(vec![0; consumers]));
        let load_start = Instant::now();
        let end = load_start + duration;
        let (cpu0, harness_cpu0) = (daemon.cpu(), process_cpu(std::process::id()));
        let local = tokio::task::LocalSet::new();
        let mut tasks = Vec::new();
        for shard in 0..consumers {
            let (client, polls, last_counts) = (client.clone(), polls.clone(), last_counts.clone());
            let url = format!("{url}?shard={shard}&shards={consumers}");
            let offset = period.mul_f64(shard as f64 / consumers as f64);
            tasks.push(local.spawn_local(async move {
                let mut next = tokio::time::Instant::from_std(load_start + offset);
                let mut etag: Option<String> = None;
                while next.into_std() < end {
                    tokio::time::sleep_until(next).await;
                    next += period;
                    let (poll, fresh) = get(&client, &url, etag.as_deref()).await;
                    if let Some((new_etag, body)) = fresh {
                        etag = Some(new_etag);
                        last_counts.borrow_mut()[shard] = count_targets(&body);
                    }
                    polls.borrow_mut().push(poll);
                }
            }));
        }
        let mut rss_max: f64 = daemon.rss_mib();
        let rss_start = rss_max;
        let mut changes = 0;
        let changes_stop = end - 2 * period;
        local
            .run_until(async {
                let mut next_change = Instant::now() + change_every;
                while Instant::now() < end + period {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    daemon.check_alive();
                    rss_max = rss_max.max(daemon.rss_mib());
                    if Instant::now() >= next_change && Instant::now() < changes_stop {
                        revision += 1;
                        targets.replace(1 + changes % (targets.files - 1).max(1), revision);
                        changes += 1;
                        next_change += change_every;
                    }
                }
                for task in tasks {
                    task.await.unwrap();
                }
            })
            .await;
        let elapsed = load_start.elapsed();
        let cpu = daemon.cpu() - cpu0;
        let harness_cpu = process_cpu(std::process::id()) - harness_cpu0;
        let polls = polls.borrow();
        let errors = polls.iter().filter(|p| !matches!(p.status, Some(200 | 304))).count();
        let mut all: Vec<Duration> = polls.iter().map(|p| p.latency).collect();
        let mut ok: Vec<Duration> = polls.iter().filter(|p| p.status == Some(200)).map(|p| p.latency).collect();
        let mut nm: Vec<Duration> = polls.iter().filter(|p| p.status == Some(304)).map(|p| p.latency).collect();
        let served: usize = last_counts.borrow().iter().sum();
        println!(
            "{consumers} consumers (shard i of {consumers}, one poll each every {period:?} with If-None-Match) for {duration:?}, {changes} changes of 1,000 targets:"
        );
        println!(
            "  requests {} ({} x 200, {} x 304), errors {errors}",
            polls.len(),
            ok.len(),
            nm.len()
        );
        println!("  latency, all: {}", summary(&mut all));
        println!("  latency, 200: {}", summary(&mut ok));
        println!("  latency, 304: {}", summary(&mut nm));
        println!(
            "  promsd CPU {:.2} s over {:.1} s ({:.1} % of one core); RSS {rss_start:.0} MiB at start, {rss_max:.0} MiB max, {:.0} MiB at end; load generator CPU {:.2} s",
            cpu.as_secs_f64(),
            elapsed.as_secs_f64(),
            100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64(),
            daemon.rss_mib(),
            harness_cpu.as_secs_f64()
        );
        println!("  targets in the consumers' last bodies: {served} of {n}");
        assert_eq!(errors, 0, "every request must succeed");
        assert_eq!(served, n, "the shards' last bodies must hold every target once");
    });
}
