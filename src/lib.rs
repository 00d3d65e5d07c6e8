//! promsd: Prometheus-compatible service discovery as a daemon.
