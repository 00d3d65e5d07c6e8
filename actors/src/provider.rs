//! `ProviderActor`: runs one discoverer stream and forwards its items to the manager.
//!
//! The actor exists to give each discovery its own lifecycle: stopping it (the manager sends
//! [`StopProvider`]) drops the stream and so cancels the discovery. The stream is wrapped in
//! `catch_unwind`, because a panic inside an actor is otherwise swallowed by the runtime and the
//! actor dies silently; an end or a panic is reported to the manager, which decides about a
//! restart. At most one update per provider is in flight to the manager (`ctx.wait`), so a fast
//! discoverer cannot flood the manager's mailbox.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use actix::prelude::*;
use futures::StreamExt;

use crate::discoverer::{Discoverer, DiscoveryError, Update};
use crate::manager::ManagerActor;
use crate::messages::{GroupUpdate, ProviderEnded, ProviderFailed, ProviderId};

type Item = Result<Result<Update, DiscoveryError>, Box<dyn Any + Send>>;

/// Tells a provider to stop, cancelling its discovery.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct StopProvider;

/// Runs one discoverer stream for the manager (started by it; embedders never start one).
pub struct ProviderActor {
    id: ProviderId,
    generation: u64,
    manager: Addr<ManagerActor>,
    stream: Option<Discoverer>,
    panicked: bool,
}

impl ProviderActor {
    pub(crate) fn new(
        id: ProviderId,
        generation: u64,
        manager: Addr<ManagerActor>,
        stream: Discoverer,
    ) -> Self {
        ProviderActor {
            id,
            generation,
            manager,
            stream: Some(stream),
            panicked: false,
        }
    }
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(stream) = self.stream.take() {
            ctx.add_stream(AssertUnwindSafe(stream).catch_unwind());
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "discoverer panicked".to_owned()
    }
}

impl StreamHandler<Item> for ProviderActor {
    fn handle(&mut self, item: Item, ctx: &mut Self::Context) {
        let (provider, generation) = (self.id, self.generation);
        match item {
            Ok(Ok(update)) => {
                let send = self.manager.send(GroupUpdate {
                    provider,
                    generation,
                    update,
                });
                // Wait for the manager to take it before polling the stream again.
                ctx.wait(send.into_actor(self).map(|_, _, _| ()));
            }
            Ok(Err(error)) => self.manager.do_send(ProviderFailed {
                provider,
                generation,
                error,
            }),
            Err(payload) => {
                let message = panic_message(&*payload);
                tracing::error!(provider, panic = %message, "discoverer panicked");
                self.panicked = true;
                self.manager.do_send(ProviderEnded {
                    provider,
                    generation,
                    panic: Some(message),
                });
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        if !self.panicked {
            self.manager.do_send(ProviderEnded {
                provider: self.id,
                generation: self.generation,
                panic: None,
            });
        }
        ctx.stop();
    }
}

impl Handler<StopProvider> for ProviderActor {
    type Result = ();

    fn handle(&mut self, _: StopProvider, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
