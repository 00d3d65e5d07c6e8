//! `promsd run`: the engine, the targets pipeline and the HTTP server in one actix system.
//!
//! The config file becomes a [`Plan`] (the engine's jobs and the pipeline's settings per job)
//! through a [`Planner`]. Reloading (SIGHUP or `POST /-/reload`) plans again off the actors'
//! thread; a config that fails is rejected with its error and the running one stays. SIGTERM and
//! SIGINT stop the server gracefully, then the engine.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use actix_web::{web, App, HttpServer};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use promsd_actors::{
    ApplyConfig, DiscoveryConfig, ManagerActor, ManagerMetrics, ManagerOptions, RefreshMetrics,
    Str, Subscribe,
};
use std::sync::atomic::AtomicU64;

use crate::server::pipeline::{OnJobChange, SetJobs};
use crate::server::process_metrics::ProcessCollector;
use crate::server::state_file::{self, StateSaver};
use crate::server::{
    file_sd_output, AppState, ConfigSlot, JobPipeline, Reload, RunningConfig, SharedView,
    TargetsPipeline,
};

/// What one config file means to the daemon.
pub struct Plan {
    /// The engine's input: job → discovery configs.
    pub jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>>,
    /// How each job's targets are populated and relabeled.
    pub pipelines: HashMap<Str, JobPipeline>,
    /// The config as the status API and relabel traces show it, once it is applied.
    pub running: Option<Arc<dyn RunningConfig>>,
    /// The `notify` manager's input: `config-N` → the discovery configs of Alertmanager set N.
    pub notify_jobs: BTreeMap<String, Vec<Arc<dyn DiscoveryConfig>>>,
    /// The Alertmanager sets, in the order of `alerting.alertmanagers`.
    pub alertmanagers: Vec<crate::notify::AlertmanagerSet>,
}

/// Reads and plans a config file; the error is shown to the user as is.
pub type Planner = Arc<dyn Fn(&Path) -> Result<Plan, String> + Send + Sync>;

/// Registers every mechanism's own metrics in the daemon's registry.
pub type MetricsRegistrar = fn(&mut Registry);

/// `promsd run`'s settings.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub config_file: PathBuf,
    pub listen_address: String,
    pub file_sd_dir: Option<PathBuf>,
    pub file_sd_shards: Option<u32>,
    /// Minimum time between two target updates after the first (Prometheus' 5 s).
    pub sd_interval: Duration,
    /// `/-/ready` answers ready after this even if some provider has not answered.
    pub ready_timeout: Duration,
    /// Warm start: where the last good state is kept and read back at start.
    pub state_file: Option<PathBuf>,
    /// `--web.config.file`: TLS, basic auth and headers (exporter-toolkit's format).
    pub web_config_file: Option<PathBuf>,
    /// `--web.enable-lifecycle`: allow `POST`/`PUT /-/reload`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`: allow `POST /api/v1/diff`.
    pub enable_admin_api: bool,
}

#[derive(Clone, Default)]
struct ReloadMetrics {
    successful: Gauge,
    success_time: Gauge<f64, AtomicU64>,
}

impl ReloadMetrics {
    fn register(registry: &mut Registry) -> Self {
        let m = ReloadMetrics::default();
        registry.register(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
            m.successful.clone(),
        );
        registry.register_with_unit(
            "prometheus_config_last_reload_success_timestamp",
            "Timestamp of the last successful configuration reload.",
            Unit::Seconds,
            m.success_time.clone(),
        );
        m
    }

    fn record(&self, ok: bool) {
        self.successful.set(i64::from(ok));
        if ok {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.success_time.set(now);
        }
    }
}

/// Owns the config file and applies it to the engine and the pipeline.
struct Daemon {
    config_file: PathBuf,
    planner: Planner,
    manager: Addr<ManagerActor>,
    notify: Notify,
    pipeline: Addr<TargetsPipeline>,
    metrics: ReloadMetrics,
    config: ConfigSlot,
    _subscriptions: Vec<promsd_actors::Subscription>,
}

impl Actor for Daemon {
    type Context = Context<Self>;
}

impl Handler<Reload> for Daemon {
    type Result = ResponseActFuture<Self, Result<(), String>>;

    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        let (planner, path) = (self.planner.clone(), self.config_file.clone());
        let planned = tokio::task::spawn_blocking(move || planner(&path));
        Box::pin(
            async move { planned.await.map_err(|e| format!("planning panicked: {e}"))? }
                .into_actor(self)
                .then(|plan, act, _| {
                    let (manager, notify, pipeline, metrics, config) = (
                        act.manager.clone(),
                        act.notify.clone(),
                        act.pipeline.clone(),
                        act.metrics.clone(),
                        act.config.clone(),
                    );
                    async move {
                        let plan = match plan {
                            Ok(plan) => plan,
                            Err(error) => {
                                tracing::error!(%error, "reloading config failed; the running config stays");
                                metrics.record(false);
                                return Err(error);
                            }
                        };
                        apply(&manager, &notify, &pipeline, &config, plan).await?;
                        metrics.record(true);
                        tracing::info!("config reloaded");
                        Ok(())
                    }
                    .into_actor(act)
                }),
        )
    }
}

/// The `notify` manager (Prometheus' notify discovery manager) and what its subscriber keeps.
#[derive(Clone)]
struct Notify {
    manager: Addr<ManagerActor>,
    view: crate::notify::NotifyView,
}

/// The pipeline learns the jobs' settings before the engine sends their targets; the notify
/// view learns the Alertmanager sets before their manager sends their groups.
async fn apply(
    manager: &Addr<ManagerActor>,
    notify: &Notify,
    pipeline: &Addr<TargetsPipeline>,
    config: &ConfigSlot,
    plan: Plan,
) -> Result<(), String> {
    notify.view.set_sets(plan.alertmanagers);
    let outcome = notify
        .manager
        .send(ApplyConfig {
            jobs: plan.notify_jobs,
        })
        .await
        .map_err(|e| format!("notify discovery manager unavailable: {e}"))?;
    for (set, mechanism, error) in &outcome.failed {
        tracing::error!(set = %set, mechanism, %error, "cannot create Alertmanager discovery");
    }
    pipeline
        .send(SetJobs(plan.pipelines))
        .await
        .map_err(|e| format!("pipeline unavailable: {e}"))?;
    let outcome = manager
        .send(ApplyConfig { jobs: plan.jobs })
        .await
        .map_err(|e| format!("discovery manager unavailable: {e}"))?;
    for (job, mechanism, error) in &outcome.failed {
        tracing::error!(job = %job, mechanism, %error, "cannot create service discovery");
    }
    if let Some(running) = plan.running {
        config.set(running);
    }
    Ok(())
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(
    options: RunOptions,
    planner: Planner,
    register_mechanism_metrics: MetricsRegistrar,
) -> Result<(), String> {
    let first_plan = planner(&options.config_file)?;
    // The web config is checked at start, as exporter-toolkit does; TLS is on from the start
    // or not at all.
    let (security, tls) = match &options.web_config_file {
        None => (None, None),
        Some(path) => {
            let web = crate::server::web_config::WebConfig::load(path)?;
            let tls = if web.tls_server_config.is_enabled() {
                Some(
                    web.tls_server_config
                        .server_config(path)
                        .map_err(|e| format!("web config {}: {e}", path.display()))?,
                )
            } else {
                None
            };
            (
                Some(Arc::new(crate::server::web_config::WebSecurity::new(
                    path.clone(),
                ))),
                tls,
            )
        }
    };
    let system = actix_rt::System::new();
    system.block_on(async move {
        let mut registry = Registry::default();
        let mut manager_metrics =
            ManagerMetrics::register_managers(&["scrape", "notify"], &mut registry);
        let notify_metrics = manager_metrics.pop().expect("notify");
        let manager_metrics = manager_metrics.pop().expect("scrape");
        let refresh_metrics = RefreshMetrics::register(&mut registry);
        register_mechanism_metrics(&mut registry);
        crate::server::http_sd::register_metrics(&mut registry);
        registry.register_collector(Box::new(ProcessCollector));
        crate::version::register_build_info(&mut registry);
        let reload_metrics = ReloadMetrics::register(&mut registry);

        let manager = ManagerActor::new(ManagerOptions {
            name: "scrape".to_owned(),
            interval: options.sd_interval,
            metrics: manager_metrics,
            refresh_metrics: refresh_metrics.clone(),
            ..ManagerOptions::default()
        })
        .start();
        let notify = Notify {
            manager: ManagerActor::new(ManagerOptions {
                name: "notify".to_owned(),
                interval: options.sd_interval,
                metrics: notify_metrics,
                refresh_metrics,
                ..ManagerOptions::default()
            })
            .start(),
            view: match &options.file_sd_dir {
                Some(dir) => crate::notify::NotifyView::with_file_sd_output(dir.clone()),
                None => crate::notify::NotifyView::default(),
            },
        };
        let view = SharedView::default();
        let on_change: Option<OnJobChange> = match &options.file_sd_dir {
            Some(dir) => Some(
                file_sd_output::writer(dir.clone(), options.file_sd_shards)
                    .map_err(|e| format!("cannot write to {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        let warm = match &options.state_file {
            Some(path) => state_file::load(path).unwrap_or_else(|error| {
                tracing::warn!(%error, "starting without warm state");
                Default::default()
            }),
            None => Default::default(),
        };
        let stale_jobs = Gauge::default();
        registry.register(
            "promsd_sd_stale_jobs",
            "Jobs served from the warm-start state file until their discovery is ready.",
            stale_jobs.clone(),
        );
        let saver = match &options.state_file {
            Some(path) => Some(
                StateSaver::new(path.clone(), warm.clone(), Duration::from_secs(5))
                    .map_err(|e| format!("cannot start the state file writer: {e}"))?
                    .start(),
            ),
            None => None,
        };
        // Relabeling a large job must not stall the engine: the pipeline has its own thread.
        let pipeline_view = view.clone();
        let pipeline_arbiter = Arbiter::new();
        let pipeline = TargetsPipeline::start_in_arbiter(&pipeline_arbiter.handle(), move |_| {
            TargetsPipeline::new(pipeline_view, on_change).with_warm_start(warm, stale_jobs)
        });
        // The subscriptions last as long as the daemon (its actor keeps them).
        let mut subscriptions = Vec::new();
        if let Some(saver) = &saver {
            subscriptions.push(
                manager
                    .send(Subscribe(saver.clone().recipient()))
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        subscriptions.push(
            manager
                .send(Subscribe(pipeline.clone().recipient()))
                .await
                .map_err(|e| e.to_string())?,
        );
        subscriptions.push(
            notify
                .manager
                .send(Subscribe(
                    crate::notify::NotifySubscriber(notify.view.clone())
                        .start()
                        .recipient(),
                ))
                .await
                .map_err(|e| e.to_string())?,
        );
        let config = ConfigSlot::default();
        apply(&manager, &notify, &pipeline, &config, first_plan).await?;
        reload_metrics.record(true);

        let daemon = Daemon {
            config_file: options.config_file.clone(),
            planner,
            manager: manager.clone(),
            notify: notify.clone(),
            pipeline: pipeline.clone(),
            metrics: reload_metrics,
            config: config.clone(),
            _subscriptions: subscriptions,
        }
        .start();
        spawn_sighup_reloader(daemon.clone().recipient());

        let state = web::Data::new(AppState {
            view,
            registry: Arc::new(registry),
            reload: daemon.clone().recipient(),
            ready_deadline: Instant::now() + options.ready_timeout,
            discovery: manager.clone().recipient(),
            notify_discovery: notify.manager.clone().recipient(),
            alertmanagers: notify.view.clone(),
            config,
            enable_lifecycle: options.enable_lifecycle,
            enable_admin_api: options.enable_admin_api,
            snapshot: manager.clone().recipient(),
        });
        let server = HttpServer::new(move || {
            let security = security.clone();
            App::new()
                .app_data(state.clone())
                .wrap(actix_web::middleware::from_fn(move |request, next| {
                    crate::server::web_config::middleware(security.clone(), request, next)
                }))
                .configure(crate::server::routes)
        })
        .workers(2);
        let tls_enabled = tls.is_some();
        let server = match tls {
            Some(tls) => server.bind_rustls_0_23(&options.listen_address, tls),
            None => server.bind(&options.listen_address),
        }
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen_address))?;
        tracing::info!(address = %options.listen_address, tls = tls_enabled, "promsd is listening");
        server.run().await.map_err(|e| e.to_string())?;
        tracing::info!("shutting down");
        pipeline_arbiter.stop();
        drop(daemon);
        drop(saver);
        Ok(())
    })
}

fn spawn_sighup_reloader(reload: Recipient<Reload>) {
    actix_rt::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::error!("cannot listen for SIGHUP");
            return;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading config");
            match reload.send(Reload).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "reload on SIGHUP failed"),
                Err(_) => return,
            }
        }
    });
}
