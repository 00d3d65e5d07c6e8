//! The API mechanisms end to end, one module each, in one test binary: fixture servers that
//! speak each API, `promsd check service-discovery` and `promsd run` against them.

#[path = "../support/mod.rs"]
mod support;

mod fixture;
mod openstack;
