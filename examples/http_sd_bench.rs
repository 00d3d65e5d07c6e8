//! Release harness: what an unchanged HTTP SD body of 100k targets costs per refresh.
//!
//! An in-process HTTP server on 127.0.0.1 serves a 100k-target body (1,000 groups of 100); an
//! HTTP SD discoverer refreshes it every 20 ms. After the first (full) refresh, every answer is
//! the same body, once without an ETag (promsd hashes the body and skips parsing) and once with
//! one (the server answers 304). The figure is the process CPU time per refresh, server
//! included, so it is an upper bound of promsd's own cost.
//!
//! Run: `cargo run --release --example http_sd_bench`

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures::StreamExt;
use promsd::discovery::http::HttpSdConfig;
use promsd_actors::{BuildContext, DiscoveryConfig, RefreshMetrics};

fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

struct Served {
    body: Arc<String>,
    etag: AtomicBool,
    requests: AtomicUsize,
}

async fn serve(req: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    served.requests.fetch_add(1, Ordering::SeqCst);
    if served.etag.load(Ordering::SeqCst) {
        if req
            .headers()
            .get("if-none-match")
            .is_some_and(|v| v == "\"v1\"")
        {
            return HttpResponse::NotModified().finish();
        }
        return HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("ETag", "\"v1\""))
            .body(served.body.as_str().to_owned());
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body(served.body.as_str().to_owned())
}

fn main() {
    let groups: Vec<String> = (0..1000)
        .map(|g| {
            let targets: Vec<String> = (0..100).map(|t| format!("\"10.{}.{}.{}:9100\"", g / 256, g % 256, t)).collect();
            format!(r#"{{"targets":[{}],"labels":{{"env":"prod","team":"t{}","rack":"r{}","zone":"z{}"}}}}"#, targets.join(","), g % 7, g % 13, g % 3)
        })
        .collect();
    let body = Arc::new(format!("[{}]", groups.join(",")));
    println!("body: {} bytes, 100000 targets", body.len());
    let served = web::Data::new(Served {
        body,
        etag: AtomicBool::new(false),
        requests: AtomicUsize::new(0),
    });

    actix_rt::System::new().block_on(async move {
        let data = served.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/sd", web::get().to(serve))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        actix_rt::spawn(server.run());
        let config: HttpSdConfig =
            serde_yaml::from_str(&format!("url: http://{addr}/sd\nrefresh_interval: 20ms\n"))
                .unwrap();
        let ctx = BuildContext {
            provider: "http/0".into(),
            config_name: "bench".into(),
            refresh_metrics: RefreshMetrics::default(),
        };
        let mut stream = config.build(&ctx).unwrap();
        let t0 = cpu_seconds();
        let first = stream.next().await.unwrap().unwrap();
        println!(
            "first refresh: {} groups, {:.1} ms CPU (fetch + parse)",
            first.groups().len(),
            (cpu_seconds() - t0) * 1e3
        );
        // The discoverer must keep being polled for refreshes to happen.
        let polled = actix_rt::spawn(async move {
            if let Some(item) = stream.next().await {
                panic!(
                    "an unchanged body sent an item: {:?}",
                    item.map(|u| u.groups().len())
                );
            }
        });
        for (mode, etag) in [("same body, no ETag (hash)", false), ("ETag, 304", true)] {
            served.etag.store(etag, Ordering::SeqCst);
            actix_rt::time::sleep(Duration::from_millis(200)).await;
            let (r0, c0) = (served.requests.load(Ordering::SeqCst), cpu_seconds());
            actix_rt::time::sleep(Duration::from_secs(5)).await;
            let (r1, c1) = (served.requests.load(Ordering::SeqCst), cpu_seconds());
            let refreshes = r1 - r0;
            println!(
                "{mode}: {refreshes} refreshes, {:.3} ms CPU per refresh (server included)",
                (c1 - c0) * 1e3 / refreshes as f64
            );
        }
        polled.abort();
    });
}
