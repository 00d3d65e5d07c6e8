//! The discovery mechanisms' end-to-end tests, one module each, in ONE test binary.

mod moby;
