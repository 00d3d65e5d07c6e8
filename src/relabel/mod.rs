//! Relabeling (placeholder shape; the relabel room replaces it).
