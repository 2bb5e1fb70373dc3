//! A topology as it was at a git revision: its files read with `git show
//! REV:PATH` from the repository the path is in, so `plan --since REV`
//! reads the same files, imports included, as they were committed.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::load::{FileSystem, MAX_FILE_BYTES, normalize, skipped_folder};

/// The files of one revision of a git repository.
#[derive(Debug, Clone)]
pub struct GitFs {
    /// The repository's top folder, absolute.
    root: PathBuf,
    /// The revision, resolved to a commit.
    commit: String,
    /// The folder relative paths are read from (the current one).
    base: PathBuf,
}

/// `git` in `dir`, its standard output when it succeeds.
fn git(dir: &Path, args: &[&str]) -> io::Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| io::Error::other(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(io::Error::other(if message.is_empty() {
            format!("git {} failed", args.join(" "))
        } else {
            message
        }))
    }
}

impl GitFs {
    /// The repository holding `path` (a file or folder of the working
    /// tree), at `revision`.
    pub fn open(path: &Path, revision: &str) -> Result<Self, String> {
        let base = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
        let absolute = normalize(&base.join(path));
        let mut dir = absolute.clone();
        while !dir.is_dir() {
            if !dir.pop() {
                return Err(format!("{} is in no folder", path.display()));
            }
        }
        let root = git(&dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| format!("{} is not in a git repository: {e}", path.display()))?;
        let root = PathBuf::from(String::from_utf8_lossy(&root).trim());
        if revision.starts_with('-') {
            return Err(format!("`{revision}` is not a revision"));
        }
        let commit = git(
            &root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{revision}^{{commit}}"),
            ],
        )
        .map_err(|_| format!("`{revision}` is not a commit of {}", root.display()))?;
        Ok(GitFs {
            root,
            commit: String::from_utf8_lossy(&commit).trim().to_string(),
            base,
        })
    }

    /// The commit the revision names.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// A path as git names it: relative to the repository's top, with `/`.
    fn in_repo(&self, path: &Path) -> io::Result<String> {
        let absolute = normalize(&self.base.join(path));
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        // The working tree may reach the repository through a symbolic
        // link: compare the canonical forms of the folders that exist.
        let mut existing = absolute.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match existing.file_name() {
                Some(name) => rest.push(name.to_os_string()),
                None => break,
            }
            existing.pop();
        }
        let mut canonical = std::fs::canonicalize(&existing).unwrap_or(existing);
        for name in rest.into_iter().rev() {
            canonical.push(name);
        }
        let relative = canonical.strip_prefix(&root).map_err(|_| {
            io::Error::other(format!("{} is outside the repository", path.display()))
        })?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Ok(parts.join("/"))
    }

    fn object(&self, path: &Path) -> io::Result<String> {
        Ok(format!("{}:{}", self.commit, self.in_repo(path)?))
    }
}

impl FileSystem for GitFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let object = self.object(path)?;
        let size = git(&self.root, &["cat-file", "-s", &object]).map_err(|_| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("not in revision {}", short(&self.commit)),
            )
        })?;
        let size: u64 = String::from_utf8_lossy(&size).trim().parse().unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return Err(io::Error::other(format!(
                "file is {size} bytes at {}; topoc reads files up to {} MiB",
                short(&self.commit),
                MAX_FILE_BYTES / (1024 * 1024)
            )));
        }
        if self.is_dir(path) {
            return Err(io::Error::other("is a folder, not a .topo file"));
        }
        git(&self.root, &["cat-file", "blob", &object])
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.object(path)
            .and_then(|object| git(&self.root, &["cat-file", "-t", &object]))
            .is_ok_and(|kind| kind.trim_ascii() == b"tree")
    }

    fn topo_files(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let relative = self.in_repo(dir)?;
        let listing = git(
            &self.root,
            &[
                "ls-tree",
                "-r",
                "-z",
                "--name-only",
                &self.commit,
                "--",
                &relative,
            ],
        )?;
        let mut out = Vec::new();
        for name in listing.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let name = String::from_utf8_lossy(name);
            let inside = name
                .strip_prefix(relative.as_str())
                .unwrap_or(&name)
                .trim_start_matches('/');
            let parts: Vec<&str> = inside.split('/').collect();
            let hidden = parts[..parts.len() - 1]
                .iter()
                .any(|part| skipped_folder(part));
            if hidden || !name.ends_with(".topo") {
                continue;
            }
            out.push(dir.join(inside));
        }
        out.sort();
        Ok(out)
    }

    fn key(&self, path: &Path) -> PathBuf {
        normalize(&self.base.join(path))
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn files_are_read_as_committed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        run(repo, &["init", "-q"]);
        std::fs::create_dir_all(repo.join("topo/.hidden")).unwrap();
        std::fs::write(repo.join("topo/a.topo"), "first\n").unwrap();
        std::fs::write(repo.join("topo/.hidden/x.topo"), "hidden\n").unwrap();
        run(repo, &["add", "-A"]);
        run(repo, &["commit", "-q", "-m", "one"]);
        std::fs::write(repo.join("topo/a.topo"), "second\n").unwrap();
        std::fs::write(repo.join("topo/b.topo"), "new\n").unwrap();
        let folder = repo.join("topo");
        let fs = GitFs::open(&folder, "HEAD").unwrap();
        assert_eq!(fs.read(&folder.join("a.topo")).unwrap(), b"first\n");
        assert!(fs.read(&folder.join("b.topo")).is_err());
        assert!(fs.is_dir(&folder));
        assert!(!fs.is_dir(&folder.join("a.topo")));
        assert_eq!(fs.topo_files(&folder).unwrap(), vec![folder.join("a.topo")]);
        assert!(GitFs::open(&folder, "no-such-rev").is_err());
        assert!(GitFs::open(&folder, "--all").is_err());
    }
}
