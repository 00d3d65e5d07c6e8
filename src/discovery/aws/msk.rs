//! Msk: not implemented yet.

use super::{RefreshFuture, Service, Session};

pub struct Msk;

impl Service for Msk {
    fn new(_session: &Session) -> Self {
        Msk
    }

    fn refresh<'a>(&'a mut self, _session: &'a Session) -> RefreshFuture<'a> {
        Box::pin(async { Err("promsd does not implement this AWS role yet".to_owned()) })
    }
}
