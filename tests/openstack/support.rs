//! The testbed of this binary and what the tests log in with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use forklift::core::credentials::{OpenStackAuth, SecretString};
use forklift::providers::openstack::{OpenstackConfig, OpenstackProvider};
use serde_json::Value;

/// The running testbed's fixtures (fixtures.json of its state folder).
pub struct Testbed {
    pub state: PathBuf,
    pub fixtures: Value,
}

impl Testbed {
    pub fn auth_url(&self) -> &str {
        self.fixtures["auth_url"].as_str().unwrap()
    }

    /// A fixture value, e.g. `user.password`.
    pub fn get(&self, path: &str) -> String {
        let mut value = &self.fixtures;
        for key in path.split('.') {
            value = &value[key];
        }
        value
            .as_str()
            .unwrap_or_else(|| panic!("fixture {path}"))
            .to_owned()
    }

    /// Password authentication of the tests' user, scoped to its project.
    pub fn user_password(&self) -> OpenStackAuth {
        OpenStackAuth::Password {
            username: self.get("user.username"),
            password: SecretString::new(self.get("user.password")),
            project_name: self.get("user.project"),
            domain_name: self.get("user.domain"),
        }
    }

    pub fn config(&self, auth: OpenStackAuth) -> OpenstackConfig {
        let mut config = OpenstackConfig::new("testbed", self.auth_url(), auth).unwrap();
        config.staging_dir = self.state.join("staging");
        std::fs::create_dir_all(&config.staging_dir).unwrap();
        config
    }

    /// The provider logged in as the tests' user.
    pub async fn provider(&self) -> OpenstackProvider {
        OpenstackProvider::connect_with(self.config(self.user_password()))
            .await
            .unwrap()
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the testbed once for this test binary; a watcher stops it when the binary exits.
pub fn testbed() -> &'static Testbed {
    static TESTBED: OnceLock<Testbed> = OnceLock::new();
    TESTBED.get_or_init(|| {
        let state = std::env::var_os("OPENSTACK_TESTBED_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("target/openstack-testbed"));
        let script = repo().join("tests/testbeds/openstack/testbed.sh");
        // For iterating on the tests: keep using a testbed that is already up.
        if std::env::var_os("OPENSTACK_TESTBED_REUSE").is_some() && state.join("ready").exists() {
            let fixtures = std::fs::read_to_string(state.join("fixtures.json")).unwrap();
            return Testbed {
                fixtures: serde_json::from_str(&fixtures).unwrap(),
                state,
            };
        }
        let started = std::time::Instant::now();
        let status = Command::new("bash")
            .arg(&script)
            .args(["up", "--owner"])
            .arg(std::process::id().to_string())
            .env("OPENSTACK_TESTBED_STATE", &state)
            .status()
            .expect("run testbed.sh");
        assert!(
            status.success(),
            "the OpenStack testbed did not start (scripts/setup-openstack.sh installs its \
             packages; logs in {})",
            state.display()
        );
        eprintln!(
            "OpenStack testbed up in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let fixtures = std::fs::read_to_string(state.join("fixtures.json")).unwrap();
        Testbed {
            fixtures: serde_json::from_str(&fixtures).unwrap(),
            state,
        }
    })
}

/// A name unique to this run and test.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
