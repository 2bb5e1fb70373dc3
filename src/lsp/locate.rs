//! What is at an offset of a syntax tree: the blocks around it and the
//! token under it.

use crate::model::schema::BlockKind;
use crate::syntax::{Ast, Attribute, Block, Import, Item, Value, ValueKind};

/// The token under the cursor.
#[derive(Debug, Clone, Copy)]
pub enum Token<'a> {
    /// The kind keyword of a block (`cluster` in `cluster gateway {`).
    BlockKind(&'a Block),
    /// The key of an attribute, in a block of this kind.
    Key(Option<BlockKind>, &'a Attribute),
    /// A value (the innermost: a list item, a call's argument).
    Value(Option<BlockKind>, &'a Attribute, &'a Value),
    /// The path of an import.
    Import(&'a Import),
}

fn within(span: &std::ops::Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

/// The blocks that hold `offset`, outermost first. A block holds the text
/// between its braces (to the end of what was parsed when it is not
/// closed).
pub fn enclosing_blocks(ast: &Ast, offset: usize) -> Vec<&Block> {
    let mut chain = Vec::new();
    let mut items = &ast.items;
    'descend: loop {
        for item in items {
            if let Item::Block(block) = item {
                let end = block.close.unwrap_or(block.span.end);
                if block.open < offset && offset <= end {
                    chain.push(block);
                    items = &block.items;
                    continue 'descend;
                }
            }
        }
        return chain;
    }
}

/// The token at `offset`, if any.
pub fn token_at(ast: &Ast, offset: usize) -> Option<Token<'_>> {
    let mut items = &ast.items;
    let mut kind: Option<BlockKind> = None;
    'descend: loop {
        for item in items {
            match item {
                Item::Import(import) if within(&import.span, offset) => {
                    return Some(Token::Import(import));
                }
                Item::Block(block) if within(&block.span, offset) => {
                    if within(&block.kind.span, offset) {
                        return Some(Token::BlockKind(block));
                    }
                    kind = BlockKind::from_keyword(&block.kind.name);
                    items = &block.items;
                    continue 'descend;
                }
                Item::Attribute(attribute) if within(&attribute.span, offset) => {
                    if within(&attribute.key.span, offset) {
                        return Some(Token::Key(kind, attribute));
                    }
                    let value = attribute.value.as_ref()?;
                    return innermost(value, offset).map(|v| Token::Value(kind, attribute, v));
                }
                _ => {}
            }
        }
        return None;
    }
}

fn innermost(value: &Value, offset: usize) -> Option<&Value> {
    if !within(&value.span, offset) {
        return None;
    }
    let mut current = value;
    loop {
        let children = match &current.kind {
            ValueKind::List(items) => items,
            ValueKind::Call { args, .. } => args,
            _ => return Some(current),
        };
        match children.iter().find(|c| within(&c.span, offset)) {
            Some(child) => current = child,
            None => return Some(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn tokens_and_blocks() {
        let source =
            "datacenter dc {\n  role = primary\n  cluster gw {\n    datasources = [a, b]\n  }\n}\n";
        let ast = parse(source);
        let at = |needle: &str, delta: usize| source.find(needle).unwrap() + delta;
        assert!(matches!(
            token_at(&ast, at("cluster", 2)),
            Some(Token::BlockKind(b)) if b.kind.name == "cluster"
        ));
        assert!(matches!(
            token_at(&ast, at("role", 1)),
            Some(Token::Key(Some(BlockKind::Datacenter), a)) if a.key.name == "role"
        ));
        assert!(matches!(
            token_at(&ast, at(", b", 2)),
            Some(Token::Value(Some(BlockKind::Cluster), _, v)) if v.kind == ValueKind::Ident("b".into())
        ));
        let chain: Vec<_> = enclosing_blocks(&ast, at("datasources", 0))
            .iter()
            .map(|b| b.kind.name.as_str())
            .collect();
        assert_eq!(chain, ["datacenter", "cluster"]);
        assert!(enclosing_blocks(&ast, source.len()).is_empty());
    }
}
