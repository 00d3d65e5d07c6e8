//! Throttling through `promsd run`: EC2 answering `RequestLimitExceeded` (503, EC2's XML error)
//! keeps the last good targets in the HTTP SD output; the next good answer replaces them.

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::fixture::*;
use crate::support::{free_port, get_ok, wait_for};

const AK: &str = "AKIDTHROTTLE";
const SK: &str = "throttle-secret";

fn instances(n: usize) -> String {
    let items: String = (0..n)
        .map(|i| format!("<item><instanceId>i-{i}</instanceId><imageId>ami</imageId><instanceState><name>running</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>us-east-1a</availabilityZone></placement><privateIpAddress>10.0.0.{i}</privateIpAddress></item>"))
        .collect();
    format!("<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><reservationSet><item><ownerId>1</ownerId><instancesSet>{items}</instancesSet></item></reservationSet></DescribeInstancesResponse>")
}

fn serving(n: usize) -> Responder {
    Arc::new(move |call: &Call| {
        match call.action() {
        "DescribeInstances" => xml(instances(n)),
        _ => xml("<DescribeAvailabilityZonesResponse><availabilityZoneInfo/></DescribeAvailabilityZonesResponse>".into()),
    }
    })
}

struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn targets(port: u16) -> Option<usize> {
    let body = get_ok(port, "/api/v1/sd/ec2")?;
    let groups: Vec<serde_json::Value> = serde_json::from_str(&body).ok()?;
    Some(
        groups
            .iter()
            .map(|g| g["targets"].as_array().map_or(0, Vec::len))
            .sum(),
    )
}

#[test]
fn throttled_refresh_keeps_the_last_good_targets() {
    let f = Fixture::start(&[(AK, SK)], serving(2));
    let dir = ConfigDir::new(&format!(
        "scrape_configs:\n  - job_name: ec2\n    ec2_sd_configs:\n      - region: us-east-1\n        endpoint: {}\n        access_key: {AK}\n        secret_key: {SK}\n        refresh_interval: 1s\n",
        f.url
    ));
    let port = free_port();
    let child = clean_command(env!("CARGO_BIN_EXE_promsd"), dir.dir.path(), &[])
        .args(["run", "--config.file"])
        .arg(dir.config())
        .args([
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--discovery.update-interval",
            "200ms",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _daemon = Daemon(child);
    wait_for("the first two targets", || {
        (targets(port)? == 2).then_some(())
    });

    let throttled = Arc::new(AtomicUsize::new(0));
    let seen = throttled.clone();
    f.set_responder(Arc::new(move |_call: &Call| {
        seen.fetch_add(1, Ordering::SeqCst);
        (
            503,
            "text/xml;charset=UTF-8",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>".into(),
        )
    }));
    wait_for("two throttled refreshes", || {
        (throttled.load(Ordering::SeqCst) >= 2).then_some(())
    });
    assert_eq!(targets(port), Some(2), "the last good state stands");

    f.set_responder(serving(3));
    wait_for("the three targets after throttling", || {
        (targets(port)? == 3).then_some(())
    });
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
}
