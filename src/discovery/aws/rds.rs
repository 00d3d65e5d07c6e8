//! Rds: not implemented yet.

use super::{RefreshFuture, Service, Session};

pub struct Rds;

impl Service for Rds {
    fn new(_session: &Session) -> Self {
        Rds
    }

    fn refresh<'a>(&'a mut self, _session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(async { Err("promsd does not implement this AWS role yet".to_owned()) })
    }
}
