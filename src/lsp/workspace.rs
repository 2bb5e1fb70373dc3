//! The editor's view of the topologies: the open documents (overlaying the
//! disk), which file imports which, and one checked [`Analysis`] per unit
//! of checking. A document is checked the way the command line would check
//! it (grammar/README.md, "The language server"): as part of the files that
//! import it, directly or not (its roots), and each root as the folder
//! topology it belongs to (`topoc check DIR`) or on its own with its
//! imports (`topoc check FILE`).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lsp_types::{PublishDiagnosticsParams, Uri};

use super::convert;
use super::index::Index;
use crate::diagnostics::SeverityConfig;
use crate::load::{self, DiskFs, FileSystem, OverlayFs};
use crate::model::BlockKind;
use crate::source::{FileId, SourceFile};
use crate::syntax::{self, Ast, Item};
use crate::{Checked, check_path};

/// A workspace folder is scanned for imports up to this many `.topo` files
/// and this many folder entries (an editor opened on a home folder must
/// not wait for a walk of the whole disk). A folder larger than that is
/// never checked as one topology.
const MAX_SCANNED_FILES: usize = 5_000;
const MAX_SCANNED_ENTRIES: usize = 50_000;

/// After a change, what each open document is checked as is settled again
/// at most this many times (a check can reveal imports that change it).
const MAX_ROUNDS: usize = 8;

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    /// As the client sent it (diagnostics are published under it).
    pub uri: Uri,
    /// The version the client last sent.
    pub version: i32,
    /// The document's text with its line index; its path is the document's
    /// key and its id is 0, whatever id the file has in an analysis.
    pub file: SourceFile,
}

/// One checked topology and its index of names.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The result of checking the topology.
    pub checked: Checked,
    /// The names declared and referred to in its files.
    pub index: Index,
    /// The key of each file, by file id.
    pub keys: Vec<PathBuf>,
    /// The root file it was checked for (a folder's analysis is checked
    /// for one of the roots in it).
    pub root: PathBuf,
}

impl Analysis {
    fn new(checked: Checked, root: PathBuf) -> Analysis {
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
            root,
        }
    }

    /// The id of the file with this key in this analysis, if the analysis has
    /// it.
    pub fn file_id(&self, key: &Path) -> Option<FileId> {
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| FileId(i as u32))
    }

    /// A file of the analysis.
    pub fn source(&self, file: FileId) -> &SourceFile {
        self.checked.sources.get(file)
    }

    /// The syntax tree of a file of the analysis.
    pub fn ast(&self, file: FileId) -> &Ast {
        &self.checked.asts[file.0 as usize]
    }
}

/// What a file declares that decides how it is checked: its `topology`
/// blocks and its imports.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    topologies: usize,
    imports: BTreeSet<PathBuf>,
}

/// The version of a file that [`Facts`] were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    /// An open document, by a hash of its text.
    Open(u64),
    /// A file on disk, by modification time and length.
    Disk(Option<SystemTime>, u64),
}

/// What the language server knows: the open documents, the files of the
/// workspace folders and their imports, and one analysis per root topology.
#[derive(Debug, Default)]
pub struct Workspace {
    documents: BTreeMap<PathBuf, Document>,
    overlay: OverlayFs,
    /// Every known file (open, in a workspace folder, or reached by an
    /// import) and the files it imports.
    imports: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// By unit: a root file checked on its own, or a folder checked whole.
    analyses: BTreeMap<PathBuf, Analysis>,
    /// The workspace folders: how far up a root looks for its folder.
    folders: Vec<PathBuf>,
    facts: BTreeMap<PathBuf, (Stamp, Facts)>,
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
    /// An empty workspace whose checks use this severity configuration.
    pub fn new(config: SeverityConfig) -> Workspace {
        Workspace {
            config,
            ..Workspace::default()
        }
    }

    /// Learn which files of a workspace folder import which, so that a file
    /// opened alone is checked from the files that import it; a root looks
    /// for its folder topology up to the workspace folder.
    pub fn scan_folder(&mut self, folder: &Path) {
        let folder_key = load::normalize(folder);
        if !self.folders.contains(&folder_key) {
            self.folders.push(folder_key);
        }
        let (files, _) = topo_files_bounded(folder);
        for path in files {
            let Ok(bytes) = DiskFs.read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            let key = load::normalize(&path);
            let imports = imports_of(&key, &syntax::parse(&text));
            self.imports.insert(key, imports);
        }
    }

    /// The open document with this URI, if any.
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
        self.recheck(&key)
    }

    /// Close a document: the disk is the truth again for it.
    pub fn close_document(&mut self, uri: &Uri) -> Vec<PublishDiagnosticsParams> {
        let Some(key) = key_of(uri) else {
            return Vec::new();
        };
        self.documents.remove(&key);
        self.overlay.documents.remove(&key);
        self.recheck(&key)
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

    /// How a root is checked: the nearest folder holding it, from its own
    /// folder up to its workspace folder, whose files (every `.topo` under
    /// it, as `topoc check DIR` reads them, and what they import) declare a
    /// `topology` block; that folder when they declare exactly one, else
    /// the root on its own. Without a workspace folder only the root's own
    /// folder is looked at.
    fn unit_of(&mut self, root: &Path) -> PathBuf {
        let alone = root.to_path_buf();
        let limit = self
            .folders
            .iter()
            .filter(|f| root.starts_with(f))
            .max_by_key(|f| f.components().count())
            .cloned();
        let Some(mut dir) = root.parent().map(Path::to_path_buf) else {
            return alone;
        };
        loop {
            let (files, complete) = topo_files_bounded(&dir);
            if !complete {
                return alone;
            }
            let keys: BTreeSet<PathBuf> = files.iter().map(|f| load::normalize(f)).collect();
            if !keys.contains(root) {
                // Saved nowhere yet, or in a folder `topoc check` skips.
                return alone;
            }
            let mut stack: Vec<PathBuf> = keys.iter().cloned().collect();
            let mut loaded = BTreeSet::new();
            let mut topologies = 0;
            while let Some(key) = stack.pop() {
                if !loaded.insert(key.clone()) {
                    continue;
                }
                if loaded.len() > MAX_SCANNED_FILES {
                    return alone;
                }
                if let Some(facts) = self.facts_of(&key) {
                    topologies += facts.topologies;
                    stack.extend(facts.imports);
                }
            }
            match topologies {
                0 => {}
                1 if keys.len() > 1 => return dir,
                _ => return alone,
            }
            let at_limit = limit
                .as_ref()
                .is_none_or(|limit| dir == *limit || !dir.starts_with(limit));
            if at_limit {
                return alone;
            }
            match dir.parent() {
                Some(parent) => dir = parent.to_path_buf(),
                None => return alone,
            }
        }
    }

    /// The `topology` blocks and imports of a file, from the editor's text
    /// when it is open, else from the disk (read again when it changed).
    fn facts_of(&mut self, key: &Path) -> Option<Facts> {
        let stamp = match self.documents.get(key) {
            Some(document) => {
                let mut hasher = DefaultHasher::new();
                document.file.text.hash(&mut hasher);
                Stamp::Open(hasher.finish())
            }
            None => {
                let meta = std::fs::metadata(key).ok().filter(|m| m.is_file())?;
                Stamp::Disk(meta.modified().ok(), meta.len())
            }
        };
        if let Some((known, facts)) = self.facts.get(key)
            && *known == stamp
        {
            return Some(facts.clone());
        }
        let text = match self.documents.get(key) {
            Some(document) => document.file.text.clone(),
            None => String::from_utf8_lossy(&DiskFs.read(key).ok()?).into_owned(),
        };
        let ast = syntax::parse(&text);
        let facts = Facts {
            topologies: topology_blocks(&ast),
            imports: imports_of(key, &ast),
        };
        self.facts.insert(key.to_path_buf(), (stamp, facts.clone()));
        Some(facts)
    }

    /// After `changed` was opened, edited or closed: settle what every open
    /// document is checked as (its roots, each as its unit), check the
    /// units that are new or hold `changed`, drop the analyses no open
    /// document needs, and return what to publish.
    fn recheck(&mut self, changed: &Path) -> Vec<PublishDiagnosticsParams> {
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut fresh: BTreeSet<PathBuf> = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            let open: Vec<PathBuf> = self.documents.keys().cloned().collect();
            // Each unit an open document needs, with the root it is for.
            let mut wanted: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
            for key in &open {
                for root in self.roots_of(key) {
                    let unit = self.unit_of(&root);
                    wanted.entry(unit).or_insert(root);
                }
            }
            let mut of_changed = BTreeSet::new();
            for root in self.roots_of(changed) {
                of_changed.insert(self.unit_of(&root));
            }
            let unwanted: Vec<PathBuf> = self
                .analyses
                .keys()
                .filter(|unit| !wanted.contains_key(*unit))
                .cloned()
                .collect();
            for unit in unwanted {
                if let Some(old) = self.analyses.remove(&unit) {
                    touched.extend(old.keys);
                }
            }
            let due: Vec<(PathBuf, PathBuf)> = wanted
                .into_iter()
                .filter(|(unit, _)| {
                    !fresh.contains(unit)
                        && (of_changed.contains(unit)
                            || self
                                .analyses
                                .get(unit)
                                .is_none_or(|a| a.keys.iter().any(|k| k == changed)))
                })
                .collect();
            if due.is_empty() {
                break;
            }
            for (unit, root) in due {
                fresh.insert(unit.clone());
                if let Some(old) = self.analyses.remove(&unit) {
                    touched.extend(old.keys);
                }
                let Ok(checked) = check_path(&unit, &self.overlay, &self.config) else {
                    // The root is gone from the disk: it imports nothing now.
                    self.imports.remove(&unit);
                    continue;
                };
                let analysis = Analysis::new(checked, root);
                for (i, key) in analysis.keys.iter().enumerate() {
                    self.imports
                        .insert(key.clone(), imports_of(key, &analysis.checked.asts[i]));
                }
                touched.extend(analysis.keys.iter().cloned());
                self.analyses.insert(unit, analysis);
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

/// The `.topo` files under a folder, in path order, skipping the folders
/// `topoc check DIR` skips ([`load::skipped_folder`]), within the scan
/// bounds; and whether the walk saw every file.
fn topo_files_bounded(folder: &Path) -> (Vec<PathBuf>, bool) {
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
                return (files, false);
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                if !load::skipped_folder(&name) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "topo") {
                files.push(path);
            }
        }
    }
    files.sort();
    (files, true)
}

/// How many `topology` blocks a file declares.
fn topology_blocks(ast: &Ast) -> usize {
    ast.items
        .iter()
        .filter(|item| match item {
            Item::Block(block) => {
                BlockKind::from_keyword(&block.kind.name) == Some(BlockKind::Topology)
            }
            _ => false,
        })
        .count()
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
    fn a_root_is_checked_as_its_folder_up_to_the_workspace_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let deploy = dir.path().join("deploy");
        std::fs::create_dir_all(deploy.join("sites")).expect("mkdir");
        std::fs::write(deploy.join("topology.topo"), MAIN).expect("write");
        let site_path = deploy.join("sites/site.topo");
        std::fs::write(&site_path, SITE).expect("write");
        let site = convert::path_to_uri(&site_path).expect("uri");

        // Without a workspace folder, only the file's own folder is seen.
        let mut ws = Workspace::new(SeverityConfig::default());
        let published = ws.set_document(site.clone(), 1, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec!["E004".to_string()]));

        // With one, the root looks up to it: `deploy` holds one topology.
        let mut ws = Workspace::new(SeverityConfig::default());
        ws.scan_folder(dir.path());
        let published = ws.set_document(site.clone(), 1, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec![]));
        assert_eq!(
            ws.analyses.keys().collect::<Vec<_>>(),
            [&load::normalize(&deploy)]
        );

        // A second topology in the folder: it is no longer one topology,
        // and the folder's analysis gives way to the file's own.
        let own = format!(
            "topology other {{\n  version = \"4.2.0\"\n  update_level = 1\n  keystore = \"k.p12\"\n}}\n{SITE}"
        );
        let published = ws.set_document(site.clone(), 2, own.clone());
        assert_eq!(codes(&published, &site), Some(vec![]));
        assert_eq!(
            ws.analyses.keys().collect::<Vec<_>>(),
            [&load::normalize(&site_path)]
        );
        // And back.
        let published = ws.set_document(site.clone(), 3, SITE.into());
        assert_eq!(codes(&published, &site), Some(vec![]));
        assert_eq!(
            ws.analyses.keys().collect::<Vec<_>>(),
            [&load::normalize(&deploy)]
        );
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
