//! When a warm VM cuts over: the Migration's `spec.cutover` / `spec.vmCutover[]` (RFC 3339;
//! a time in the past means now), watched in the manifest file while the run goes as the
//! controller watches the CR, or set through [`Migrator::cutover`](crate::migrate::Migrator::cutover).
//! Our extension: the annotation [`MAX_DOWNTIME_ANNOTATION`] cuts over at the first precopy
//! whose downtime forecast fits.

use std::path::PathBuf;
use std::time::Duration;

use forklift_core::resources::{Migration, VmCutover};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::migrate::MigrateError;
use crate::migrate::time::parse_rfc3339;

/// How often the Migration manifest is read again for a new cutover time.
pub const CUTOVER_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Annotation on the Migration (ours): cut over at the first precopy whose forecast
/// downtime is at most this long (`30s`, `5m`, `1h`, or seconds).
pub const MAX_DOWNTIME_ANNOTATION: &str = "forklift.konveyor.io/max-downtime";

/// The cutover settings of the Migration that runs the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CutoverTimes {
    /// `namespace/name` of the Migration, for errors.
    pub migration: String,
    /// `spec.cutover`.
    pub cutover: Option<String>,
    /// `spec.vmCutover`.
    pub vm_cutover: Vec<VmCutover>,
    /// The [`MAX_DOWNTIME_ANNOTATION`] value.
    pub max_downtime: Option<String>,
}

impl CutoverTimes {
    /// The settings of `migration`.
    pub fn of(migration: &Migration) -> Self {
        Self {
            migration: format!(
                "{}/{}",
                migration.metadata.namespace_or_empty(),
                migration.metadata.name_or_empty()
            ),
            cutover: migration.spec.cutover.clone(),
            vm_cutover: migration.spec.vm_cutover.clone(),
            max_downtime: migration
                .metadata
                .annotations
                .get(MAX_DOWNTIME_ANNOTATION)
                .cloned(),
        }
    }

    /// When VM `id` cuts over (seconds since the epoch), `None` while no time is set.
    pub fn for_vm(&self, id: &str) -> Result<Option<i64>, MigrateError> {
        let (field, value) = match self.vm_cutover.iter().find(|c| c.id == id) {
            Some(c) => (format!("spec.vmCutover[{id}]"), &c.cutover),
            None => match &self.cutover {
                Some(value) => ("spec.cutover".to_owned(), value),
                None => return Ok(None),
            },
        };
        parse_rfc3339(value)
            .map(Some)
            .ok_or_else(|| MigrateError::InvalidCutover {
                migration: self.migration.clone(),
                field,
                value: value.clone(),
            })
    }

    /// The longest downtime the annotation accepts for an automatic cutover.
    pub fn max_downtime(&self) -> Result<Option<Duration>, MigrateError> {
        let Some(text) = &self.max_downtime else {
            return Ok(None);
        };
        parse_duration(text)
            .map(Some)
            .ok_or_else(|| MigrateError::InvalidCutover {
                migration: self.migration.clone(),
                field: format!("metadata.annotations[{MAX_DOWNTIME_ANNOTATION}]"),
                value: text.clone(),
            })
    }
}

/// `30s`, `5m`, `1h`, `90` (seconds): a whole number of seconds, minutes or hours.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    n.checked_mul(scale).map(Duration::from_secs)
}

/// Reads the Migration `key` (`namespace`, `name`) from `path` every
/// [`CUTOVER_POLL_INTERVAL`] and publishes its cutover settings when they change, until
/// `stop`. A file that cannot be read or no longer holds the Migration keeps the last
/// settings (an editor may be replacing it) with a warning.
pub(crate) async fn watch_migration_file(
    path: PathBuf,
    key: (String, String),
    max_file_size: u64,
    tx: watch::Sender<CutoverTimes>,
    stop: CancellationToken,
) {
    let mut warned = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(CUTOVER_POLL_INTERVAL) => {}
        }
        let file = path.clone();
        let read = tokio::task::spawn_blocking(move || {
            crate::manifests::load_paths_with_limit(&[file], max_file_size)
        })
        .await;
        let found = read.ok().and_then(|set| {
            set.get_as::<Migration>(&key.0, &key.1)
                .map(CutoverTimes::of)
        });
        match found {
            Some(times) => {
                warned = false;
                tx.send_if_modified(|current| {
                    let changed = *current != times;
                    if changed {
                        tracing::info!(migration = %times.migration, cutover = ?times.cutover,
                            "the Migration's cutover changed");
                        *current = times;
                    }
                    changed
                });
            }
            None if !warned => {
                warned = true;
                tracing::warn!(path = %path.display(), migration = %format!("{}/{}", key.0, key.1),
                    "cannot read the Migration for its cutover time; keeping the last one");
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(cutover: Option<&str>, vm: &[(&str, &str)]) -> CutoverTimes {
        CutoverTimes {
            migration: "mtv/m".into(),
            cutover: cutover.map(str::to_owned),
            vm_cutover: vm
                .iter()
                .map(|(id, at)| VmCutover {
                    id: (*id).into(),
                    cutover: (*at).into(),
                })
                .collect(),
            max_downtime: None,
        }
    }

    #[test]
    fn a_vm_cutover_overrides_the_migrations_and_bad_times_name_the_field() {
        let t = times(
            Some("2026-01-01T00:00:00Z"),
            &[("vm-1", "2026-01-01T00:01:00Z")],
        );
        assert_eq!(t.for_vm("vm-1").unwrap(), Some(1_767_225_660));
        assert_eq!(t.for_vm("vm-2").unwrap(), Some(1_767_225_600));
        assert_eq!(times(None, &[]).for_vm("vm-1").unwrap(), None);
        let err = times(None, &[("vm-1", "soon")]).for_vm("vm-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Migration mtv/m: spec.vmCutover[vm-1] \"soon\" is not an RFC 3339 time (such as 2026-12-02T15:00:00Z)"
        );
    }

    #[test]
    fn max_downtime_takes_seconds_minutes_hours() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        for bad in ["", "s", "1.5s", "-3s", "3d", "99999999999999999999h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let mut t = times(None, &[]);
        t.max_downtime = Some("a while".into());
        assert!(
            t.max_downtime()
                .unwrap_err()
                .to_string()
                .contains("metadata.annotations[forklift.konveyor.io/max-downtime]")
        );
    }
}
