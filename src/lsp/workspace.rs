//! The editor's view of the topologies: the open documents (overlaying the
//! disk), which file imports which, and one checked [`Analysis`] per root
//! file (a file no other known file imports). A document is checked as part
//! of the topologies of the roots that import it, directly or not, so an
//! imported file is never reported alone for what its importer supplies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lsp_types::{PublishDiagnosticsParams, Uri};

use super::convert;
use super::index::Index;
use crate::diagnostics::SeverityConfig;
use crate::load::{self, DiskFs, FileSystem, OverlayFs};
use crate::source::{FileId, SourceFile};
use crate::syntax::{self, Ast, Item};
use crate::{Checked, check_path};

/// A workspace folder is scanned for imports up to this many `.topo` files
/// and this many folder entries (an editor opened on a home folder must
/// not wait for a walk of the whole disk).
const MAX_SCANNED_FILES: usize = 5_000;
const MAX_SCANNED_ENTRIES: usize = 50_000;

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    /// As the client sent it (diagnostics are published under it).
    pub uri: Uri,
    pub version: i32,
    pub file: SourceFile,
}

/// One checked topology and its index of names.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub checked: Checked,
    pub index: Index,
    /// The key of each file, by file id.
    pub keys: Vec<PathBuf>,
}

impl Analysis {
    fn new(checked: Checked) -> Analysis {
        let index = Index::build(&checked.asts);
        let keys = checked
            .sources
            .files()
            .iter()
            .map(|f| load::normalize(&f.path))
            .collect();
        Analysis {
            checked,
            index,
            keys,
        }
    }

    pub fn file_id(&self, key: &Path) -> Option<FileId> {
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| FileId(i as u32))
    }

    pub fn source(&self, file: FileId) -> &SourceFile {
        self.checked.sources.get(file)
    }

    pub fn ast(&self, file: FileId) -> &Ast {
        &self.checked.asts[file.0 as usize]
    }
}

#[derive(Debug, Default)]
pub struct Workspace {
    documents: BTreeMap<PathBuf, Document>,
    overlay: OverlayFs,
    /// Every known file (open, in a workspace folder, or reached by an
    /// import) and the files it imports.
    imports: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    analyses: BTreeMap<PathBuf, Analysis>,
    /// Files whose last published diagnostics were not empty.
    published: BTreeSet<PathBuf>,
    /// The URI of every document opened so far, as the client wrote it.
    uris: BTreeMap<PathBuf, Uri>,
    config: SeverityConfig,
}

/// The key a path is known by (absolute, `.` and `..` resolved).
/// A document that is not a file (an editor's new, unsaved buffer) gets a
/// key of its own under a folder no file lives in.
pub fn key_of(uri: &Uri) -> Option<PathBuf> {
    match convert::uri_to_path(uri) {
        Some(path) => Some(load::normalize(&path)),
        None => {
            let name: String = uri
                .as_str()
                .chars()
                .flat_map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        vec![c]
                    } else {
                        let mut bytes = [0; 4];
                        c.encode_utf8(&mut bytes)
                            .bytes()
                            .flat_map(|b| format!("_{b:02x}").chars().collect::<Vec<_>>())
                            .collect()
                    }
                })
                .collect();
            Some(PathBuf::from(UNSAVED).join(format!("{name}.topo")))
        }
    }
}

/// Where the keys of documents that are not files live.
const UNSAVED: &str = "/.topoc-unsaved";

impl Workspace {
    pub fn new(config: SeverityConfig) -> Workspace {
        Workspace {
            config,
            ..Workspace::default()
        }
    }

    /// Learn which files of a workspace folder import which, so that a file
    /// opened alone is checked from the files that import it.
    pub fn scan_folder(&mut self, folder: &Path) {
        for path in topo_files_bounded(folder) {
            let Ok(bytes) = DiskFs.read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let key = load::normalize(&path);
            let imports = imports_of(&key, &syntax::parse(&text));
            self.imports.insert(key, imports);
        }
    }

    pub fn document(&self, uri: &Uri) -> Option<&Document> {
        self.documents.get(&key_of(uri)?)
    }

    /// Open or change a document; returns the diagnostics to publish.
    pub fn set_document(
        &mut self,
        uri: Uri,
        version: i32,
        text: String,
    ) -> Vec<PublishDiagnosticsParams> {
        let Some(key) = key_of(&uri) else {
            return Vec::new();
        };
        self.overlay.documents.insert(key.clone(), text.clone());
        self.uris.insert(key.clone(), uri.clone());
        let file = SourceFile::new(FileId(0), key.clone(), text);
        self.documents
            .insert(key.clone(), Document { uri, version, file });
        let roots = self.roots_of(&key);
        self.recheck(roots)
    }

    /// Close a document: the disk is the truth again for it.
    pub fn close_document(&mut self, uri: &Uri) -> Vec<PublishDiagnosticsParams> {
        let Some(key) = key_of(uri) else {
            return Vec::new();
        };
        self.documents.remove(&key);
        self.overlay.documents.remove(&key);
        let roots: BTreeSet<PathBuf> = self
            .analyses
            .iter()
            .filter(|(_, a)| a.keys.contains(&key))
            .map(|(root, _)| root.clone())
            .collect();
        self.recheck(roots)
    }

    /// The analysis that holds a file (the first root's, when several
    /// topologies import it).
    pub fn analysis_of(&self, key: &Path) -> Option<(&Analysis, FileId)> {
        self.analyses
            .values()
            .find_map(|a| a.file_id(key).map(|id| (a, id)))
    }

    /// Every analysis that holds a file.
    pub fn analyses_of<'a>(
        &'a self,
        key: &'a Path,
    ) -> impl Iterator<Item = (&'a Analysis, FileId)> + 'a {
        self.analyses
            .values()
            .filter_map(move |a| a.file_id(key).map(|id| (a, id)))
    }

    /// The URI of a file: the client's for an open document.
    pub fn uri_of(&self, key: &Path) -> Option<Uri> {
        match self.uris.get(key) {
            Some(uri) => Some(uri.clone()),
            None => convert::path_to_uri(key),
        }
    }

    /// The roots whose topologies include `key`: the files that import it,
    /// directly or not, and that nothing imports; `key` itself when nothing
    /// imports it (or only a cycle does).
    fn roots_of(&self, key: &Path) -> BTreeSet<PathBuf> {
        let mut roots = BTreeSet::new();
        let mut seen = BTreeSet::from([key.to_path_buf()]);
        let mut stack = vec![key.to_path_buf()];
        while let Some(file) = stack.pop() {
            let importers: Vec<&PathBuf> = self
                .imports
                .iter()
                .filter(|(importer, imported)| *importer != &file && imported.contains(&file))
                .map(|(importer, _)| importer)
                .collect();
            if importers.is_empty() {
                roots.insert(file);
                continue;
            }
            for importer in importers {
                if seen.insert(importer.clone()) {
                    stack.push(importer.clone());
                }
            }
        }
        if roots.is_empty() {
            roots.insert(key.to_path_buf());
        }
        roots
    }

    /// Check the given roots again, drop analyses of files that are no
    /// longer roots, make sure every open document is in some analysis,
    /// and return what to publish.
    fn recheck(&mut self, roots: BTreeSet<PathBuf>) -> Vec<PublishDiagnosticsParams> {
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut pending: Vec<PathBuf> = roots.into_iter().collect();
        let mut done: BTreeSet<PathBuf> = BTreeSet::new();
        loop {
            while let Some(root) = pending.pop() {
                if !done.insert(root.clone()) {
                    continue;
                }
                if let Some(old) = self.analyses.remove(&root) {
                    touched.extend(old.keys);
                }
                let Ok(checked) = check_path(&root, &self.overlay, &self.config) else {
                    // The root is gone from the disk: it imports nothing now.
                    self.imports.remove(&root);
                    continue;
                };
                let analysis = Analysis::new(checked);
                for (i, key) in analysis.keys.iter().enumerate() {
                    self.imports
                        .insert(key.clone(), imports_of(key, &analysis.checked.asts[i]));
                }
                touched.extend(analysis.keys.iter().cloned());
                self.analyses.insert(root, analysis);
            }
            // An analysis whose root is now imported by another file gives
            // way to that file's topology.
            let imported: Vec<PathBuf> = self
                .analyses
                .keys()
                .filter(|root| self.roots_of(root) != BTreeSet::from([(*root).clone()]))
                .cloned()
                .collect();
            for root in imported {
                if let Some(old) = self.analyses.remove(&root) {
                    touched.extend(old.keys);
                }
                pending.extend(self.roots_of(&root));
            }
            // Analyses that no longer hold an open document are dropped.
            let idle: Vec<PathBuf> = self
                .analyses
                .iter()
                .filter(|(_, a)| !a.keys.iter().any(|k| self.documents.contains_key(k)))
                .map(|(root, _)| root.clone())
                .collect();
            for root in idle {
                if let Some(old) = self.analyses.remove(&root) {
                    touched.extend(old.keys);
                }
            }
            // Every open document is checked somewhere.
            for key in self.documents.keys() {
                if self.analysis_of(key).is_none() {
                    pending.extend(self.roots_of(key));
                }
            }
            pending.retain(|root| !done.contains(root));
            if pending.is_empty() {
                break;
            }
        }
        self.publish(touched)
    }

    /// The diagnostics of each touched file, from every analysis holding
    /// it; an empty list clears what was published before.
    fn publish(&mut self, touched: BTreeSet<PathBuf>) -> Vec<PublishDiagnosticsParams> {
        let mut out = Vec::new();
        for key in touched {
            let mut diagnostics: Vec<lsp_types::Diagnostic> = Vec::new();
            for (analysis, file) in self.analyses_of(&key) {
                let sources = &analysis.checked.sources;
                for d in analysis
                    .checked
                    .diagnostics
                    .iter()
                    .filter(|d| d.span.file == file)
                {
                    let converted = convert::diagnostic(sources, d);
                    if !diagnostics.contains(&converted) {
                        diagnostics.push(converted);
                    }
                }
            }
            if diagnostics.is_empty() && !self.published.contains(&key) && !self.is_open(&key) {
                continue;
            }
            if diagnostics.is_empty() {
                self.published.remove(&key);
            } else {
                self.published.insert(key.clone());
            }
            let Some(uri) = self.uri_of(&key) else {
                continue;
            };
            out.push(PublishDiagnosticsParams {
                uri,
                diagnostics,
                version: self.documents.get(&key).map(|d| d.version),
            });
        }
        out
    }

    fn is_open(&self, key: &Path) -> bool {
        self.documents.contains_key(key)
    }
}

/// The `.topo` files under a folder, in path order, skipping hidden
/// folders, `target` and `node_modules`, within the scan bounds.
fn topo_files_bounded(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries = 0usize;
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            entries += 1;
            if entries > MAX_SCANNED_ENTRIES || files.len() >= MAX_SCANNED_FILES {
                files.sort();
                return files;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if kind.is_file() && name.ends_with(".topo") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The files a file imports, as keys (relative to the importing file).
fn imports_of(key: &Path, ast: &Ast) -> BTreeSet<PathBuf> {
    let base = key.parent().unwrap_or(Path::new(""));
    ast.items
        .iter()
        .filter_map(|item| match item {
            Item::Import(import) => import.path.as_ref(),
            _ => None,
        })
        .filter(|path| !path.value.is_empty())
        .map(|path| load::normalize(&base.join(&path.value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(published: &[PublishDiagnosticsParams], uri: &Uri) -> Option<Vec<String>> {
        published.iter().rev().find(|p| &p.uri == uri).map(|p| {
            p.diagnostics
                .iter()
                .filter_map(|d| match &d.code {
                    Some(lsp_types::NumberOrString::String(code)) => Some(code.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    const SITE: &str = "datacenter d {\n  role = primary\n}\n";
    const MAIN: &str = "topology t {\n  version = \"4.2.0\"\n}\n";

    #[test]
    fn an_import_added_or_removed_changes_the_topology_of_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let main = convert::path_to_uri(&dir.path().join("main.topo")).expect("uri");
        let site = convert::path_to_uri(&dir.path().join("site.topo")).expect("uri");
        let mut ws = Workspace::new(SeverityConfig::default());
        let _ = ws.set_document(main.clone(), 1, MAIN.into());
        let published = ws.set_document(site.clone(), 1, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec!["E004".to_string()]));

        let importing = format!("import \"site.topo\"\n{MAIN}");
        let published = ws.set_document(main.clone(), 2, importing);
        assert_eq!(codes(&published, &site), Some(vec![]), "{published:#?}");
        assert_eq!(ws.analyses.len(), 1, "one topology: main's");

        let published = ws.set_document(main.clone(), 3, MAIN.into());
        assert_eq!(codes(&published, &site), Some(vec!["E004".to_string()]));
        assert_eq!(ws.analyses.len(), 2);
    }

    #[test]
    fn a_deleted_importer_leaves_the_file_on_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let main_path = dir.path().join("main.topo");
        std::fs::write(&main_path, format!("import \"site.topo\"\n{MAIN}")).expect("write");
        std::fs::write(dir.path().join("site.topo"), SITE).expect("write");
        std::fs::create_dir(dir.path().join(".hidden")).expect("mkdir");
        std::fs::write(dir.path().join(".hidden/x.topo"), MAIN).expect("write");
        let mut ws = Workspace::new(SeverityConfig::default());
        ws.scan_folder(dir.path());
        assert_eq!(ws.imports.len(), 2, "hidden folders are skipped");
        let site = convert::path_to_uri(&dir.path().join("site.topo")).expect("uri");
        let published = ws.set_document(site.clone(), 1, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec![]));

        std::fs::remove_file(&main_path).expect("delete");
        let published = ws.set_document(site.clone(), 2, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec!["E004".to_string()]));
    }
}
