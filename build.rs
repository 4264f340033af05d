//! Records the commit the `forklift` binary was built from, for `forklift --version`.
//!
//! `FORKLIFT_COMMIT` wins (packagers building from a tarball set it); otherwise `git` is asked.
//! Outside a git checkout, or without git, the commit is "unknown": the build never fails
//! for it.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=FORKLIFT_COMMIT");
    let commit = std::env::var("FORKLIFT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it points at (a commit)
    // and packed refs (a gc). Paths come from git, so worktrees work too.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rustc-env=FORKLIFT_COMMIT={commit}");
}
