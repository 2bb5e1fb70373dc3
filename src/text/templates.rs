//! Templates for the text formats (deployment.toml, nginx.conf, Puppet
//! manifests, scripts, Markdown). They live in `targets/`, are embedded in
//! the binary and can be replaced file by file with `--templates DIR`.
//!
//! Every `{{ value }}` is escaped for the template's language, chosen by its
//! extension: a string interpolated into `*.toml.j2` becomes a TOML string
//! literal, into `*.pp.j2` a single-quoted Puppet string, into `*.sh.j2` a
//! shell word, into `*.conf.j2` an nginx string, into `*.md.j2` Markdown
//! text. A template cannot forget to quote; undefined values are errors.

use std::path::{Path, PathBuf};

use minijinja::value::{Serde, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use super::escape;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../targets/", $name)))),*]
    };
}

/// Every template, by its path under `targets/`.
pub static EMBEDDED: &[(&str, &str)] = embedded![
    "wso2/deployment.toml.j2",
    "wso2/relay-jndi.properties.j2",
    "wso2/relay-publisher.xml.j2",
    "compose/nginx.conf.j2",
    "scripts/artifact-sync.sh.j2",
    "puppet/site.pp.j2",
    "puppet/apim/init.pp.j2",
    "puppet/apim/install.pp.j2",
    "puppet/apim/config.pp.j2",
    "puppet/apim/service.pp.j2",
    "puppet/apim/profile.pp.j2",
    "puppet/apim/share_nfs.pp.j2",
    "puppet/apim/share_rsync.pp.j2",
    "puppet/apim/artifact_sync.pp.j2",
    "puppet/apim/load_balancer.pp.j2",
    "puppet/apim/wso2am.service.epp.j2",
    "puppet/apim/deployment.toml.epp.j2",
    "puppet/apim/environment.epp.j2",
    "puppet/apim/apim-rsync.sh.j2",
    "puppet/hiera.yaml.j2",
    "build/README.md.j2",
    "scripts/lb.sh.j2",
    "runbook/runbook.md.j2",
    "runbook/change.md.j2",
];

/// A template problem: a bad override, or a render error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub template: String,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template `{}`: {}", self.template, self.message)
    }
}

impl std::error::Error for TemplateError {}

pub struct Templates {
    env: Environment<'static>,
    /// Templates replaced from `--templates DIR`.
    pub overridden: Vec<String>,
}

/// The escaping mode of a template, by its name.
fn mode(name: &str) -> &'static str {
    let stem = name.strip_suffix(".j2").unwrap_or(name);
    match stem.rsplit('.').next().unwrap_or("") {
        "toml" => "toml",
        "pp" => "puppet",
        "epp" => "puppet",
        "conf" => "nginx",
        "sh" => "shell",
        "md" => "markdown",
        "yaml" => "yaml",
        "xml" => "xml",
        "properties" => "properties",
        _ => "text",
    }
}

fn render_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Format one interpolated value for a language.
fn format_value(mode: &str, value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Err(Error::new(
            ErrorKind::UndefinedError,
            "an undefined or empty value was interpolated",
        )),
        ValueKind::Bool => Ok(value.is_true().to_string()),
        ValueKind::Number => Ok(value.to_string()),
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            match mode {
                "toml" => Ok(escape::toml_string(text)),
                "puppet" => Ok(escape::puppet_string(text)),
                "shell" => Ok(escape::shell_word(text)),
                "nginx" => escape::nginx_string(text).map_err(render_error),
                "markdown" => Ok(escape::markdown_text(text)),
                "xml" => escape::xml_text(text).map_err(render_error),
                "properties" => escape::properties_value(text).map_err(render_error),
                // A JSON string is a YAML double-quoted scalar.
                "yaml" => Ok(serde_json::Value::from(text).to_string()),
                _ => Err(render_error(format!(
                    "no escaping is defined for this template's language; cannot interpolate {text:?}"
                ))),
            }
        }
        ValueKind::Seq => {
            let items: Result<Vec<String>, Error> = value
                .try_iter()?
                .map(|item| format_value(mode, &item))
                .collect();
            let items = items?;
            match mode {
                "toml" | "puppet" => Ok(format!("[{}]", items.join(", "))),
                _ => Err(render_error(
                    "a list cannot be interpolated here; loop over it",
                )),
            }
        }
        _ => Err(render_error("a map cannot be interpolated; use its fields")),
    }
}

impl Templates {
    /// The embedded templates, with the files of `overrides` (same relative
    /// paths as under `targets/`) in their place.
    pub fn new(overrides: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .map_err(|e| TemplateError {
                    template: String::new(),
                    message: e.to_string(),
                })?,
        );
        env.set_auto_escape_callback(|name| AutoEscape::Custom(mode(name).into()));
        env.set_formatter(|out, state, value| {
            if value.is_safe() {
                return out
                    .write_str(value.as_str().unwrap_or_default())
                    .map_err(Error::from);
            }
            let mode = match state.auto_escape() {
                AutoEscape::Custom(mode) => mode.to_string(),
                _ => "text".to_string(),
            };
            let text = format_value(&mode, value)?;
            out.write_str(&text).map_err(Error::from)
        });
        env.add_filter("puppet_name", |value: String| {
            Value::from_safe_string(crate::model::naming::puppet_name(&value))
        });
        env.add_filter("comment", |value: String| {
            Value::from_safe_string(value.replace(['\n', '\r'], " "))
        });
        // A comment wrapped at 76 columns, continued on `# ` lines (for
        // linters with a line length limit).
        env.add_filter("comment_wrap", |value: String| {
            let mut lines: Vec<String> = Vec::new();
            let mut line = String::new();
            // A word longer than a line is cut at the line length.
            let words = value.split_whitespace().flat_map(|word| {
                let chars: Vec<char> = word.chars().collect();
                chars
                    .chunks(76)
                    .map(|c| c.iter().collect::<String>())
                    .collect::<Vec<_>>()
            });
            for word in words {
                let word = word.as_str();
                if !line.is_empty() && line.len() + 1 + word.len() > 76 {
                    lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            lines.push(line);
            Value::from_safe_string(lines.join("\n# "))
        });
        env.add_filter("toml_key", |value: String| -> Result<Value, Error> {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(render_error(format!("{value:?} is not a bare TOML key")));
            }
            Ok(Value::from_safe_string(value))
        });
        env.add_filter("nginx_name", |value: String| -> Result<Value, Error> {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(render_error(format!("{value:?} is not an nginx name")));
            }
            Ok(Value::from_safe_string(value))
        });
        env.add_filter("puppet_class", |value: String| -> Result<Value, Error> {
            let valid = value.split("::").all(|part| {
                part.starts_with(|c: char| c.is_ascii_lowercase())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
            if !valid {
                return Err(render_error(format!(
                    "{value:?} is not a Puppet class name"
                )));
            }
            Ok(Value::from_safe_string(value))
        });
        env.add_filter("word", |value: String| -> Result<Value, Error> {
            if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:/-=".contains(c))
            {
                return Err(render_error(format!("{value:?} is not a plain word")));
            }
            Ok(Value::from_safe_string(value))
        });
        env.add_filter("code", |value: String| {
            Value::from_safe_string(escape::markdown_code(&value))
        });
        // Text placed verbatim inside a fenced code block (commands, a
        // Mermaid diagram): it must not close the fence.
        env.add_filter("fenced", |value: String| -> Result<Value, Error> {
            if value.lines().any(|l| l.trim_start().starts_with("```")) {
                return Err(render_error("a code block cannot hold a Markdown fence"));
            }
            Ok(Value::from_safe_string(value))
        });

        let mut overridden = Vec::new();
        for (name, source) in EMBEDDED {
            let mut text = source.to_string();
            if let Some(dir) = overrides {
                let path = dir.join(name);
                if path.is_file() {
                    text = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                        template: name.to_string(),
                        message: format!("cannot read {}: {e}", path.display()),
                    })?;
                    overridden.push(name.to_string());
                }
            }
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| TemplateError {
                    template: name.to_string(),
                    message: e.to_string(),
                })?;
        }
        if let Some(dir) = overrides {
            if !dir.is_dir() {
                return Err(TemplateError {
                    template: dir.display().to_string(),
                    message: "--templates must name a folder".into(),
                });
            }
            for file in files_under(dir) {
                let relative = file
                    .strip_prefix(dir)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .replace('\\', "/");
                if !EMBEDDED.iter().any(|(name, _)| *name == relative) {
                    return Err(TemplateError {
                        template: relative,
                        message: format!(
                            "no such template; the templates are: {}",
                            EMBEDDED
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        Ok(Templates { env, overridden })
    }

    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let template = self.env.get_template(name).map_err(|e| TemplateError {
            template: name.to_string(),
            message: e.to_string(),
        })?;
        template.render(Value::from(Serde(context))).map_err(|e| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                message.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            TemplateError {
                template: name.to_string(),
                message,
            }
        })
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_str(name: &str, source: &str, context: serde_json::Value) -> Result<String, Error> {
        let mut templates = Templates::new(None).expect("embedded templates");
        templates
            .env
            .add_template_owned(name.to_string(), source.to_string())?;
        templates
            .env
            .get_template(name)?
            .render(Value::from(Serde(&context)))
    }

    #[test]
    fn interpolations_are_escaped_for_the_language() {
        let ctx = serde_json::json!({"s": "a\"b $(x) 'c'", "n": 3, "l": ["x", "y"]});
        assert_eq!(
            render_str(
                "t.toml.j2",
                "k = {{ s }}\nn = {{ n }}\nl = {{ l }}",
                ctx.clone()
            )
            .unwrap(),
            "k = \"a\\\"b $(x) 'c'\"\nn = 3\nl = [\"x\", \"y\"]"
        );
        assert_eq!(
            render_str("t.pp.j2", "$x = {{ s }}", ctx.clone()).unwrap(),
            "$x = 'a\"b $(x) \\'c\\''"
        );
        assert_eq!(
            render_str("t.sh.j2", "echo {{ s }}", ctx.clone()).unwrap(),
            "echo 'a\"b $(x) '\\''c'\\'''"
        );
        assert!(render_str("t.conf.j2", "server_name {{ s }};", ctx.clone()).is_err());
        assert!(render_str("t.toml.j2", "k = {{ missing }}", ctx.clone()).is_err());
        assert!(render_str("t.txt.j2", "k = {{ s }}", ctx).is_err());
    }

    #[test]
    fn every_embedded_template_compiles() {
        let templates = Templates::new(None).unwrap();
        for (name, _) in EMBEDDED {
            assert!(templates.env.get_template(name).is_ok(), "{name}");
        }
    }
}
