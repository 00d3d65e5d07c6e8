//! The engine from plain tokio, without actix on the caller's side (the `Engine` handle): a
//! watch of snapshots, a stream of deltas, status and shutdown, each from a `#[tokio::test]`.

use std::time::Duration;

use futures::StreamExt;
use promsd_actors::testing::{addresses, channel_discoverer, group, wait_for_status};
use promsd_actors::*;

const WAIT: Duration = Duration::from_secs(60);

fn engine() -> Engine {
    Engine::start(ManagerOptions {
        interval: Duration::from_millis(10),
        ..ManagerOptions::default()
    })
    .unwrap()
}

async fn next(updates: &mut Updates) -> SyncTargets {
    tokio::time::timeout(WAIT, updates.next())
        .await
        .expect("an update within the deadline")
        .expect("the stream is open")
}

#[tokio::test]
async fn a_plain_tokio_caller_gets_snapshots_in_a_watch_and_deltas_in_a_stream() {
    let engine = engine();
    let mut updates = engine.updates().await.unwrap();
    let (config, feed) = channel_discoverer("a");
    let outcome = engine
        .apply([("node".to_owned(), vec![config])].into())
        .await
        .unwrap();
    assert_eq!(outcome.started.len(), 1);
    assert!(feed.full(vec![group("g1", &["a:1"])]));

    // The watch: the ready snapshot has the target.
    let ready = tokio::time::timeout(WAIT, engine.ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.job("node").unwrap().target_count(), 1);

    // The stream: a full state first, then only what changed.
    let mut first = next(&mut updates).await;
    assert_eq!(*first.delta, Delta::Full);
    while addresses(&first, "node") != ["a:1"] {
        first = next(&mut updates).await;
    }
    assert!(feed.changed(vec![group("g2", &["b:2"])]));
    let second = next(&mut updates).await;
    assert_eq!(addresses(&second, "node"), ["a:1", "b:2"]);
    let Delta::Changes { jobs, removed_jobs } = &*second.delta else {
        panic!("a delta after the first item: {:?}", second.delta);
    };
    assert!(removed_jobs.is_empty());
    let JobDelta::Groups { changed, removed } = &jobs["node"] else {
        panic!("group changes: {:?}", jobs["node"]);
    };
    assert!(removed.is_empty());
    assert_eq!(changed.len(), 1);
    assert_eq!(&*changed[0].0.source, "g2");

    let mut watch = engine.snapshots();
    let latest = watch
        .wait_for(|s| s.target_count() == 2)
        .await
        .unwrap()
        .clone();
    assert_eq!(engine.snapshot().target_count(), latest.target_count());
    engine.shutdown().await;
}

#[tokio::test]
async fn dropping_the_stream_unsubscribes_and_shutdown_ends_it() {
    let engine = engine();
    let subscribers = || async { engine.manager().send(CountSubscribers).await.unwrap() };
    // The engine's own watch is one subscriber.
    assert_eq!(subscribers().await, 1);
    let updates = engine.updates().await.unwrap();
    assert_eq!(subscribers().await, 2);
    drop(updates);
    // Unsubscribe was queued before this question, in the same mailbox.
    assert_eq!(subscribers().await, 1);

    let mut updates = engine.updates().await.unwrap();
    engine
        .apply([("j".to_owned(), vec![])].into())
        .await
        .unwrap();
    engine.shutdown().await;
    let drained =
        tokio::time::timeout(WAIT, async { while updates.next().await.is_some() {} }).await;
    assert!(drained.is_ok(), "the stream ends when the engine stops");
}

#[tokio::test]
async fn a_test_awaits_a_recorded_provider_error_with_a_deadline() {
    let engine = engine();
    let (config, feed) = channel_discoverer("failing");
    engine
        .apply([("j".to_owned(), vec![config])].into())
        .await
        .unwrap();
    assert!(feed.fail("connection refused"));
    let statuses = wait_for_status(engine.manager(), WAIT, |s| {
        s.iter().any(|p| {
            p.last_error
                .as_ref()
                .is_some_and(|e| e.message() == "connection refused")
        })
    })
    .await
    .unwrap();
    assert_eq!(statuses[0].errors, 1);
    assert_eq!(statuses[0].mechanism, "channel");
    engine.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_status_that_never_comes_fails_at_the_deadline_with_what_was_seen() {
    let engine = engine();
    let (config, _feed) = channel_discoverer("quiet");
    engine
        .apply([("j".to_owned(), vec![config])].into())
        .await
        .unwrap();
    let error = wait_for_status(engine.manager(), Duration::from_secs(30), |s| {
        s.iter().any(|p| p.errors > 0)
    })
    .await
    .unwrap_err();
    assert!(error.contains("not met within 30s"), "{error}");
    assert!(error.contains("channel/0"), "{error}");
    engine.shutdown().await;
}
