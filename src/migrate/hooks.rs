//! Hooks: what runs before (`PreHook`) and after (`PostHook`) a VM's migration.
//!
//! Upstream runs a Hook's Ansible playbook in a Job on the cluster. Here a [`HookRunner`]
//! decides how: [`AnsibleHookRunner`] runs the playbook with a local `ansible-playbook`,
//! [`CommandHookRunner`] runs a local command, [`CallbackHookRunner`] calls user code.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use forklift_core::resources::{Hook, HookStep};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

/// What a hook is told about the VM it runs for (upstream mounts the same as `plan.yml` and
/// `workload.yml`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookContext {
    /// `PreHook` or `PostHook`.
    pub step: String,
    /// Plan namespace.
    pub plan_namespace: String,
    /// Plan name.
    pub plan_name: String,
    /// Source VM id.
    pub vm_id: String,
    /// Source VM name.
    pub vm_name: String,
    /// Name of the VM on the target.
    pub target_name: String,
    /// Target namespace.
    pub target_namespace: String,
}

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The Hook names neither a playbook nor anything else this runner can run.
    #[error("Hook {hook} has no playbook to run")]
    NoPlaybook {
        /// namespace/name of the Hook.
        hook: String,
    },
    /// The playbook is not valid base64.
    #[error("Hook {hook}: spec.playbook is not base64")]
    BadPlaybook {
        /// namespace/name of the Hook.
        hook: String,
    },
    /// The program could not be started.
    #[error("Hook {hook}: cannot run {program}")]
    Spawn {
        /// namespace/name of the Hook.
        hook: String,
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program exited with a failure.
    #[error("Hook {hook} failed ({status}): {output}")]
    Failed {
        /// namespace/name of the Hook.
        hook: String,
        /// Exit status.
        status: String,
        /// The last lines it printed.
        output: String,
    },
    /// The Hook's deadline passed.
    #[error("Hook {hook} exceeded its deadline of {seconds} s")]
    Deadline {
        /// namespace/name of the Hook.
        hook: String,
        /// The deadline.
        seconds: i64,
    },
    /// The migration was cancelled while the hook ran.
    #[error("Hook {hook} was cancelled")]
    Cancelled {
        /// namespace/name of the Hook.
        hook: String,
    },
    /// A user callback reported a failure.
    #[error("Hook {hook}: {message}")]
    Callback {
        /// namespace/name of the Hook.
        hook: String,
        /// The callback's message.
        message: String,
    },
}

impl HookError {
    /// Whether running the hook again may succeed (upstream retries a failed hook job);
    /// a hook that cannot be run at all, or was cancelled, is not retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Failed { .. } | Self::Deadline { .. } | Self::Callback { .. }
        )
    }
}

/// Runs a Hook for one VM.
#[async_trait]
pub trait HookRunner: Send + Sync {
    /// Runs `hook` for the VM described by `context`; returns what it printed.
    async fn run(
        &self,
        hook: &Hook,
        context: &HookContext,
        cancel: &CancellationToken,
    ) -> Result<String, HookError>;
}

fn hook_name(hook: &Hook) -> String {
    format!(
        "{}/{}",
        hook.metadata.namespace.as_deref().unwrap_or(""),
        hook.metadata.name.as_deref().unwrap_or("")
    )
}

/// Runs the Hook's playbook (`spec.playbook`, base64) with a local `ansible-playbook`
/// against localhost, with the context as extra variables.
#[derive(Debug, Clone)]
pub struct AnsibleHookRunner {
    program: PathBuf,
}

impl Default for AnsibleHookRunner {
    fn default() -> Self {
        Self {
            program: PathBuf::from("ansible-playbook"),
        }
    }
}

impl AnsibleHookRunner {
    /// A runner using `program` instead of `ansible-playbook` from `PATH`.
    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// Whether the program can be found.
    pub fn is_available(&self) -> bool {
        which(&self.program).is_some()
    }
}

#[async_trait]
impl HookRunner for AnsibleHookRunner {
    async fn run(
        &self,
        hook: &Hook,
        context: &HookContext,
        cancel: &CancellationToken,
    ) -> Result<String, HookError> {
        let name = hook_name(hook);
        if hook.spec.playbook.trim().is_empty() {
            return Err(HookError::NoPlaybook { hook: name });
        }
        let playbook = base64::engine::general_purpose::STANDARD
            .decode(hook.spec.playbook.trim())
            .map_err(|_| HookError::BadPlaybook { hook: name.clone() })?;
        let dir = tempdir(&name)?;
        let playbook_path = dir.join("playbook.yml");
        let vars_path = dir.join("workload.json");
        let spawn_err = |source| HookError::Spawn {
            hook: name.clone(),
            program: "a temporary file".into(),
            source,
        };
        std::fs::write(&playbook_path, playbook).map_err(spawn_err)?;
        let vars = serde_json::to_vec(context).unwrap_or_default();
        std::fs::write(&vars_path, vars).map_err(|source| HookError::Spawn {
            hook: name.clone(),
            program: "a temporary file".into(),
            source,
        })?;
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(["-i", "localhost,", "-c", "local"])
            .arg("-e")
            .arg(format!("@{}", vars_path.display()))
            .arg(&playbook_path);
        let result = run_command(cmd, None, &name, hook.spec.deadline, cancel).await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

/// Runs a local command for every hook; the context is passed as JSON on stdin and as
/// `FORKLIFT_*` environment variables.
#[derive(Debug, Clone)]
pub struct CommandHookRunner {
    program: PathBuf,
    args: Vec<String>,
}

impl CommandHookRunner {
    /// A runner for `program` with `args`.
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }
}

#[async_trait]
impl HookRunner for CommandHookRunner {
    async fn run(
        &self,
        hook: &Hook,
        context: &HookContext,
        cancel: &CancellationToken,
    ) -> Result<String, HookError> {
        let name = hook_name(hook);
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env("FORKLIFT_HOOK", &name)
            .env("FORKLIFT_HOOK_STEP", &context.step)
            .env(
                "FORKLIFT_PLAN",
                format!("{}/{}", context.plan_namespace, context.plan_name),
            )
            .env("FORKLIFT_VM_ID", &context.vm_id)
            .env("FORKLIFT_VM_NAME", &context.vm_name)
            .env("FORKLIFT_TARGET_NAME", &context.target_name)
            .env("FORKLIFT_TARGET_NAMESPACE", &context.target_namespace);
        let stdin = serde_json::to_vec(context).unwrap_or_default();
        run_command(cmd, Some(stdin), &name, hook.spec.deadline, cancel).await
    }
}

/// The future a [`CallbackHookRunner`]'s callback returns.
pub type HookFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Calls user code for every hook.
#[derive(Clone)]
pub struct CallbackHookRunner {
    callback: Arc<dyn Fn(Hook, HookContext) -> HookFuture + Send + Sync>,
}

impl std::fmt::Debug for CallbackHookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackHookRunner").finish_non_exhaustive()
    }
}

impl CallbackHookRunner {
    /// A runner calling `callback`; an `Err(message)` fails the hook.
    pub fn new(callback: impl Fn(Hook, HookContext) -> HookFuture + Send + Sync + 'static) -> Self {
        Self {
            callback: Arc::new(callback),
        }
    }
}

#[async_trait]
impl HookRunner for CallbackHookRunner {
    async fn run(
        &self,
        hook: &Hook,
        context: &HookContext,
        cancel: &CancellationToken,
    ) -> Result<String, HookError> {
        let name = hook_name(hook);
        let fut = (self.callback)(hook.clone(), context.clone());
        tokio::select! {
            result = fut => result.map_err(|message| HookError::Callback { hook: name, message }),
            () = cancel.cancelled() => Err(HookError::Cancelled { hook: name }),
        }
    }
}

/// The step name a Hook runs at, as the context reports it.
pub fn step_name(step: &HookStep) -> String {
    step.to_string()
}

async fn run_command(
    mut cmd: tokio::process::Command,
    stdin: Option<Vec<u8>>,
    hook: &str,
    deadline_seconds: i64,
    cancel: &CancellationToken,
) -> Result<String, HookError> {
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn {
        hook: hook.to_owned(),
        program,
        source,
    })?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A hook that ignores its stdin must not fail the run.
        let _ = pipe.write_all(&data).await;
    }
    let deadline = if deadline_seconds > 0 {
        Duration::from_secs(deadline_seconds.unsigned_abs())
    } else {
        Duration::MAX
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let finished = async {
        let (stdout, stderr, status) =
            tokio::join!(read_tail(stdout), read_tail(stderr), child.wait());
        status.map(|status| (status, stdout, stderr))
    };
    let (status, stdout, stderr) = tokio::select! {
        out = finished => out,
        () = tokio::time::sleep(deadline) => {
            return Err(HookError::Deadline { hook: hook.to_owned(), seconds: deadline_seconds });
        }
        () = cancel.cancelled() => return Err(HookError::Cancelled { hook: hook.to_owned() }),
    }
    .map_err(|source| HookError::Spawn {
        hook: hook.to_owned(),
        program: "wait".into(),
        source,
    })?;
    let mut text = String::from_utf8_lossy(&stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&stderr));
    if status.success() {
        Ok(text)
    } else {
        Err(HookError::Failed {
            hook: hook.to_owned(),
            status: status.to_string(),
            output: tail(&text, HOOK_ERROR_LINES),
        })
    }
}

/// Bytes of each of a hook's output streams kept: the last ones; what came before is read
/// and dropped, so a hook that prints without end cannot exhaust memory.
pub const MAX_HOOK_OUTPUT: usize = 1024 * 1024;

/// Lines of a failed hook's output quoted in [`HookError::Failed`].
pub const HOOK_ERROR_LINES: usize = 20;

/// Reads `pipe` to its end, keeping its last [`MAX_HOOK_OUTPUT`] bytes.
async fn read_tail(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => kept.extend_from_slice(&buf[..n]),
        }
        // Trimming only past twice the limit keeps the copying linear.
        if kept.len() > 2 * MAX_HOOK_OUTPUT {
            kept.drain(..kept.len() - MAX_HOOK_OUTPUT);
        }
    }
    if kept.len() > MAX_HOOK_OUTPUT {
        kept.drain(..kept.len() - MAX_HOOK_OUTPUT);
    }
    kept
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn tempdir(hook: &str) -> Result<PathBuf, HookError> {
    let dir = std::env::temp_dir().join(format!(
        "forklift-hook-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| HookError::Spawn {
        hook: hook.to_owned(),
        program: "a temporary directory".into(),
        source,
    })?;
    Ok(dir)
}

/// The program's path when it can be found (as a path, or in `PATH`).
pub(crate) fn which(program: &std::path::Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use forklift_core::resources::{HookSpec, ObjectMeta};

    fn hook(playbook: &str, deadline: i64) -> Hook {
        let meta = ObjectMeta {
            name: Some("h1".into()),
            namespace: Some("ns".into()),
            ..ObjectMeta::default()
        };
        Hook::new(
            meta,
            HookSpec {
                playbook: playbook.into(),
                deadline,
                ..HookSpec::default()
            },
        )
    }

    fn context() -> HookContext {
        HookContext {
            step: "PreHook".into(),
            plan_namespace: "ns".into(),
            plan_name: "p".into(),
            vm_id: "vm-1".into(),
            vm_name: "web".into(),
            target_name: "web".into(),
            target_namespace: "target".into(),
        }
    }

    #[tokio::test]
    async fn command_runner_passes_context_and_reports_failure() {
        let ok = CommandHookRunner::new(
            "sh",
            ["-c", "cat; echo \" $FORKLIFT_HOOK_STEP $FORKLIFT_VM_ID\""],
        );
        let out = ok
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap();
        assert!(
            out.contains("\"vmName\":\"web\"") && out.contains(" PreHook vm-1"),
            "{out}"
        );
        let bad = CommandHookRunner::new("sh", ["-c", "echo boom >&2; exit 3"]);
        let err = bad
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HookError::Failed { output, .. } if output.contains("boom")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_hook_that_prints_without_end_keeps_only_the_tail_of_its_output() {
        // 64 MiB on stdout, then a last line: only the last MAX_HOOK_OUTPUT bytes are kept.
        let loud = CommandHookRunner::new(
            "sh",
            [
                "-c",
                "head -c 67108864 /dev/zero | tr '\\0' x; echo; echo last line",
            ],
        );
        let out = loud
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(out.len(), MAX_HOOK_OUTPUT);
        assert!(
            out.ends_with("x\nlast line\n"),
            "{:?}",
            &out[out.len() - 20..]
        );
        let failing = CommandHookRunner::new("sh", ["-c", "seq 1 100000; exit 1"]);
        let err = failing
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap_err();
        let HookError::Failed { output, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(output.lines().count(), HOOK_ERROR_LINES);
        assert!(output.ends_with("100000"), "{output}");
    }

    #[tokio::test]
    async fn deadline_and_cancel_stop_the_hook() {
        let slow = CommandHookRunner::new("sleep", ["5"]);
        let err = slow
            .run(&hook("", 1), &context(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, HookError::Deadline { seconds: 1, .. }));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = slow
            .run(&hook("", 0), &context(), &cancel)
            .await
            .unwrap_err();
        assert!(matches!(err, HookError::Cancelled { .. }));
    }

    #[tokio::test]
    async fn ansible_runner_runs_the_decoded_playbook() {
        // A stand-in for ansible-playbook that prints the playbook it was given (the last argument).
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-ansible-playbook");
        std::fs::write(&fake, "#!/bin/sh\nfor a; do last=$a; done\ncat \"$last\"\n").unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .unwrap();
        let runner = AnsibleHookRunner::with_program(&fake);
        assert!(runner.is_available());
        let encoded = base64::engine::general_purpose::STANDARD.encode("- hosts: localhost\n");
        let out = runner
            .run(&hook(&encoded, 0), &context(), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(out, "- hosts: localhost\n");
        let err = runner
            .run(
                &hook("not base64!", 0),
                &context(),
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, HookError::BadPlaybook { .. }));
        let err = runner
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, HookError::NoPlaybook { .. }));
    }

    #[tokio::test]
    async fn callback_runner_maps_errors() {
        let runner = CallbackHookRunner::new(|_, ctx| {
            Box::pin(async move { Err(format!("no {}", ctx.vm_id)) })
        });
        let err = runner
            .run(&hook("", 0), &context(), &CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Hook ns/h1: no vm-1");
    }
}
