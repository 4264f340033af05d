//! Handing a client's connections to copy lanes, and taking them back.
//!
//! A [`Lease`] holds the client's lease gate exclusively: requests through the client wait
//! (they hold the gate shared) until the lease ends. Every live connection is detached into
//! a [`Transport`] that a lane drives directly; [`Lease::finish`] starts each handed-back
//! transport's tasks again, and marks dead the connections whose transport did not come back
//! (a lane that failed), so [`NbdClient::reopen_dead_connections`] replaces them. Dropping a
//! lease without finishing it marks every detached connection dead.

use std::sync::Arc;

use tokio::sync::RwLockWriteGuard;

use super::client::{NbdClient, read_slot};
use super::connection::{Connection, Transport};
use crate::error::{Error, Result};

/// The detached connections of one client; see the [module documentation](self).
pub(crate) struct Lease<'a> {
    client: &'a NbdClient,
    _gate: RwLockWriteGuard<'a, ()>,
    /// Slot index and transport of each connection handed out, until taken by a lane.
    transports: Vec<(usize, Transport)>,
    /// Slots detached and not yet given back.
    out: Vec<usize>,
}

impl NbdClient {
    /// Detaches every live connection once the requests in flight are answered. A
    /// connection that cannot be detached stays with the client.
    pub(crate) async fn lease(&self) -> Lease<'_> {
        let gate = self.lease_gate.write().await;
        let mut transports = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            let connection = read_slot(slot);
            if connection.dead().is_some() {
                continue;
            }
            match connection.detach().await {
                Ok(transport) => transports.push((index, transport)),
                Err(error) => {
                    tracing::debug!(uri = %self.uri(), "connection not handed over: {error}");
                    // A connection that could not stop cleanly cannot be trusted either.
                    self.replace(index, |negotiated, target| {
                        Connection::failed(negotiated, error, target)
                    });
                }
            }
        }
        let out = transports.iter().map(|(index, _)| *index).collect();
        Lease {
            client: self,
            _gate: gate,
            transports,
            out,
        }
    }

    fn replace(
        &self,
        index: usize,
        make: impl FnOnce(super::handshake::Negotiated, String) -> Connection,
    ) {
        let slot = &self.slots[index];
        let old = read_slot(slot);
        let fresh = make(old.negotiated.clone(), self.uri().to_string());
        *slot.write().unwrap_or_else(|poison| poison.into_inner()) = Arc::new(fresh);
    }
}

impl Lease<'_> {
    /// Takes the transports handed out, each with its slot index.
    pub(crate) fn take(&mut self) -> Vec<(usize, Transport)> {
        std::mem::take(&mut self.transports)
    }

    /// Gives the transports back: `Ok` ones resume, failed ones leave a dead connection
    /// with their error, and slots not mentioned are marked dead.
    pub(crate) fn finish(mut self, back: Vec<(usize, Result<Transport>)>) {
        for (index, transport) in back {
            match transport {
                Ok(transport) => self.transports.push((index, transport)),
                Err(error) => {
                    if let Some(position) = self.out.iter().position(|i| *i == index) {
                        self.out.swap_remove(position);
                        self.client.replace(index, |negotiated, target| {
                            Connection::failed(negotiated, error, target)
                        });
                    }
                }
            }
        }
        // Drop resumes what came back and marks the rest dead.
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        for index in std::mem::take(&mut self.out) {
            let kept = self
                .transports
                .iter()
                .position(|(i, _)| *i == index)
                .map(|position| self.transports.swap_remove(position).1);
            match kept {
                Some(transport) => self
                    .client
                    .replace(index, |_, _| Connection::resume(transport)),
                None => self.client.replace(index, |negotiated, target| {
                    Connection::failed(
                        negotiated,
                        Error::disconnected("Connection lost in a copy lane"),
                        target,
                    )
                }),
            }
        }
    }
}
