//! Loading: paths to parsed files. A path is a `.topo` file or a folder
//! (every `.topo` in it, recursively, as one topology); `import` brings in
//! other files relative to the importing file, each file once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diagnostics::Diagnostic;
use crate::lints::language::{E001, E007};
use crate::source::{FileId, SourceMap, Span, display_path};
use crate::syntax::{self, Ast, Item, SyntaxError};

/// Files larger than this are refused (a topology of 5,000 clusters is
/// about 1 MB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where files come from: the disk, or the disk overlaid with the editor's
/// unsaved documents (the language server).
pub trait FileSystem {
    /// The bytes of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Whether the path is a folder (a folder is loaded as one topology).
    fn is_dir(&self, path: &Path) -> bool;
    /// Every `.topo` file under `dir`, recursively.
    fn topo_files(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// A key identifying the file (canonical path where possible).
    fn key(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
    }
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            return Err(io::Error::other("is a folder, not a .topo file"));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(io::Error::other(too_large(meta.len())));
        }
        std::fs::read(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn topo_files(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let path = entry.path();
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    let skipped = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(skipped_folder);
                    if !skipped {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "topo") {
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Folders a folder's topology never reads: hidden ones (`.git`), and the
/// build folders of cargo and npm (`target`, `node_modules`). The language
/// server skips the same.
pub fn skipped_folder(name: &str) -> bool {
    name.starts_with('.') || name == "target" || name == "node_modules"
}

/// The disk, with some files replaced by in-memory text.
#[derive(Debug, Clone, Default)]
pub struct OverlayFs {
    /// The in-memory text of open documents, keyed by normalized path.
    pub documents: HashMap<PathBuf, String>,
}

impl FileSystem for OverlayFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.documents.get(&self.key(path)) {
            Some(text) => Ok(text.clone().into_bytes()),
            None => DiskFs.read(path),
        }
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn topo_files(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        DiskFs.topo_files(dir)
    }

    fn key(&self, path: &Path) -> PathBuf {
        let normalized = normalize(path);
        if self.documents.contains_key(&normalized) {
            return normalized;
        }
        std::fs::canonicalize(path).unwrap_or(normalized)
    }
}

fn too_large(bytes: u64) -> String {
    format!(
        "file is {:.1} MiB; topoc reads files up to {} MiB",
        bytes as f64 / (1024.0 * 1024.0),
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

/// A problem with the paths given on the command line (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The path that could not be loaded, as given.
    pub path: PathBuf,
    /// What went wrong, as one sentence for the user.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", display_path(&self.path), self.message)
    }
}

impl std::error::Error for LoadError {}

/// Every file of one topology, parsed, in load order.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every file, in load order ([`FileId`] is the index).
    pub sources: SourceMap,
    /// The syntax tree of each file, indexed like `sources`.
    pub asts: Vec<Ast>,
    /// E001 (syntax, encoding) and E007 (imports).
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Each file's id paired with its syntax tree, in load order.
    pub fn files(&self) -> Vec<(FileId, &Ast)> {
        self.asts
            .iter()
            .enumerate()
            .map(|(i, ast)| (FileId(i as u32), ast))
            .collect()
    }
}

/// Load one topology from a file or a folder.
pub fn load(path: &Path, fs: &dyn FileSystem) -> Result<Loaded, LoadError> {
    let roots = if fs.is_dir(path) {
        let files = fs.topo_files(path).map_err(|e| LoadError {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if files.is_empty() {
            return Err(LoadError {
                path: path.to_path_buf(),
                message: "no .topo files in this folder".into(),
            });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut loader = Loader {
        fs,
        loaded: Loaded::default(),
        seen: BTreeMap::new(),
        stack: Vec::new(),
    };
    for root in roots {
        loader.load_file(&root, None)?;
    }
    Ok(loader.loaded)
}

/// Load one topology from in-memory text (tests, the language server for
/// a file that is not on disk). Imports are read through `fs`.
pub fn load_text(path: &Path, text: &str, fs: &dyn FileSystem) -> Loaded {
    let mut loader = Loader {
        fs,
        loaded: Loaded::default(),
        seen: BTreeMap::new(),
        stack: Vec::new(),
    };
    let key = fs.key(path);
    loader.load_source(path, key, text.to_string());
    loader.loaded
}

struct Loader<'a> {
    fs: &'a dyn FileSystem,
    loaded: Loaded,
    /// Key of every file read (or being read).
    seen: BTreeMap<PathBuf, FileId>,
    /// Keys of the files whose imports are being read (cycle detection).
    stack: Vec<(PathBuf, PathBuf)>,
}

impl Loader<'_> {
    /// `via`: the import statement that asked for this file.
    fn load_file(&mut self, path: &Path, via: Option<Span>) -> Result<(), LoadError> {
        let key = self.fs.key(path);
        if let Some(pos) = self.stack.iter().position(|(k, _)| *k == key) {
            if let Some(span) = via {
                let mut chain: Vec<String> = self.stack[pos..]
                    .iter()
                    .map(|(_, shown)| display_path(shown))
                    .collect();
                chain.push(display_path(&self.stack[pos].1));
                self.loaded.diagnostics.push(
                    Diagnostic::new(&E007, span, format!("import cycle: {}", chain.join(" -> ")))
                        .label("this import closes the cycle")
                        .help("remove one of the imports; a file may be imported by many files but must not import itself, directly or through others"),
                );
            }
            return Ok(());
        }
        if self.seen.contains_key(&key) {
            return Ok(());
        }
        let bytes = match self.fs.read(path) {
            Ok(bytes) if bytes.len() as u64 > MAX_FILE_BYTES => {
                Err(io::Error::other(too_large(bytes.len() as u64)))
            }
            other => other,
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) => {
                let message = match error.kind() {
                    io::ErrorKind::NotFound => "no such file".to_string(),
                    _ => error.to_string(),
                };
                return match via {
                    Some(span) => {
                        self.loaded.diagnostics.push(
                            Diagnostic::new(
                                &E007,
                                span,
                                format!("cannot import `{}`: {message}", display_path(path)),
                            )
                            .label("cannot be read")
                            .help("import paths are relative to the importing file"),
                        );
                        Ok(())
                    }
                    None => Err(LoadError {
                        path: path.to_path_buf(),
                        message,
                    }),
                };
            }
        };
        let text = match decode(bytes) {
            Ok(text) => text,
            Err(NotUtf8 { text, valid, byte }) => {
                let id = self.loaded.sources.add(path.to_path_buf(), text);
                self.seen.insert(key, id);
                self.loaded.asts.push(Ast::default());
                self.loaded.diagnostics.push(not_utf8(id, valid, byte));
                return Ok(());
            }
        };
        self.load_source(path, key, text);
        Ok(())
    }

    /// Parse a file's text and load its imports.
    fn load_source(&mut self, path: &Path, key: PathBuf, text: String) {
        let id = self.add_parsed(path, key.clone(), text);
        // Imports, relative to this file.
        let imports: Vec<(String, Span)> = self.loaded.asts[id.0 as usize]
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Import(import) => import.path.as_ref().map(|p| {
                    (
                        p.value.clone(),
                        Span::new(id, import.span.start, import.span.end),
                    )
                }),
                _ => None,
            })
            .collect();
        self.stack.push((key, path.to_path_buf()));
        let base = path.parent().unwrap_or(Path::new(""));
        for (target, span) in imports {
            if target.is_empty() {
                self.loaded.diagnostics.push(
                    Diagnostic::new(&E007, span, "empty import path")
                        .label("empty path")
                        .help("write import \"other.topo\""),
                );
                continue;
            }
            let relative = Path::new(&target);
            if relative.is_absolute() || target.starts_with(['/', '\\']) {
                self.loaded.diagnostics.push(
                    Diagnostic::new(&E007, span, format!("cannot import `{target}`: the path is absolute"))
                        .label("absolute path")
                        .help("import paths are relative to the importing file, so the topology reads the same on every machine"),
                );
                continue;
            }
            if relative.extension().is_none_or(|e| e != "topo") {
                self.loaded.diagnostics.push(
                    Diagnostic::new(
                        &E007,
                        span,
                        format!("cannot import `{target}`: not a `.topo` file"),
                    )
                    .label("not a .topo file")
                    .help("an import brings in another topology file: write import \"other.topo\""),
                );
                continue;
            }
            let target_path = normalize(&base.join(&target));
            // An import never fails the load: its problems are E007.
            let _ = self.load_file(&target_path, Some(span));
        }
        self.stack.pop();
    }

    fn add_parsed(&mut self, path: &Path, key: PathBuf, text: String) -> FileId {
        let ast = syntax::parse(&text);
        let id = self.loaded.sources.add(path.to_path_buf(), text);
        self.seen.insert(key, id);
        self.loaded
            .diagnostics
            .extend(syntax_diagnostics(id, &ast.errors));
        self.loaded.asts.push(ast);
        id
    }
}

/// A file that is not UTF-8: its text with replacement characters, where
/// the first bad byte is and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// The text decoded with U+FFFD in place of each invalid sequence.
    pub text: String,
    /// How many bytes from the start are valid UTF-8 (the offset of the first
    /// bad byte).
    pub valid: usize,
    /// The value of the first bad byte.
    pub byte: u8,
}

/// Bytes to text; a file must be UTF-8.
pub fn decode(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let byte = error.as_bytes().get(valid).copied().unwrap_or(0);
        NotUtf8 {
            text: String::from_utf8_lossy(error.as_bytes()).into_owned(),
            valid,
            byte,
        }
    })
}

/// The E001 of a file that is not UTF-8 (`valid`: the offset of the first
/// bad byte, a replacement character in the decoded text).
pub fn not_utf8(file: FileId, valid: usize, byte: u8) -> Diagnostic {
    let end = valid + '\u{fffd}'.len_utf8();
    Diagnostic::new(
        &E001,
        Span::new(file, valid, end),
        format!("the file is not valid UTF-8 (byte 0x{byte:02X})"),
    )
    .label("invalid UTF-8")
    .help("save the file as UTF-8")
}

/// The syntax errors of one file as E001 diagnostics.
pub fn syntax_diagnostics(file: FileId, errors: &[SyntaxError]) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|error| {
            let mut d = Diagnostic::new(
                &E001,
                Span::new(file, error.span.start, error.span.end),
                error.message.clone(),
            )
            .label("syntax error");
            if let Some(help) = &error.help {
                d = d.help(help.clone());
            }
            if let Some((span, message)) = &error.related {
                d = d.related(Span::new(file, span.start, span.end), message.clone());
            }
            d
        })
        .collect()
}

/// Replace a file's contents atomically: the new text goes to a temporary
/// file beside it, which is then renamed over it (an interrupted write
/// leaves the old file whole). The file keeps its permissions.
pub fn replace_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".topoc-tmp");
    let temp = path.with_file_name(temp_name);
    let permissions = std::fs::metadata(path)?.permissions();
    let result = std::fs::write(&temp, contents)
        .and_then(|()| std::fs::set_permissions(&temp, permissions))
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Resolve `.` and `..` lexically (imports are shown as the user would
/// write them).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize(Path::new("a/./b/../c.topo")),
            PathBuf::from("a/c.topo")
        );
        assert_eq!(
            normalize(Path::new("../x/../y.topo")),
            PathBuf::from("../y.topo")
        );
    }
}
