//! Quoting for every language the emitters write. Every string that
//! reaches TOML, Puppet, nginx, shell, Hiera or Markdown goes through one of
//! these (YAML is written by a serializer that quotes on its own).

/// A TOML basic string: `"..."` with `\"`, `\\` and control characters
/// escaped.
pub fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A single-quoted Puppet string: only `\` and `'` are special, and nothing
/// is interpolated.
pub fn puppet_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A single-quoted POSIX shell word: `'it'\''s'`. Nothing inside is
/// expanded, whatever it holds (`$(...)`, backticks, globs).
pub fn shell_word(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c))
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A double-quoted nginx string. nginx expands `$variables` inside quoted
/// strings and has no escape for `$`, so such values are refused.
pub fn nginx_string(value: &str) -> Result<String, String> {
    if value.contains('$') || value.chars().any(char::is_control) {
        return Err(format!(
            "the value {value:?} cannot be written safely in nginx.conf (it holds `$` or a control character)"
        ));
    }
    Ok(format!(
        "\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Hiera interpolates `%{...}` in every string it reads: a literal `%` is
/// written `%{literal('%')}`.
pub fn hiera_text(value: &str) -> String {
    value.replace('%', "%{literal('%')}")
}

/// Markdown text: characters that make inline markup are backslash-escaped
/// anywhere, and those that start a block (`#`, `-`, `+`, `>`, `!`) when
/// they open the value.
pub fn markdown_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if "\\`*_[]<>|~".contains(c) || (i == 0 && "#+-!.".contains(c)) {
            out.push('\\');
        }
        if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Text inside a Markdown code span: backticks cannot be escaped, so the
/// span is fenced with more backticks than the text holds.
pub fn markdown_code(value: &str) -> String {
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    format!(
        "{fence}{pad}{}{pad}{fence}",
        value.replace(['\n', '\r'], " ")
    )
}

/// Text in an XML element or attribute value: the five predefined
/// entities, which every XML parser decodes (WSO2's config mapper pastes
/// deployment.toml values into its XML files unescaped, so a value it
/// carries into XML is written escaped). Control characters XML 1.0 cannot
/// hold are refused.
pub fn xml_text(value: &str) -> Result<String, String> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "{value:?} holds a control character XML cannot carry"
        ));
    }
    Ok(xml_entities(value))
}

/// `&`, `<`, `>` and quotes as XML's predefined entities.
pub fn xml_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A value of a Java properties file that is also a template of WSO2's
/// config mapper (Jinja): only characters that neither reads specially.
pub fn properties_value(value: &str) -> Result<String, String> {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._:/[]_-".contains(c))
    {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} cannot be written into a properties template"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_parse_back() {
        for value in [
            "plain",
            "q\"uote",
            "back\\slash",
            "line\nbreak",
            "\u{1}ctl",
            "$(touch /tmp/x)",
            "# x",
            "`b`",
        ] {
            let doc = format!("k = {}\n", toml_string(value));
            let parsed: toml::Table = doc.parse().expect("valid TOML");
            assert_eq!(parsed["k"].as_str(), Some(value));
        }
    }

    #[test]
    fn shell_words_are_inert() {
        assert_eq!(shell_word("gateway-1"), "gateway-1");
        assert_eq!(shell_word("$(touch /tmp/x)"), "'$(touch /tmp/x)'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("`x`"), "'`x`'");
    }

    #[test]
    fn puppet_and_nginx() {
        assert_eq!(puppet_string("it's \\ ok"), "'it\\'s \\\\ ok'");
        assert_eq!(
            nginx_string("api.example.com").unwrap(),
            "\"api.example.com\""
        );
        assert!(nginx_string("$host").is_err());
        assert_eq!(hiera_text("100%{x}"), "100%{literal('%')}{x}");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_text("*x*"), "\\*x\\*");
        assert_eq!(
            xml_text("a&b<c>\"d'").unwrap(),
            "a&amp;b&lt;c&gt;&quot;d&apos;"
        );
        assert!(xml_text("\u{1}").is_err());
        assert_eq!(
            properties_value("tcp://h-1.example:5672").unwrap(),
            "tcp://h-1.example:5672"
        );
        assert!(properties_value("a{{b}}").is_err());
    }
}
