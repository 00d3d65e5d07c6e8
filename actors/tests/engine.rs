//! The engine's behaviour as an embedder sees it: configs applied, groups fed through channel
//! discoverers, snapshots and deltas recorded by subscribers. Time is paused (virtual), so
//! throttling and backoff are asserted on the virtual clock, never on wall-clock time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use prometheus_client::registry::Registry;
use promsd_actors::testing::{
    addresses, channel_discoverer, group, job_addresses_are, RecordingSubscriber,
};
use promsd_actors::*;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(60);

fn options(interval: Duration) -> ManagerOptions {
    ManagerOptions {
        interval,
        ..ManagerOptions::default()
    }
}

fn apply(jobs: Vec<(&str, Vec<Arc<dyn DiscoveryConfig>>)>) -> ApplyConfig {
    ApplyConfig {
        jobs: jobs
            .into_iter()
            .map(|(j, c)| (j.to_owned(), c))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn jobs_of(msg: &SyncTargets) -> Vec<String> {
    msg.snapshot.jobs().map(|(j, _)| j.to_string()).collect()
}

#[actix_rt::test]
async fn targets_flow_from_discoverer_to_subscriber() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_secs(5))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription1 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    assert!(feed.full(vec![group("g1", &["a:1", "b:2"])]));
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "job") == ["a:1", "b:2"])
    })
    .await
    .unwrap();
}

#[actix_rt::test]
async fn unchanged_config_keeps_its_provider_across_applies() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    let first = manager
        .send(apply(vec![("job", vec![config.clone()])]))
        .await
        .unwrap();
    assert_eq!(first.started.len(), 1);
    feed.full(vec![group("g", &["a:1"])]);
    let second = manager
        .send(apply(vec![("job", vec![config.clone()])]))
        .await
        .unwrap();
    assert!(second.started.is_empty());
    assert_eq!(second.kept, first.started);
    assert!(second.stopped.is_empty());
    assert_eq!(feed.starts(), 1);
    // An equal config (same identity, a different object) is the same provider too.
    let (twin, twin_feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![twin])]))
        .await
        .unwrap();
    assert_eq!(twin_feed.starts(), 0);
    assert_eq!(feed.starts(), 1);
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.job("job").unwrap().target_count(), 1);
}

#[actix_rt::test]
async fn identical_configs_in_several_jobs_share_one_provider() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription2 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (config, feed) = channel_discoverer("shared");
    let outcome = manager
        .send(apply(vec![
            ("one", vec![config.clone()]),
            ("two", vec![config.clone()]),
        ]))
        .await
        .unwrap();
    assert_eq!(outcome.started.len(), 1);
    feed.full(vec![group("g", &["x:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "one") == ["x:1"] && addresses(m, "two") == ["x:1"])
    })
    .await
    .unwrap();
    assert_eq!(feed.starts(), 1);
    let status = manager.send(GetStatus).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].jobs, vec![Str::from("one"), Str::from("two")]);
}

#[actix_rt::test]
async fn removed_jobs_and_unused_providers_vanish_from_the_next_sync() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription3 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (a, feed_a) = channel_discoverer("a");
    let (b, feed_b) = channel_discoverer("b");
    manager
        .send(apply(vec![
            ("ja", vec![a.clone()]),
            ("jb", vec![b.clone()]),
        ]))
        .await
        .unwrap();
    feed_a.full(vec![group("g", &["a:1"])]);
    feed_b.full(vec![group("g", &["b:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "jb") == ["b:1"])
    })
    .await
    .unwrap();
    let outcome = manager.send(apply(vec![("ja", vec![a])])).await.unwrap();
    assert_eq!(outcome.stopped, vec![Str::from("channel/1")]);
    let msgs = rec
        .wait_for(WAIT, |m| m.last().is_some_and(|m| jobs_of(m) == ["ja"]))
        .await
        .unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(addresses(last, "ja"), ["a:1"]);
    match &*last.delta {
        Delta::Changes { removed_jobs, .. } => assert_eq!(removed_jobs, &[Str::from("jb")]),
        other => panic!("unexpected delta {other:?}"),
    }
    // The stopped provider's stream is gone: its feed has no receiver any more.
    let deadline = Instant::now() + WAIT;
    while feed_b.full(vec![]) {
        assert!(
            Instant::now() < deadline,
            "stopped provider's stream still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A provider removed from one job but kept by another: its groups leave that job only.
    let (c, feed_c) = channel_discoverer("c");
    manager
        .send(apply(vec![
            ("ja", vec![c.clone()]),
            ("jc", vec![c.clone()]),
        ]))
        .await
        .unwrap();
    feed_c.full(vec![group("g", &["c:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "jc") == ["c:1"] && addresses(m, "ja") == ["c:1"])
    })
    .await
    .unwrap();
    manager
        .send(apply(vec![("jc", vec![c]), ("ja", vec![])]))
        .await
        .unwrap();
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "ja").is_empty() && addresses(m, "jc") == ["c:1"])
    })
    .await
    .unwrap();
    assert_eq!(feed_c.starts(), 1);
}

#[actix_rt::test]
async fn a_job_without_configs_appears_with_no_targets() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription4 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    manager.send(apply(vec![("empty", vec![])])).await.unwrap();
    let msgs = rec.wait_for(WAIT, |m| !m.is_empty()).await.unwrap();
    let job = msgs[0].snapshot.job("empty").expect("job present");
    assert_eq!(job.target_count(), 0);
    assert!(job.is_ready());
}

#[actix_rt::test]
async fn an_empty_group_removes_its_source() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription5 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    feed.full(vec![group("g1", &["a:1"]), group("g2", &["b:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "job").len() == 2)
    })
    .await
    .unwrap();
    feed.changed(vec![group("g1", &[])]);
    let msgs = rec
        .wait_for(WAIT, |m| {
            m.last().is_some_and(|m| addresses(m, "job") == ["b:1"])
        })
        .await
        .unwrap();
    let job = msgs.last().unwrap().snapshot.job("job").unwrap().clone();
    assert_eq!(job.group_count(), 1);
    // A full update replaces all groups: g2 vanishes, g3 appears.
    feed.full(vec![group("g3", &["c:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "job") == ["c:1"])
    })
    .await
    .unwrap();
}

#[actix_rt::test]
async fn first_change_is_sent_at_once_and_bursts_coalesce_per_tick() {
    tokio::time::pause();
    let interval = Duration::from_secs(5);
    let manager = ManagerActor::new(options(interval)).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription6 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (config, feed) = channel_discoverer("a");
    // Let the first tick pass so that the manager's interval is quiet.
    tokio::time::sleep(interval * 2).await;
    let t0 = Instant::now();
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    rec.wait_for(WAIT, |m| m.len() == 1).await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "the leading change waits for no tick"
    );

    for i in 0..100 {
        feed.changed(vec![group("g", &[&format!("h:{i}")])]);
    }
    let msgs = rec
        .wait_for(WAIT, |m| {
            m.last().is_some_and(|m| addresses(m, "job") == ["h:99"])
        })
        .await
        .unwrap();
    // The apply, then at most one message per tick while the burst lasts.
    assert!(
        msgs.len() <= 3,
        "{} messages for a burst of 100 changes",
        msgs.len()
    );
    assert!(t0.elapsed() <= interval, "burst delivered by the next tick");
    // After a quiet interval the next change is again sent at once.
    tokio::time::sleep(interval * 3).await;
    let before = rec.count();
    let t1 = Instant::now();
    feed.changed(vec![group("g", &["late:1"])]);
    rec.wait_for(WAIT, |m| m.len() == before + 1).await.unwrap();
    assert_eq!(t1.elapsed(), Duration::ZERO);
}

#[actix_rt::test]
async fn a_slow_subscriber_holds_one_message_and_gets_the_newest_state_after() {
    tokio::time::pause();
    let interval = Duration::from_millis(100);
    let mut registry = Registry::default();
    let metrics = ManagerMetrics::register("scrape", &mut registry);
    let manager = ManagerActor::new(ManagerOptions {
        interval,
        metrics: metrics.clone(),
        ..ManagerOptions::default()
    })
    .start();
    let (slow, slow_rec) = RecordingSubscriber::start_gated();
    let (fast, fast_rec) = RecordingSubscriber::start();
    let _subscription7 = manager
        .send(Subscribe(slow.clone().recipient()))
        .await
        .unwrap();
    let _subscription8 = manager
        .send(Subscribe(fast.clone().recipient()))
        .await
        .unwrap();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    for i in 0..20 {
        feed.changed(vec![group("g", &[&format!("h:{i}")])]);
        tokio::time::sleep(interval).await;
        fast_rec
            .wait_for(WAIT, |m| {
                m.last()
                    .is_some_and(|m| addresses(m, "job") == [format!("h:{i}")])
            })
            .await
            .unwrap();
    }
    // The fast one saw every change; the slow one holds its first message only.
    assert!(fast_rec.count() >= 20);
    assert_eq!(slow_rec.count(), 1);
    assert_eq!(
        metrics.delayed_updates.get(),
        1,
        "coalesced while in flight: counted once"
    );
    slow_rec.release(1);
    slow_rec
        .wait_for(WAIT, |m| {
            m.len() == 2 && addresses(m.last().unwrap(), "job") == ["h:19"]
        })
        .await
        .unwrap();
    slow_rec.release(100);
    tokio::time::sleep(interval * 5).await;
    assert_eq!(slow_rec.count(), 2, "nothing new to send");
}

#[actix_rt::test]
async fn a_dropped_subscriber_is_removed() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    let (sub, rec) = RecordingSubscriber::start();
    // Detached: the subscription lasts as long as the subscriber's own addresses.
    let id = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap()
        .detach();
    rec.wait_for(WAIT, |m| m.len() == 1).await.unwrap();
    assert_eq!(manager.send(CountSubscribers).await.unwrap(), 1);
    drop(sub);
    // The subscriber actor stops once no address is left; the next broadcast prunes it.
    tokio::time::sleep(Duration::from_millis(10)).await;
    feed.full(vec![group("g", &["a:1"])]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(manager.send(CountSubscribers).await.unwrap(), 0);
    // Unsubscribe works by id as well.
    let (sub2, _rec2) = RecordingSubscriber::start();
    let id2 = manager
        .send(Subscribe(sub2.clone().recipient()))
        .await
        .unwrap()
        .detach();
    assert_ne!(id, id2);
    manager.send(Unsubscribe(id2)).await.unwrap();
    assert_eq!(manager.send(CountSubscribers).await.unwrap(), 0);
}

#[actix_rt::test]
async fn a_subscription_keeps_its_subscriber_alive_until_dropped() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    // The subscriber's address is dropped at once: only the guard keeps it alive.
    let (rec, subscription) = {
        let (sub, rec) = RecordingSubscriber::start();
        let subscription = manager.send(Subscribe(sub.recipient())).await.unwrap();
        (rec, subscription)
    };
    rec.wait_for(WAIT, |m| m.len() == 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    feed.full(vec![group("g", &["a:1"])]);
    rec.wait_for(WAIT, job_addresses_are("job", &["a:1"]))
        .await
        .unwrap();
    assert_eq!(manager.send(CountSubscribers).await.unwrap(), 1);
    drop(subscription);
    // Dropping the guard unsubscribes.
    let deadline = tokio::time::Instant::now() + WAIT;
    while manager.send(CountSubscribers).await.unwrap() != 0 {
        assert!(tokio::time::Instant::now() < deadline, "still subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn updates_of_a_stale_generation_are_dropped() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    feed.full(vec![group("g", &["a:1"])]);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let status = manager.send(GetStatus).await.unwrap();
    assert_eq!(status[0].generation, 1);
    manager
        .send(GroupUpdate {
            provider: 0,
            generation: 0,
            update: Update::Full(vec![group("g", &["stale:1"])]),
        })
        .await
        .unwrap();
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    let job = snapshot.job("job").unwrap();
    let targets: Vec<_> = job.groups().flat_map(|(_, g)| g.targets.clone()).collect();
    assert_eq!(targets, vec![LabelSet::from_address("a:1")]);
    // The current generation is taken.
    manager
        .send(GroupUpdate {
            provider: 0,
            generation: 1,
            update: Update::Full(vec![group("g", &["fresh:1"])]),
        })
        .await
        .unwrap();
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.job("job").unwrap().target_count(), 1);
    let fresh = snapshot
        .job("job")
        .unwrap()
        .groups()
        .next()
        .unwrap()
        .1
        .targets[0]
        .clone();
    assert_eq!(fresh.get(ADDRESS_LABEL), Some("fresh:1"));
}

#[actix_rt::test]
async fn a_panicking_discoverer_restarts_with_backoff_and_keeps_its_state() {
    tokio::time::pause();
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(100),
        restart_backoff: Duration::from_secs(1),
        restart_backoff_max: Duration::from_secs(4),
        ..ManagerOptions::default()
    })
    .start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription9 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (bad, bad_feed) = channel_discoverer("bad");
    let (good, good_feed) = channel_discoverer("good");
    manager
        .send(apply(vec![("bad", vec![bad]), ("good", vec![good])]))
        .await
        .unwrap();
    bad_feed.full(vec![group("g", &["bad:1"])]);
    good_feed.full(vec![group("g", &["good:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "bad") == ["bad:1"] && addresses(m, "good") == ["good:1"])
    })
    .await
    .unwrap();

    let mut restarted_after = Vec::new();
    for expected_starts in 2..=5 {
        let t = Instant::now();
        assert!(bad_feed.panic());
        let deadline = Instant::now() + WAIT;
        while bad_feed.starts() < expected_starts {
            assert!(Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        restarted_after.push(t.elapsed().as_millis() / 100 * 100);
        // While restarting, the last good state stands.
        let snapshot = manager.send(GetSnapshot).await.unwrap();
        assert_eq!(snapshot.job("bad").unwrap().target_count(), 1);
    }
    // Exponential, capped at 4 s.
    assert_eq!(restarted_after, vec![1000, 2000, 4000, 4000]);
    let status = manager.send(GetStatus).await.unwrap();
    let bad = status
        .iter()
        .find(|s| s.jobs == [Str::from("bad")])
        .unwrap();
    assert_eq!(bad.restarts, 4);
    assert_eq!(bad.state, ProviderState::Running);
    let good = status
        .iter()
        .find(|s| s.jobs == [Str::from("good")])
        .unwrap();
    assert_eq!((good.restarts, good.generation), (0, 1));
    assert_eq!(good_feed.starts(), 1);
    // The restarted stream's full state replaces the old one.
    bad_feed.full(vec![group("g2", &["bad:2"])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "bad") == ["bad:2"])
    })
    .await
    .unwrap();
}

#[actix_rt::test]
async fn an_ended_stream_keeps_its_state_and_is_not_restarted() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    feed.full(vec![group("g", &["a:1"])]);
    feed.end();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(feed.starts(), 1);
    let status = manager.send(GetStatus).await.unwrap();
    assert_eq!(status[0].state, ProviderState::Ended);
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.job("job").unwrap().target_count(), 1);
}

#[actix_rt::test]
async fn an_error_item_keeps_the_state_and_is_reported() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("job", vec![config])]))
        .await
        .unwrap();
    feed.full(vec![group("g", &["a:1"])]);
    feed.fail("connection refused");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = manager.send(GetStatus).await.unwrap();
    assert_eq!(status[0].errors, 1);
    assert_eq!(
        status[0].last_error.as_ref().unwrap().message(),
        "connection refused"
    );
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.job("job").unwrap().target_count(), 1);
}

#[actix_rt::test]
async fn deltas_name_exactly_what_changed() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_millis(100))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let (a, feed_a) = channel_discoverer("a");
    let (b, feed_b) = channel_discoverer("b");
    manager
        .send(apply(vec![
            ("j1", vec![a.clone(), b.clone()]),
            ("j2", vec![b.clone()]),
        ]))
        .await
        .unwrap();
    feed_a.full(vec![group("g1", &["a:1"]), group("g2", &["a:2"])]);
    feed_b.full(vec![group("g1", &["b:1"])]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _subscription10 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let first = rec.wait_for(WAIT, |m| m.len() == 1).await.unwrap();
    assert_eq!(*first[0].delta, Delta::Full);
    assert_eq!(addresses(&first[0], "j1"), ["a:1", "a:2", "b:1"]);

    // One group of a changes, one is removed; b changes in both jobs that share it.
    feed_a.changed(vec![group("g1", &["a:9"]), group("g2", &[])]);
    feed_b.changed(vec![group("g1", &["b:9"])]);
    let msgs = rec
        .wait_for(WAIT, |m| {
            m.last().is_some_and(|m| {
                addresses(m, "j2") == ["b:9"] && addresses(m, "j1") == ["a:9", "b:9"]
            })
        })
        .await
        .unwrap();
    // Merge the deltas since the first message (there may be one or two).
    let mut changed: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    let mut removed: Vec<(String, String, String)> = Vec::new();
    for m in &msgs[1..] {
        let Delta::Changes { jobs, removed_jobs } = &*m.delta else {
            panic!("expected changes")
        };
        assert!(removed_jobs.is_empty());
        for (job, delta) in jobs {
            let JobDelta::Groups {
                changed: c,
                removed: r,
            } = delta
            else {
                panic!("expected groups")
            };
            for (k, g) in c {
                let addrs = g
                    .targets
                    .iter()
                    .map(|t| t.get(ADDRESS_LABEL).unwrap().to_owned())
                    .collect();
                changed.insert(
                    (
                        job.to_string(),
                        k.provider.to_string(),
                        k.source.to_string(),
                    ),
                    addrs,
                );
            }
            for k in r {
                removed.push((
                    job.to_string(),
                    k.provider.to_string(),
                    k.source.to_string(),
                ));
            }
        }
    }
    let key = |j: &str, p: &str, s: &str| (j.to_owned(), p.to_owned(), s.to_owned());
    assert_eq!(
        changed,
        BTreeMap::from([
            (key("j1", "channel/0", "g1"), vec!["a:9".to_owned()]),
            (key("j1", "channel/1", "g1"), vec!["b:9".to_owned()]),
            (key("j2", "channel/1", "g1"), vec!["b:9".to_owned()]),
        ])
    );
    assert_eq!(removed, vec![key("j1", "channel/0", "g2")]);

    // A new job is a reset; a removed job is listed as removed.
    let before = rec.count();
    manager
        .send(apply(vec![("j1", vec![a, b.clone()]), ("j3", vec![b])]))
        .await
        .unwrap();
    let msgs = rec.wait_for(WAIT, |m| m.len() > before).await.unwrap();
    let Delta::Changes { jobs, removed_jobs } = &*msgs.last().unwrap().delta else {
        panic!()
    };
    assert_eq!(removed_jobs, &[Str::from("j2")]);
    assert_eq!(jobs.get("j3"), Some(&JobDelta::Reset));
    assert!(!jobs.contains_key("j1"), "j1 did not change: {jobs:?}");
}

#[actix_rt::test]
async fn metrics_have_prometheus_names_and_exact_values() {
    tokio::time::pause();
    let mut registry = Registry::default();
    let metrics = ManagerMetrics::register("scrape", &mut registry);
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(100),
        metrics,
        ..ManagerOptions::default()
    })
    .start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription11 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (a, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("web", vec![a.clone()]), ("empty", vec![])]))
        .await
        .unwrap();
    feed.full(vec![group("g1", &["a:1", "a:2"]), group("g2", &["a:3"])]);
    feed.changed(vec![group("g2", &[])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "web").len() == 2)
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let line = |prefix: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    };
    assert_eq!(
        line("prometheus_sd_discovered_targets{name=\"scrape\",config=\"web\"}"),
        "prometheus_sd_discovered_targets{name=\"scrape\",config=\"web\"} 2"
    );
    assert_eq!(
        line("prometheus_sd_discovered_targets{name=\"scrape\",config=\"empty\"}"),
        "prometheus_sd_discovered_targets{name=\"scrape\",config=\"empty\"} 0"
    );
    assert_eq!(
        line("prometheus_sd_received_updates_total"),
        "prometheus_sd_received_updates_total{name=\"scrape\"} 2"
    );
    assert_eq!(
        line("prometheus_sd_failed_configs"),
        "prometheus_sd_failed_configs{name=\"scrape\"} 0"
    );
    assert_eq!(
        line("prometheus_sd_updates_total"),
        format!(
            "prometheus_sd_updates_total{{name=\"scrape\"}} {}",
            rec.count()
        )
    );
    assert!(text
        .contains("prometheus_sd_last_update_timestamp_seconds{name=\"scrape\",config=\"web\"}"));
    // A removed job's series are removed.
    manager.send(apply(vec![("empty", vec![])])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(!text.contains("config=\"web\""), "{text}");
}

/// A config whose discoverer cannot be built.
#[derive(Debug)]
struct Unbuildable;

impl DiscoveryConfig for Unbuildable {
    fn mechanism(&self) -> &'static str {
        "broken"
    }
    fn identity(&self) -> String {
        String::new()
    }
    fn build(&self, _: &BuildContext) -> Result<Discoverer, DiscoveryError> {
        Err(DiscoveryError::new("no credentials"))
    }
}

#[actix_rt::test]
async fn a_config_that_cannot_start_is_counted_and_its_job_still_appears() {
    tokio::time::pause();
    let mut registry = Registry::default();
    let metrics = ManagerMetrics::register("scrape", &mut registry);
    let manager = ManagerActor::new(ManagerOptions {
        interval: Duration::from_millis(100),
        metrics: metrics.clone(),
        ..ManagerOptions::default()
    })
    .start();
    let outcome = manager
        .send(apply(vec![("job", vec![Arc::new(Unbuildable)])]))
        .await
        .unwrap();
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].2.message(), "no credentials");
    assert_eq!(metrics.failed_configs.get(), 1);
    let snapshot = manager.send(GetSnapshot).await.unwrap();
    assert_eq!(snapshot.job("job").unwrap().target_count(), 0);
    assert!(manager.send(GetStatus).await.unwrap().is_empty());
}

#[actix_rt::test]
async fn each_providers_first_state_is_sent_without_waiting_for_a_tick() {
    tokio::time::pause();
    let interval = Duration::from_secs(5);
    let manager = ManagerActor::new(options(interval)).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription12 = manager
        .send(Subscribe(sub.clone().recipient()))
        .await
        .unwrap();
    let (a, feed_a) = channel_discoverer("a");
    let (b, feed_b) = channel_discoverer("b");
    tokio::time::sleep(interval * 2).await;
    let t0 = Instant::now();
    manager
        .send(apply(vec![("job", vec![a, b])]))
        .await
        .unwrap();
    feed_a.full(vec![group("g", &["a:1"])]);
    rec.wait_for(WAIT, |m| {
        m.last().is_some_and(|m| addresses(m, "job") == ["a:1"])
    })
    .await
    .unwrap();
    feed_b.full(vec![group("g", &["b:1"])]);
    let msgs = rec
        .wait_for(WAIT, |m| {
            m.last()
                .is_some_and(|m| addresses(m, "job") == ["a:1", "b:1"])
        })
        .await
        .unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::ZERO,
        "first states are not throttled"
    );
    assert!(msgs.last().unwrap().snapshot.job("job").unwrap().is_ready());
    assert!(!msgs[0].snapshot.job("job").unwrap().is_ready());
    // A later change in the same interval waits for the tick.
    feed_a.changed(vec![group("g", &["a:2"])]);
    rec.wait_for(WAIT, |m| {
        m.last()
            .is_some_and(|m| addresses(m, "job") == ["a:2", "b:1"])
    })
    .await
    .unwrap();
    assert!(t0.elapsed() > Duration::ZERO && t0.elapsed() <= interval);
}

#[actix_rt::test]
async fn a_snapshot_serializes_losslessly_with_every_targets_own_labels() {
    tokio::time::pause();
    let manager = ManagerActor::new(options(Duration::from_secs(5))).start();
    let (sub, rec) = RecordingSubscriber::start();
    let _subscription = manager.send(Subscribe(sub.recipient())).await.unwrap();
    let (config, feed) = channel_discoverer("a");
    manager
        .send(apply(vec![("pods", vec![config]), ("idle", vec![])]))
        .await
        .unwrap();
    feed.full(vec![TargetGroup::new(
        "ns/web",
        vec![LabelSet::from_pairs([
            ("__address__", "10.0.0.1:80"),
            ("__meta_kubernetes_pod_name", "web-1"),
        ])],
        LabelSet::from_pairs([("__meta_kubernetes_namespace", "ns")]),
    )]);
    let messages = rec
        .wait_for(WAIT, job_addresses_are("pods", &["10.0.0.1:80"]))
        .await
        .unwrap();
    let json = serde_json::to_value(&*messages.last().unwrap().snapshot).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"jobs": {
            "idle": {"ready": true, "targets": 0, "groups": []},
            "pods": {"ready": true, "targets": 1, "groups": [{
                "provider": "channel/0",
                "source": "ns/web",
                "labels": {"__meta_kubernetes_namespace": "ns"},
                "targets": [{"__address__": "10.0.0.1:80", "__meta_kubernetes_pod_name": "web-1"}],
            }]},
        }})
    );
}
