//! Opening files of a package without leaving it: the one place where a file named by a
//! package (an OVF `href`, a VMDK extent) becomes an open file.
//!
//! A package directory is untrusted: whoever wrote it chose its names, its links and the
//! kinds of its files. [`PackageDir::open_file`] walks a relative name one component at a
//! time with `openat(2)` and `O_NOFOLLOW`, from a descriptor of the package directory, so
//!
//! * no component may be a symbolic link: not a link that leaves the package, and not one
//!   that stays inside it either. Exported packages hold no links, and refusing them all
//!   keeps the rule checkable per component without tracking where a link would lead;
//! * `..`, absolute names and empty names are refused before anything is opened;
//! * the file itself must be a regular file: it is looked at with `fstatat` before it is
//!   opened (so a device is never opened at all) and opened with `O_NONBLOCK` (so a FIFO
//!   swapped in meanwhile cannot block the open), then checked again with `fstat` on the
//!   open descriptor, which must be the file first looked at.
//!
//! The caller reads through the returned [`File`], never through the path again, so a file
//! swapped after the check is never read.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Most path components a name inside a package may have. Real packages nest one or two
/// levels; the bound keeps a hostile name from costing thousands of `openat` calls.
pub const MAX_PATH_COMPONENTS: usize = 32;

/// What a name that is not a regular file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl FileKind {
    fn of(mode: libc::mode_t) -> Self {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileKind::Directory,
            libc::S_IFIFO => FileKind::Fifo,
            libc::S_IFCHR => FileKind::CharDevice,
            libc::S_IFBLK => FileKind::BlockDevice,
            libc::S_IFSOCK => FileKind::Socket,
            _ => FileKind::Other,
        }
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a named pipe (FIFO)",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
            FileKind::Other => "a special file",
        })
    }
}

/// Why a name of a package could not be opened. Names are shown quoted and escaped (`{:?}`),
/// as they come from the package.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// The package directory itself cannot be opened.
    #[error("Cannot open the package directory {root}: {source}")]
    Root {
        /// The package directory.
        root: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The name is empty, absolute, holds `..` or a NUL byte.
    #[error("{root}: {name:?} is outside the package: {reason}")]
    Outside {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The name has more than [`MAX_PATH_COMPONENTS`] components.
    #[error("{root}: {name:?} has more than {MAX_PATH_COMPONENTS} path components")]
    TooDeep {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// A component of the name is a symbolic link.
    #[error(
        "{root}: {name:?} is refused: {component:?} is a symbolic link, and links are not allowed in a package"
    )]
    Link {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// The component that is a link.
        component: String,
    },
    /// A directory component of the name is not a directory.
    #[error("{root}: {name:?} does not exist: {component:?} is not a directory")]
    NotADirectory {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// The component that is not a directory.
        component: String,
    },
    /// The name is not a regular file.
    #[error("{root}: {name:?} is refused: it is {kind}, not a regular file")]
    NotRegular {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// What it is.
        kind: FileKind,
    },
    /// The file changed between the check and the open.
    #[error("{root}: {name:?} was replaced while it was being opened")]
    Replaced {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// The file (or a directory on the way) cannot be opened: missing, unreadable.
    #[error("Cannot open {name:?} in {root}: {source}")]
    Io {
        /// The package directory.
        root: PathBuf,
        /// The name asked for.
        name: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl ConfineError {
    /// Whether the name does not exist (as opposed to being refused or unreadable).
    pub fn is_not_found(&self) -> bool {
        match self {
            ConfineError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            ConfineError::NotADirectory { .. } => true,
            _ => false,
        }
    }
}

/// An open package directory: the root every name of the package is resolved under.
#[derive(Debug)]
pub struct PackageDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl PackageDir {
    /// Opens the directory at `path`. The path itself is the caller's (a catalog folder, the
    /// folder of a disk named on the command line), so links on the way to it are followed;
    /// only names inside it are confined.
    pub fn open(path: &Path) -> Result<Self, ConfineError> {
        let root_error = |source| ConfineError::Root {
            root: path.to_path_buf(),
            source,
        };
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| root_error(std::io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: a valid NUL-terminated path; the returned descriptor is owned below.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(root_error(std::io::Error::last_os_error()));
        }
        Ok(PackageDir {
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// Opens the directory holding `path` and returns it with the file name of `path`, for
    /// callers given the path of one file of a package (an `.ovf`, a VMDK descriptor).
    pub fn open_parent(path: &Path) -> Result<(Self, String), ConfineError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| ConfineError::Outside {
                root: path.to_path_buf(),
                name: String::new(),
                reason: "the path names no file",
            })?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Ok((Self::open(parent)?, name))
    }

    /// The directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` shown as a path under the directory, for messages.
    pub fn label(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }

    /// Opens the regular file `name` (relative, `/`-separated) for reading, refusing links in
    /// any component, `..`, absolute names and anything but a regular file (see the module
    /// documentation). Read through the returned file, not the path.
    pub fn open_file(&self, name: &str) -> Result<File, ConfineError> {
        let components = self.components(name)?;
        let Some((last, dirs)) = components.split_last() else {
            return Err(self.outside(name, "empty name"));
        };
        let mut held: Option<OwnedFd> = None;
        for dir in dirs {
            let at = held.as_ref().unwrap_or(&self.fd).as_raw_fd();
            let c_dir = self.c_name(name, dir)?;
            // SAFETY: `at` is an open directory descriptor, `c_dir` a valid C string.
            let fd = unsafe {
                libc::openat(
                    at,
                    c_dir.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                let error = std::io::Error::last_os_error();
                return Err(self.classify(at, name, dir, &c_dir, error));
            }
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            held = Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let at = held.as_ref().unwrap_or(&self.fd).as_raw_fd();
        let c_last = self.c_name(name, last)?;
        // Looked at before opening, so a device or FIFO is never opened at all.
        let before = fstatat(at, &c_last).map_err(|e| self.io(name, e))?;
        self.require_regular(name, last, before.st_mode)?;
        // SAFETY: `at` is an open directory descriptor, `c_last` a valid C string.
        let fd = unsafe {
            libc::openat(
                at,
                c_last.as_ptr(),
                libc::O_RDONLY
                    | libc::O_NOFOLLOW
                    | libc::O_NONBLOCK
                    | libc::O_NOCTTY
                    | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            let error = std::io::Error::last_os_error();
            return Err(self.classify(at, name, last, &c_last, error));
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let after = fstat(fd.as_raw_fd()).map_err(|e| self.io(name, e))?;
        self.require_regular(name, last, after.st_mode)?;
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) {
            return Err(ConfineError::Replaced {
                root: self.path.clone(),
                name: name.to_owned(),
            });
        }
        // Reads of a regular file never block, but clear the flag so the file behaves as
        // one opened plainly.
        // SAFETY: fcntl on a descriptor owned by `fd`.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
        Ok(File::from(fd))
    }

    /// The components of `name`, checked: relative, no `..`, not too many.
    fn components<'a>(&self, name: &'a str) -> Result<Vec<&'a str>, ConfineError> {
        if name.is_empty() {
            return Err(self.outside(name, "empty name"));
        }
        if name.contains('\0') {
            return Err(self.outside(name, "the name holds a NUL byte"));
        }
        let mut out = Vec::new();
        for component in Path::new(name).components() {
            match component {
                Component::Normal(c) => {
                    if out.len() == MAX_PATH_COMPONENTS {
                        return Err(ConfineError::TooDeep {
                            root: self.path.clone(),
                            name: name.to_owned(),
                        });
                    }
                    // `name` is a str, so each component is one too.
                    out.push(c.to_str().unwrap_or_default());
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(self.outside(name, "the name climbs out with `..`"));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.outside(name, "the name is absolute"));
                }
            }
        }
        Ok(out)
    }

    fn c_name(&self, name: &str, component: &str) -> Result<CString, ConfineError> {
        CString::new(component).map_err(|_| self.outside(name, "the name holds a NUL byte"))
    }

    fn require_regular(
        &self,
        name: &str,
        component: &str,
        mode: libc::mode_t,
    ) -> Result<(), ConfineError> {
        match mode & libc::S_IFMT {
            libc::S_IFREG => Ok(()),
            libc::S_IFLNK => Err(ConfineError::Link {
                root: self.path.clone(),
                name: name.to_owned(),
                component: component.to_owned(),
            }),
            other => Err(ConfineError::NotRegular {
                root: self.path.clone(),
                name: name.to_owned(),
                kind: FileKind::of(other),
            }),
        }
    }

    /// Why `openat` of `component` failed: a link, not a directory, or plain I/O.
    fn classify(
        &self,
        at: libc::c_int,
        name: &str,
        component: &str,
        c_component: &CString,
        error: std::io::Error,
    ) -> ConfineError {
        match fstatat(at, c_component) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => ConfineError::Link {
                root: self.path.clone(),
                name: name.to_owned(),
                component: component.to_owned(),
            },
            _ if error.raw_os_error() == Some(libc::ENOTDIR) => ConfineError::NotADirectory {
                root: self.path.clone(),
                name: name.to_owned(),
                component: component.to_owned(),
            },
            _ => self.io(name, error),
        }
    }

    fn outside(&self, name: &str, reason: &'static str) -> ConfineError {
        ConfineError::Outside {
            root: self.path.clone(),
            name: name.to_owned(),
            reason,
        }
    }

    fn io(&self, name: &str, source: std::io::Error) -> ConfineError {
        ConfineError::Io {
            root: self.path.clone(),
            name: name.to_owned(),
            source,
        }
    }
}

/// `fstatat(at, name, AT_SYMLINK_NOFOLLOW)`.
fn fstatat(at: libc::c_int, name: &CString) -> std::io::Result<libc::stat> {
    // SAFETY: `stat` is a plain C struct the call fills; zeroed is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out-pointer.
    let rc = unsafe { libc::fstatat(at, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

fn fstat(fd: libc::c_int) -> std::io::Result<libc::stat> {
    // SAFETY: as in `fstatat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor and out-pointer.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    fn read(file: File) -> String {
        let mut text = String::new();
        let mut file = file;
        file.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn opens_regular_files_at_any_depth_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("top.vmdk"), "top").unwrap();
        std::fs::write(dir.path().join("a/b/deep.vmdk"), "deep").unwrap();
        let root = PackageDir::open(dir.path()).unwrap();
        assert_eq!(read(root.open_file("top.vmdk").unwrap()), "top");
        assert_eq!(read(root.open_file("./a/./b/deep.vmdk").unwrap()), "deep");
        assert_eq!(read(root.open_file("a//b/deep.vmdk").unwrap()), "deep");
        let (parent, file) = PackageDir::open_parent(&dir.path().join("a/b/deep.vmdk")).unwrap();
        assert_eq!(read(parent.open_file(&file).unwrap()), "deep");
    }

    #[test]
    fn refuses_links_in_every_component_even_inside() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host file").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/disk.vmdk"), "inside").unwrap();
        symlink(
            outside.path().join("secret"),
            dir.path().join("escape.vmdk"),
        )
        .unwrap();
        symlink(outside.path(), dir.path().join("linkdir")).unwrap();
        symlink("real/disk.vmdk", dir.path().join("inner.vmdk")).unwrap();
        symlink("real", dir.path().join("innerdir")).unwrap();
        let root = PackageDir::open(dir.path()).unwrap();
        for (name, component) in [
            ("escape.vmdk", "escape.vmdk"),
            ("linkdir/secret", "linkdir"),
            ("inner.vmdk", "inner.vmdk"),
            ("innerdir/disk.vmdk", "innerdir"),
        ] {
            match root.open_file(name) {
                Err(ConfineError::Link { component: c, .. }) => assert_eq!(c, component),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_fifos_and_devices_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        mkfifo(&dir.path().join("pipe.vmdk"));
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let root = PackageDir::open(dir.path()).unwrap();
        let started = Instant::now();
        match root.open_file("pipe.vmdk") {
            Err(ConfineError::NotRegular { kind, .. }) => assert_eq!(kind, FileKind::Fifo),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        match root.open_file("sub") {
            Err(ConfineError::NotRegular { kind, .. }) => assert_eq!(kind, FileKind::Directory),
            other => panic!("{other:?}"),
        }
        let dev = PackageDir::open(Path::new("/dev")).unwrap();
        match dev.open_file("null") {
            Err(ConfineError::NotRegular { kind, .. }) => assert_eq!(kind, FileKind::CharDevice),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_escaping_names_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let root = PackageDir::open(dir.path()).unwrap();
        for name in ["", "/etc/passwd", "../x", "a/../../x", ".", "a\0b"] {
            assert!(
                matches!(root.open_file(name), Err(ConfineError::Outside { .. })),
                "{name:?}"
            );
        }
        let missing = root.open_file("nope/disk.vmdk").unwrap_err();
        assert!(missing.is_not_found(), "{missing}");
        let through_file = root.open_file("file/disk.vmdk").unwrap_err();
        assert!(
            matches!(through_file, ConfineError::NotADirectory { .. }),
            "{through_file}"
        );
        assert!(through_file.is_not_found());
    }

    #[test]
    fn refuses_names_deeper_than_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let deepest = "d/".repeat(MAX_PATH_COMPONENTS - 1);
        std::fs::create_dir_all(dir.path().join(&deepest)).unwrap();
        std::fs::write(dir.path().join(&deepest).join("f"), "ok").unwrap();
        let root = PackageDir::open(dir.path()).unwrap();
        assert_eq!(read(root.open_file(&format!("{deepest}f")).unwrap()), "ok");
        let too_deep = format!("d/{deepest}f");
        assert!(matches!(
            root.open_file(&too_deep),
            Err(ConfineError::TooDeep { .. })
        ));
    }
}
