//! Power control of [`OpenstackProvider`]: Nova's `os-stop` / `os-start`, waited for.

use async_trait::async_trait;
use forklift_core::error::PeerText;
use reqwest::Method;
use serde_json::json;

use super::OpenstackProvider;
use super::error::OpenstackError;
use super::http::Service;
use super::inventory::power_state;
use super::limits::{POLL_INTERVAL, SERVER_POWER_LIMIT};
use super::model::Server;
use crate::capability::{PowerControl, PowerState, VmRef};
use crate::error::Result;

#[derive(serde::Deserialize)]
struct ServerBody {
    server: Server,
}

impl OpenstackProvider {
    /// The server as Nova describes it now.
    pub async fn server(&self, vm: &VmRef) -> Result<Server, OpenstackError> {
        let body: ServerBody = self
            .session
            .get(
                Service::Compute,
                &format!("/servers/{}", vm.id()),
                &format!("reading server {vm}"),
            )
            .await?;
        Ok(body.server)
    }

    /// Refuses a server in ERROR state.
    pub(crate) fn usable(server: Server) -> Result<Server, OpenstackError> {
        if server.status == "ERROR" {
            return Err(OpenstackError::ServerInError {
                id: server.id,
                name: server.name,
                fault: server.fault.map(|f| f.message),
            });
        }
        Ok(server)
    }

    async fn power_action(&self, vm: &VmRef, action: &str, wanted: PowerState) -> Result<()> {
        let server = Self::usable(self.server(vm).await?)?;
        if power_state(&server.status) == wanted {
            return Ok(());
        }
        tracing::info!(vm = %PeerText(vm.id()), action, "changing the server's power state");
        self.session
            .send(
                Service::Compute,
                Method::POST,
                &format!("/servers/{}/action", vm.id()),
                Some(&json!({ action: null })),
                &format!("{action} of server {vm}"),
            )
            .await?;
        let started = tokio::time::Instant::now();
        loop {
            let server = Self::usable(self.server(vm).await?)?;
            if power_state(&server.status) == wanted {
                return Ok(());
            }
            if started.elapsed() >= SERVER_POWER_LIMIT {
                return Err(OpenstackError::WaitTimeout {
                    what: format!("server {vm}"),
                    wanted: if wanted == PowerState::Off {
                        "SHUTOFF"
                    } else {
                        "ACTIVE"
                    },
                    seconds: SERVER_POWER_LIMIT.as_secs(),
                    last: server.status,
                }
                .into());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

#[async_trait]
impl PowerControl for OpenstackProvider {
    async fn power_state(&self, vm: &VmRef) -> Result<PowerState> {
        Ok(power_state(&self.server(vm).await?.status))
    }

    async fn power_off(&self, vm: &VmRef) -> Result<()> {
        self.power_action(vm, "os-stop", PowerState::Off).await
    }

    async fn power_on(&self, vm: &VmRef) -> Result<()> {
        self.power_action(vm, "os-start", PowerState::On).await
    }
}
