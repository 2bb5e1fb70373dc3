//! Names across the files of one topology: where each block is declared
//! and every place a reference attribute names it. Built from the syntax
//! trees and the schema table, so it works on files with errors too (what
//! the parser recovered is indexed).

use std::ops::Range;

use crate::model::schema::{BlockKind, Type};
use crate::source::FileId;
use crate::syntax::{Ast, Attribute, Block, Item, Value, ValueKind};

/// A block with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The kind of block.
    pub kind: BlockKind,
    /// The block's name.
    pub name: String,
    /// The file it is declared in.
    pub file: FileId,
    /// The name in `kind name {`.
    pub name_span: Range<usize>,
    /// The whole block.
    pub block_span: Range<usize>,
    /// The datacenter it sits in (an index into `declarations`).
    pub parent: Option<usize>,
}

/// A name written as the value of a reference attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The kind the attribute names.
    pub kind: BlockKind,
    /// The name as written.
    pub name: String,
    /// The file it is written in.
    pub file: FileId,
    /// Byte range of the name in that file.
    pub span: Range<usize>,
    /// The attribute it is the value of (`key_manager`, `fronts`, ...).
    pub attribute: &'static str,
}

/// A name under the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence<'a> {
    /// The kind of block the name is of.
    pub kind: BlockKind,
    /// The name.
    pub name: &'a str,
    /// The file it is in.
    pub file: FileId,
    /// Byte range of the name.
    pub span: &'a Range<usize>,
    /// The declaration itself, or a reference to it.
    pub is_declaration: bool,
}

/// Every declared name and every reference to one across a topology's files.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Named blocks, in file and source order.
    pub declarations: Vec<Declaration>,
    /// Names written as reference values, in file and source order.
    pub references: Vec<Reference>,
}

impl Index {
    /// Index the files of a topology (file ids are positions in `asts`).
    pub fn build(asts: &[Ast]) -> Index {
        let mut index = Index::default();
        for (i, ast) in asts.iter().enumerate() {
            index.items(FileId(i as u32), &ast.items, None);
        }
        index
    }

    fn items(&mut self, file: FileId, items: &[Item], parent: Option<(BlockKind, usize)>) {
        for item in items {
            let Item::Block(block) = item else { continue };
            self.block(file, block, parent);
        }
    }

    fn block(&mut self, file: FileId, block: &Block, parent: Option<(BlockKind, usize)>) {
        let Some(kind) = BlockKind::from_keyword(&block.kind.name) else {
            return;
        };
        let mut own = None;
        if let Some(name) = &block.name {
            own = Some(self.declarations.len());
            self.declarations.push(Declaration {
                kind,
                name: name.name.clone(),
                file,
                name_span: name.span.clone(),
                block_span: block.span.clone(),
                parent: parent
                    .filter(|(k, _)| *k == BlockKind::Datacenter)
                    .map(|(_, i)| i),
            });
        }
        for attribute in block.attributes() {
            self.attribute(file, kind, attribute);
        }
        match own {
            Some(index) => self.items(file, &block.items, Some((kind, index))),
            None => self.items(file, &block.items, None),
        }
    }

    fn attribute(&mut self, file: FileId, block: BlockKind, attribute: &Attribute) {
        let Some(schema) = block.schema().attr(&attribute.key.name) else {
            return;
        };
        let Some(value) = &attribute.value else {
            return;
        };
        let mut add = |kind: BlockKind, value: &Value| {
            if let ValueKind::Ident(name) = &value.kind {
                self.references.push(Reference {
                    kind,
                    name: name.clone(),
                    file,
                    span: value.span.clone(),
                    attribute: schema.name,
                });
            }
        };
        match (schema.ty, &value.kind) {
            (Type::Ref(kind), _) => add(kind, value),
            (Type::RefList(kind), ValueKind::List(items)) => {
                for item in items {
                    add(kind, item);
                }
            }
            _ => {}
        }
    }

    /// The first declaration of a name (a later one is a duplicate, E006).
    pub fn declaration(&self, kind: BlockKind, name: &str) -> Option<&Declaration> {
        self.declarations
            .iter()
            .find(|d| d.kind == kind && d.name == name)
    }

    /// The declared names of one kind, in order, each once.
    pub fn names(&self, kind: BlockKind) -> Vec<&Declaration> {
        let mut out: Vec<&Declaration> = Vec::new();
        for d in &self.declarations {
            if d.kind == kind && !out.iter().any(|o| o.name == d.name) {
                out.push(d);
            }
        }
        out
    }

    /// The declaration name or reference at `offset` (its end included, so
    /// a cursor just after a name finds it).
    pub fn at(&self, file: FileId, offset: usize) -> Option<Occurrence<'_>> {
        let within = |span: &Range<usize>| span.start <= offset && offset <= span.end;
        let declaration = self
            .declarations
            .iter()
            .find(|d| d.file == file && within(&d.name_span))
            .map(|d| Occurrence {
                kind: d.kind,
                name: &d.name,
                file,
                span: &d.name_span,
                is_declaration: true,
            });
        declaration.or_else(|| {
            self.references
                .iter()
                .find(|r| r.file == file && within(&r.span))
                .map(|r| Occurrence {
                    kind: r.kind,
                    name: &r.name,
                    file,
                    span: &r.span,
                    is_declaration: false,
                })
        })
    }

    /// Every place a name of this kind is written: its declarations and
    /// its references, in file order.
    pub fn occurrences(&self, kind: BlockKind, name: &str) -> Vec<(FileId, Range<usize>)> {
        let mut out: Vec<(FileId, Range<usize>)> = self
            .declarations
            .iter()
            .filter(|d| d.kind == kind && d.name == name)
            .map(|d| (d.file, d.name_span.clone()))
            .chain(
                self.references
                    .iter()
                    .filter(|r| r.kind == kind && r.name == name)
                    .map(|r| (r.file, r.span.clone())),
            )
            .collect();
        out.sort_by_key(|(file, span)| (*file, span.start));
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    const SOURCE: &str = "datacenter dc {\n  datasource db { host = \"h\" }\n  cluster cp { datasources = [db] }\n  cluster gw { key_manager = cp  datasources = [db, nope] }\n}\n";

    #[test]
    fn declarations_and_references() {
        let index = Index::build(&[parse(SOURCE)]);
        let names: Vec<_> = index
            .declarations
            .iter()
            .map(|d| (d.kind, d.name.as_str(), d.parent))
            .collect();
        assert_eq!(
            names,
            [
                (BlockKind::Datacenter, "dc", None),
                (BlockKind::Datasource, "db", Some(0)),
                (BlockKind::Cluster, "cp", Some(0)),
                (BlockKind::Cluster, "gw", Some(0)),
            ]
        );
        let refs: Vec<_> = index
            .references
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.attribute))
            .collect();
        assert_eq!(
            refs,
            [
                (BlockKind::Datasource, "db", "datasources"),
                (BlockKind::Cluster, "cp", "key_manager"),
                (BlockKind::Datasource, "db", "datasources"),
                (BlockKind::Datasource, "nope", "datasources"),
            ]
        );
        assert_eq!(index.occurrences(BlockKind::Datasource, "db").len(), 3);
    }

    #[test]
    fn the_name_under_the_cursor() {
        let index = Index::build(&[parse(SOURCE)]);
        let at_ref = SOURCE.find("= cp").unwrap() + 3;
        let found = index.at(FileId(0), at_ref).expect("reference");
        assert_eq!((found.name, found.is_declaration), ("cp", false));
        let at_decl = SOURCE.find("cluster cp").unwrap() + "cluster cp".len();
        let found = index.at(FileId(0), at_decl).expect("declaration end");
        assert_eq!((found.name, found.is_declaration), ("cp", true));
        assert!(index.at(FileId(0), 0).is_none());
    }
}
