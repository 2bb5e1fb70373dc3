//! The output folder of `topoc build`: the build owns it, and nothing else
//! in it is touched silently.
//!
//! - Every build writes [`MANIFEST`], the list of the files it wrote with
//!   their SHA-256. A rebuild replaces the folder only if every file in it
//!   is listed there, unchanged; otherwise it stops and names the files
//!   (topoc did not write them, or they were edited since), unless
//!   `--force` says to replace it anyway.
//! - The folder is never the current folder, nor one that holds the
//!   current folder or the topology's sources, whatever the flags.
//! - Files the operator supplies (secrets, certificates, keystores, JDBC
//!   drivers) live in [`OPERATOR_FILES`] beside the output folder, which the
//!   build never writes; the artifacts reference them there.
//! - The new tree is written beside the old one and swapped in by renames,
//!   so a failed build leaves the folder as it was. What a killed build
//!   leaves beside it (`.<name>.topoc-new-<pid>`, `.<name>.topoc-old-<pid>`)
//!   is removed by the next build into the same folder.
//! - A symlinked output folder is followed: the folder it points to is
//!   replaced, the link stays.
//! - `build --check` shows the diff of a file only when its content on disk
//!   is what an earlier build wrote; any other file is named, never shown.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Artifacts;

/// The list of the files a build wrote, in the output folder.
pub const MANIFEST: &str = ".topoc-manifest";

pub use crate::deployment::layout::OPERATOR_FILES;

/// Why an output folder cannot be written.
#[derive(Debug)]
pub enum OutputError {
    /// The folder holds files the build did not write, or that were edited
    /// since it wrote them.
    Foreign {
        out: PathBuf,
        foreign: Vec<String>,
        edited: Vec<String>,
    },
    /// The folder is, or holds, the current folder or the topology's sources.
    Protected {
        out: PathBuf,
        holds: String,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
    /// The new output is in place, but the old one could not be removed.
    OldNotRemoved {
        old: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Foreign {
                out,
                foreign,
                edited,
            } => {
                write!(f, "{} was not replaced: ", out.display())?;
                let mut parts = Vec::new();
                if !foreign.is_empty() {
                    parts.push(format!(
                        "it holds {} topoc did not write ({})",
                        count(foreign.len(), "file"),
                        listed(foreign)
                    ));
                }
                if !edited.is_empty() {
                    parts.push(format!(
                        "{} changed since topoc wrote {} ({})",
                        count(edited.len(), "file"),
                        if edited.len() == 1 { "it" } else { "them" },
                        listed(edited)
                    ));
                }
                write!(
                    f,
                    "{}. Keep files of your own in `{OPERATOR_FILES}/` beside the output folder (out/README.md says what goes there), or give --force to replace the folder and lose them",
                    parts.join(", and ")
                )
            }
            OutputError::Protected { out, holds } => write!(
                f,
                "{} is not an output folder topoc may replace: it {holds}. Give another --out",
                out.display()
            ),
            OutputError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            OutputError::OldNotRemoved { old, error } => write!(
                f,
                "the new output is in place, but the old one could not be removed from {}: {error} (the next build removes it)",
                old.display()
            ),
        }
    }
}

impl std::error::Error for OutputError {}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The first few paths, then how many more.
fn listed(paths: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    text
}

/// The hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The manifest of a set of artifacts (itself excluded): one
/// `<sha256>  <path>` line per file, the format `sha256sum` reads.
pub fn manifest(artifacts: &Artifacts) -> String {
    let mut out = String::from(
        "# The files of this folder that `topoc build` wrote, with their SHA-256.\n# A rebuild replaces the folder only when every file in it is listed here, unchanged.\n",
    );
    for (path, content) in artifacts.iter() {
        if path != MANIFEST {
            out.push_str(&format!("{}  {path}\n", sha256_hex(content.as_bytes())));
        }
    }
    out
}

fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, path)| (path.to_string(), hash.to_string()))
        .collect()
}

/// What an existing output folder holds, against its manifest.
#[derive(Debug, Default)]
struct Survey {
    /// Every file (and symlink) by relative path, with its content.
    files: BTreeMap<String, Vec<u8>>,
    /// The manifest's hashes by path; empty when there is none.
    manifest: BTreeMap<String, String>,
}

impl Survey {
    fn of(out: &Path) -> Result<Survey, OutputError> {
        let mut survey = Survey::default();
        if !out.is_dir() {
            return Ok(survey);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| OutputError::Io { path, error }
        };
        let mut stack = vec![out.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
                let entry = entry.map_err(io(&dir))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(io(&path))?;
                if kind.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path
                    .strip_prefix(out)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                // A symlink is the operator's: topoc writes none.
                let content = if kind.is_symlink() {
                    Vec::new()
                } else {
                    std::fs::read(&path).map_err(io(&path))?
                };
                if relative == MANIFEST {
                    survey.manifest = parse_manifest(&String::from_utf8_lossy(&content));
                }
                survey.files.insert(relative, content);
            }
        }
        Ok(survey)
    }

    /// Was this file written by an earlier build, and is it unchanged?
    fn ours(&self, path: &str) -> bool {
        path == MANIFEST
            || match (self.files.get(path), self.manifest.get(path)) {
                (Some(content), Some(hash)) => sha256_hex(content) == *hash,
                _ => false,
            }
    }

    /// Files the build did not write, and files it wrote that changed.
    fn not_ours(&self) -> (Vec<String>, Vec<String>) {
        let mut foreign = Vec::new();
        let mut edited = Vec::new();
        for path in self.files.keys() {
            if self.ours(path) {
                continue;
            }
            if self.manifest.contains_key(path) {
                edited.push(path.clone());
            } else {
                foreign.push(path.clone());
            }
        }
        (foreign, edited)
    }
}

/// The output folder as the build uses it: a symlink followed to its
/// target.
fn resolve(out: &Path) -> PathBuf {
    match std::fs::symlink_metadata(out) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf())
        }
        _ => out.to_path_buf(),
    }
}

/// The absolute, normalized form of a path that may not exist yet.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => absolute(p),
        _ => std::env::current_dir().unwrap_or_default(),
    };
    match path.file_name() {
        Some(name) => base.join(name),
        None => base,
    }
}

/// Refuse an output folder that is or holds the current folder or a source.
fn protect(out: &Path, sources: &[PathBuf]) -> Result<(), OutputError> {
    let target = absolute(out);
    let refuse = |holds: String| OutputError::Protected {
        out: out.to_path_buf(),
        holds,
    };
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if cwd == target {
            return Err(refuse("is the current folder".to_string()));
        }
        if cwd.starts_with(&target) {
            return Err(refuse(format!(
                "holds the current folder {}",
                cwd.display()
            )));
        }
    }
    for source in sources {
        let source = absolute(source);
        if source.starts_with(&target) {
            return Err(refuse(format!(
                "holds the topology's source {}",
                source.display()
            )));
        }
    }
    Ok(())
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn name_of(out: &Path) -> String {
    out.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string())
}

/// `.<name>.topoc-<kind>-<pid>`: a temporary folder beside the output.
fn temporary(out: &Path, kind: &str) -> PathBuf {
    parent_of(out).join(format!(
        ".{}.topoc-{kind}-{}",
        name_of(out),
        std::process::id()
    ))
}

/// Is a build with this process id still running? Where that cannot be
/// told, a leftover counts as abandoned after a day.
fn running(pid: u32, path: &Path) -> bool {
    if cfg!(target_os = "linux") {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age.as_secs() < 24 * 3600)
}

/// Remove what earlier builds into `out` left beside it: their temporary
/// folders, when the build that made them is no longer running.
fn remove_leftovers(out: &Path) -> Result<(), OutputError> {
    let parent = parent_of(out);
    let prefix = format!(".{}.", name_of(out));
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = ["topoc-new-", "topoc-old-", "old-"]
            .iter()
            .find_map(|kind| rest.strip_prefix(kind))
            .and_then(|pid| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        let path = entry.path();
        if pid == std::process::id() || !running(pid, &path) {
            std::fs::remove_dir_all(&path).map_err(|error| OutputError::Io {
                path: path.clone(),
                error,
            })?;
        }
    }
    Ok(())
}

/// Write the artifacts to `out`: checked ([`protect`], the manifest), into
/// a temporary folder beside it, then swapped in by renames. A failure
/// leaves `out` as it was; nothing is left beside it.
pub fn write(
    out: &Path,
    artifacts: &Artifacts,
    sources: &[PathBuf],
    force: bool,
) -> Result<(), OutputError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |error: io::Error| OutputError::Io { path, error }
    };
    protect(out, sources)?;
    let out = &resolve(out);
    protect(out, sources)?;
    if out.exists() && !out.is_dir() {
        return Err(OutputError::Io {
            path: out.to_path_buf(),
            error: io::Error::other("exists and is not a folder"),
        });
    }
    if !force {
        let (foreign, edited) = Survey::of(out)?.not_ours();
        if !foreign.is_empty() || !edited.is_empty() {
            return Err(OutputError::Foreign {
                out: out.to_path_buf(),
                foreign,
                edited,
            });
        }
    }
    let parent = parent_of(out);
    std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    remove_leftovers(out)?;
    let staging = temporary(out, "new");
    let staged = stage(&staging, artifacts);
    if let Err(error) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    if !out.exists() {
        return std::fs::rename(&staging, out).map_err(|error| {
            let _ = std::fs::remove_dir_all(&staging);
            OutputError::Io {
                path: out.to_path_buf(),
                error,
            }
        });
    }
    let old = temporary(out, "old");
    if let Err(error) = std::fs::rename(out, &old) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(OutputError::Io {
            path: out.to_path_buf(),
            error,
        });
    }
    if let Err(error) = std::fs::rename(&staging, out) {
        // Put the old output back.
        let _ = std::fs::rename(&old, out);
        let _ = std::fs::remove_dir_all(&staging);
        return Err(OutputError::Io {
            path: out.to_path_buf(),
            error,
        });
    }
    std::fs::remove_dir_all(&old).map_err(|error| OutputError::OldNotRemoved { old, error })
}

fn stage(staging: &Path, artifacts: &Artifacts) -> Result<(), OutputError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |error: io::Error| OutputError::Io { path, error }
    };
    std::fs::create_dir(staging).map_err(io_error(staging))?;
    let mut created: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, content) in artifacts.iter() {
        let target = staging.join(path);
        if let Some(dir) = target.parent()
            && !created.contains(dir)
        {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            created.insert(dir.to_path_buf());
        }
        std::fs::write(&target, content).map_err(io_error(&target))?;
        #[cfg(unix)]
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .map_err(io_error(&target))?;
        }
    }
    Ok(())
}

/// How `out` differs from what would be written, or `None` when it is up
/// to date. A file whose content on disk is what an earlier build wrote
/// (its manifest says so) is shown as a unified diff; every other file is
/// only named, so nothing the operator put there (a secret, say) is printed.
/// Files missing from `out` are named, not printed.
pub fn diff(out: &Path, artifacts: &Artifacts) -> Result<Option<String>, OutputError> {
    let out = &resolve(out);
    let survey = Survey::of(out)?;
    let mut diffs = String::new();
    let mut missing = Vec::new();
    let mut removed = Vec::new();
    let mut foreign = Vec::new();
    let mut edited = Vec::new();
    let mut changed = 0usize;
    let paths: BTreeSet<&str> = survey
        .files
        .keys()
        .map(String::as_str)
        .chain(artifacts.paths())
        .filter(|p| *p != MANIFEST)
        .collect();
    for path in paths {
        let new = artifacts.get(path);
        let old = survey.files.get(path);
        if old.map(Vec::as_slice) == new.map(str::as_bytes) {
            continue;
        }
        match (old, new) {
            (None, _) => missing.push(path.to_string()),
            (Some(_), _) if !survey.ours(path) => {
                if survey.manifest.contains_key(path) {
                    edited.push(path.to_string());
                } else {
                    foreign.push(path.to_string());
                }
            }
            (Some(_), None) => removed.push(path.to_string()),
            (Some(old), Some(new)) => {
                changed += 1;
                let old = String::from_utf8_lossy(old);
                let text = similar::TextDiff::from_lines(old.as_ref(), new)
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{path}"), &format!("b/{path}"))
                    .to_string();
                diffs.push_str(&text);
                if !diffs.ends_with('\n') {
                    diffs.push('\n');
                }
            }
        }
    }
    let mut report = diffs;
    // At most this many files of a kind are named; a count says the rest.
    const NAMED: usize = 20;
    let mut section = |title: String, paths: &[String]| {
        if paths.is_empty() {
            return;
        }
        report.push_str(&format!("{title}:\n"));
        for path in paths.iter().take(NAMED) {
            report.push_str(&format!("  {path}\n"));
        }
        if paths.len() > NAMED {
            report.push_str(&format!("  ... and {} more\n", paths.len() - NAMED));
        }
    };
    if !out.exists() {
        return Ok(Some(format!(
            "{} does not exist: the build would write {}\n",
            out.display(),
            count(artifacts.len(), "file")
        )));
    }
    section(
        format!(
            "{} missing (the build would write them)",
            count(missing.len(), "file")
        ),
        &missing,
    );
    section(
        format!("{} the build would remove", count(removed.len(), "file")),
        &removed,
    );
    section(
        format!(
            "{} topoc did not write (content not shown; a build refuses to replace them)",
            count(foreign.len(), "file")
        ),
        &foreign,
    );
    section(
        format!(
            "{} changed since topoc wrote them (content not shown; a build refuses to replace them)",
            count(edited.len(), "file")
        ),
        &edited,
    );
    if report.is_empty() {
        return Ok(None);
    }
    report.push_str(&format!(
        "{}: {} missing, {} changed, {} to remove, {} not written by topoc\n",
        out.display(),
        count(missing.len(), "file"),
        changed,
        removed.len(),
        foreign.len() + edited.len()
    ));
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts(files: &[(&str, &str)]) -> Artifacts {
        let mut a = Artifacts::default();
        for (path, content) in files {
            a.insert(*path, content.to_string());
        }
        let m = manifest(&a);
        a.insert(MANIFEST, m);
        a
    }

    #[test]
    fn a_rebuild_replaces_only_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = artifacts(&[("a.txt", "one\n"), ("sub/b.txt", "two\n")]);
        write(&out, &first, &[], false).unwrap();
        let second = artifacts(&[("a.txt", "uno\n")]);
        write(&out, &second, &[], false).unwrap();
        assert!(!out.join("sub/b.txt").exists());
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "uno\n");
        // An operator's file stops the next build, which names it.
        std::fs::create_dir_all(out.join("secrets")).unwrap();
        std::fs::write(out.join("secrets/db-password"), "hunter2").unwrap();
        let error = write(&out, &first, &[], false).unwrap_err().to_string();
        assert!(error.contains("secrets/db-password"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        assert_eq!(
            std::fs::read_to_string(out.join("secrets/db-password")).unwrap(),
            "hunter2"
        );
        // So does an edited file.
        std::fs::remove_dir_all(out.join("secrets")).unwrap();
        std::fs::write(out.join("a.txt"), "edited\n").unwrap();
        let error = write(&out, &first, &[], false).unwrap_err().to_string();
        assert!(
            error.contains("1 file changed since topoc wrote it (a.txt)"),
            "{error}"
        );
        // --force replaces it.
        write(&out, &first, &[], true).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "one\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["out"]);
    }

    #[test]
    fn a_folder_without_a_manifest_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("site.topo"), "topology x {}").unwrap();
        let error = write(dir.path(), &artifacts(&[("a", "b")]), &[], false).unwrap_err();
        assert!(error.to_string().contains("site.topo"), "{error}");
        assert!(dir.path().join("site.topo").exists());
    }

    #[test]
    fn the_sources_folder_is_refused_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("deploy/site.topo");
        std::fs::create_dir_all(source.parent().unwrap()).unwrap();
        std::fs::write(&source, "topology x {}").unwrap();
        let out = dir.path().join("deploy");
        let error = write(
            &out,
            &artifacts(&[("a", "b")]),
            std::slice::from_ref(&source),
            true,
        )
        .unwrap_err();
        assert!(matches!(error, OutputError::Protected { .. }), "{error}");
        assert!(source.exists());
        let error = write(
            dir.path(),
            &artifacts(&[]),
            std::slice::from_ref(&source),
            true,
        )
        .unwrap_err();
        assert!(matches!(error, OutputError::Protected { .. }), "{error}");
    }

    #[test]
    fn leftovers_of_a_killed_build_are_removed_and_a_symlink_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        // A build that no longer runs (pid 0 is never a build's) left these.
        std::fs::create_dir_all(dir.path().join(".real.topoc-new-0/x")).unwrap();
        std::fs::create_dir_all(dir.path().join(".real.topoc-old-0")).unwrap();
        std::fs::create_dir_all(dir.path().join(".real.old-0")).unwrap();
        // Another folder's are not this build's to remove.
        std::fs::create_dir_all(dir.path().join(".other.topoc-new-0")).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write(&link, &artifacts(&[("a", "b")]), &[], false).unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read_to_string(real.join("a")).unwrap(), "b");
            let mut left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            left.sort();
            assert_eq!(left, [".other.topoc-new-0", "link", "real"]);
        }
    }

    #[test]
    fn check_names_what_it_did_not_write_and_never_shows_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let built = artifacts(&[("a.txt", "one\n"), ("b.txt", "two\n")]);
        write(&out, &built, &[], false).unwrap();
        assert_eq!(diff(&out, &built).unwrap(), None);
        std::fs::write(out.join("secret"), "hunter2\n").unwrap();
        std::fs::write(out.join("b.txt"), "hunter3\n").unwrap();
        std::fs::remove_file(out.join("a.txt")).unwrap();
        let changed = artifacts(&[("a.txt", "one\n"), ("b.txt", "two\n"), ("c.txt", "new\n")]);
        let report = diff(&out, &changed).unwrap().unwrap();
        assert!(!report.contains("hunter"), "{report}");
        assert!(report.contains("2 files missing"), "{report}");
        assert!(report.contains("  secret\n"), "{report}");
        assert!(report.contains("  b.txt\n"), "{report}");
        // A file an earlier build wrote is shown as a diff.
        write(&out, &built, &[], true).unwrap();
        let report = diff(&out, &artifacts(&[("a.txt", "uno\n"), ("b.txt", "two\n")]))
            .unwrap()
            .unwrap();
        assert!(report.contains("-one\n+uno\n"), "{report}");
        let missing = diff(&dir.path().join("nowhere"), &built).unwrap().unwrap();
        assert_eq!(missing.lines().count(), 1, "{missing}");
    }

    #[test]
    fn the_manifest_lists_every_written_file_with_its_sha256() {
        let built = artifacts(&[("a.txt", ""), ("sub dir/b c.txt", "x\n")]);
        let text = built.get(MANIFEST).unwrap();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (hash, path) = line.split_once("  ").expect("hash, two spaces, path");
            assert_eq!(hash.len(), 64, "{line}");
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
            assert_ne!(path, MANIFEST, "the manifest does not list itself");
        }
        let listed = parse_manifest(text);
        assert_eq!(
            listed.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a.txt", "sub dir/b c.txt"]
        );
        assert_eq!(
            listed["a.txt"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(listed["sub dir/b c.txt"], sha256_hex(b"x\n"));
    }

    #[test]
    fn a_file_no_longer_built_is_named_for_removal() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write(
            &out,
            &artifacts(&[("a.txt", "one\n"), ("b.txt", "two\n")]),
            &[],
            false,
        )
        .unwrap();
        let report = diff(&out, &artifacts(&[("a.txt", "one\n")]))
            .unwrap()
            .expect("stale");
        assert!(
            report.contains("1 file the build would remove:\n  b.txt\n"),
            "{report}"
        );
        assert!(
            report.contains("0 changed, 1 to remove, 0 not written by topoc"),
            "{report}"
        );
        assert!(!report.contains("two"), "{report}");
    }
}
