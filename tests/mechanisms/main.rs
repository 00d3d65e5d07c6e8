//! The discovery mechanisms, end to end: each module drives `promsd` (the real binary) against
//! a fixture server that speaks the mechanism's API.

#[path = "../support/mod.rs"]
mod support;

mod registries_kit;

mod eureka;
mod marathon;
mod nomad;
mod puppetdb;
mod triton;
mod uyuni;
