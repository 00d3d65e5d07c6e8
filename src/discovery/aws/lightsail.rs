//! Lightsail: not implemented yet.

use super::{RefreshFuture, Service, Session};

pub struct Lightsail;

impl Service for Lightsail {
    fn new(_session: &Session) -> Self {
        Lightsail
    }

    fn refresh<'a>(&'a mut self, _session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(async { Err("promsd does not implement this AWS role yet".to_owned()) })
    }
}
