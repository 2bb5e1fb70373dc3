//! The command line: parse arguments, call the library, map to exit codes
//! (0 success, 1 the input has errors, 2 usage or I/O problems).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use topoc::diagnostics::{self, SeverityConfig, human};
use topoc::emit::{self, BuildError, Target};
use topoc::load::{DiskFs, FileSystem};
use topoc::{Checked, lints, plan};

#[derive(Parser)]
#[command(
    name = "topoc",
    version,
    about = "Compile WSO2 API Manager topologies: HA lints, deployment artifacts, proven upgrade runbooks",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve, build the dependency graph and run every lint.
    Check {
        /// `.topo` files or folders (each path is one topology).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Raise a code to an error; `warnings` raises every warning.
        #[arg(long, value_name = "CODE|warnings")]
        deny: Vec<String>,
        /// Silence a code.
        #[arg(long, value_name = "CODE")]
        allow: Vec<String>,
        /// Exit 0 even when the topology has errors (usage and I/O problems
        /// still exit 2): to write a report, then gate in a later step.
        #[arg(long)]
        exit_zero: bool,
    },
    /// Check, then write the deployment artifacts (refuses on errors).
    Build {
        /// A `.topo` file or a folder.
        path: PathBuf,
        /// The output folder (replaced atomically).
        #[arg(long)]
        out: PathBuf,
        /// Targets to build (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        target: Vec<TargetArg>,
        /// A folder of templates replacing the embedded ones, file by file.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Write nothing; exit 1 with a diff when OUT is not up to date.
        #[arg(long)]
        check: bool,
        /// Replace OUT even though it holds files topoc did not write, or
        /// files edited since it wrote them (they are lost).
        #[arg(long, conflicts_with = "check")]
        force: bool,
    },
    /// The ordered, simulated runbook of an upgrade (or a datacenter failover).
    #[command(group(clap::ArgGroup::new("runbook").required(true).multiple(false)))]
    Plan {
        /// A `.topo` file or a folder.
        path: PathBuf,
        /// The upgrade block to plan.
        #[arg(long, group = "runbook")]
        upgrade: Option<String>,
        /// Plan the failover to this disaster-recovery datacenter instead.
        #[arg(long, value_name = "DATACENTER", group = "runbook")]
        failover: Option<String>,
        /// Plan the first deployment instead: files, databases, schema,
        /// replicas, then the datacenters in order.
        #[arg(long, group = "runbook")]
        bootstrap: bool,
        /// Plan what the working tree changes since this git revision (the
        /// same files, read from git): the changes, the files each target's
        /// build changes, and one runbook.
        #[arg(long, value_name = "REV", group = "runbook")]
        since: Option<String>,
        /// Plan what PATH changes compared with another file or folder
        /// (the topology before the change).
        #[arg(long = "from", value_name = "OLD_PATH", group = "runbook")]
        from: Option<PathBuf>,
        /// The platform the commands are for.
        #[arg(long = "for", value_enum, default_value_t = PlanTarget::Kubernetes)]
        target: PlanTarget,
        #[arg(long, value_enum, default_value_t = PlanFormat::Markdown)]
        format: PlanFormat,
    },
    /// Print the long explanation of a diagnostic code (all codes without one).
    Explain { code: Option<String> },
    /// Print the dependency graph: datacenters as boxes, labeled edges.
    Graph {
        /// A `.topo` file or a folder.
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Rewrite files in the canonical layout, comments kept.
    Fmt {
        /// `.topo` files or folders (every `.topo` in a folder, recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write nothing; exit 1 with a diff when a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Print shell completions.
    #[command(after_long_help = COMPLETIONS_HELP)]
    Completions { shell: Shell },
    /// Run the language server on stdin and stdout (for editors).
    #[command(
        long_about = "Run the language server on stdin and stdout (for editors).\n\n\
                      An editor starts it and speaks the Language Server Protocol to it; \
                      started by hand in a terminal it waits for that protocol on stdin \
                      (Ctrl-D ends it). The README's \"Editor support\" section configures \
                      Neovim, Helix, Emacs and VS Code."
    )]
    Lsp,
    /// Write the embedded templates to a folder, to edit and pass to `build --templates`.
    Templates {
        #[command(subcommand)]
        action: TemplatesAction,
    },
}

#[derive(Subcommand)]
enum TemplatesAction {
    /// Write every embedded template into DIR, laid out as `--templates DIR` reads them.
    Export {
        /// The folder to write (created when missing).
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// Where each shell looks for completions (`topoc completions --help`).
const COMPLETIONS_HELP: &str = "\
Install the script where the shell loads completions from:

  bash  topoc completions bash > ~/.local/share/bash-completion/completions/topoc
        (system-wide: /usr/share/bash-completion/completions/topoc; needs the
        bash-completion package)
  zsh   topoc completions zsh > ~/.zfunc/_topoc
        with `fpath=(~/.zfunc $fpath)` before `autoload -Uz compinit && compinit`
        in ~/.zshrc (system-wide: /usr/local/share/zsh/site-functions/_topoc)
  fish  topoc completions fish > ~/.config/fish/completions/topoc.fish

Open a new shell afterwards.";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    /// Graphviz (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    Kubernetes,
    Compose,
    Puppet,
    Runbook,
}

impl TargetArg {
    fn target(self) -> Target {
        match self {
            TargetArg::Kubernetes => Target::Kubernetes,
            TargetArg::Compose => Target::Compose,
            TargetArg::Puppet => Target::Puppet,
            TargetArg::Runbook => Target::Runbook,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanTarget {
    Kubernetes,
    Compose,
    Puppet,
}

impl PlanTarget {
    fn target(self) -> plan::Target {
        match self {
            PlanTarget::Kubernetes => plan::Target::Kubernetes,
            PlanTarget::Compose => plan::Target::Compose,
            PlanTarget::Puppet => plan::Target::Puppet,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    Markdown,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
}

const OK: u8 = 0;
const INPUT_ERRORS: u8 = 1;
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { USAGE } else { OK });
        }
    };
    ExitCode::from(match cli.command {
        Command::Check {
            paths,
            format,
            deny,
            allow,
            exit_zero,
        } => match check(&paths, format, &deny, &allow) {
            INPUT_ERRORS if exit_zero => OK,
            status => status,
        },
        Command::Build {
            path,
            out,
            target,
            templates,
            check,
            force,
        } => build(&path, &out, &target, templates.as_deref(), check, force),
        Command::Plan {
            path,
            since,
            from,
            target,
            format,
            ..
        } if since.is_some() || from.is_some() => {
            let before = match (since, from) {
                (Some(revision), _) => Before::Revision(revision),
                (None, Some(old)) => Before::Path(old),
                (None, None) => unreachable!("guarded"),
            };
            change_command(&path, &before, target.target(), format)
        }
        Command::Plan {
            path,
            upgrade,
            failover,
            bootstrap,
            target,
            format,
            ..
        } => plan_command(
            &path,
            upgrade.as_deref(),
            failover.as_deref(),
            bootstrap,
            target.target(),
            format,
        ),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Graph { path, format } => graph(&path, format),
        Command::Lsp => {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "topoc lsp: the language server, waiting for an editor to speak LSP on stdin and stdout (Ctrl-D ends it; see the README's \"Editor support\")"
                );
            }
            match topoc::lsp::run_stdio() {
                Ok(topoc::lsp::Ending::Clean | topoc::lsp::Ending::Unused) => OK,
                Ok(_) => INPUT_ERRORS,
                Err(error) => usage_error(format!("language server: {error}")),
            }
        }
        Command::Templates {
            action: TemplatesAction::Export { dir, force },
        } => export_templates(&dir, force),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "topoc", &mut script);
            stdout(&String::from_utf8_lossy(&script));
            OK
        }
    })
}

/// Write to stdout; a closed pipe (`topoc ... | head`) is not an error.
fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    USAGE
}

fn severity_config(deny: &[String], allow: &[String]) -> Result<SeverityConfig, String> {
    let mut config = SeverityConfig::default();
    for code in allow {
        config.allow_code(code).map_err(|e| e.to_string())?;
    }
    for code in deny {
        config.deny_code(code).map_err(|e| e.to_string())?;
    }
    Ok(config)
}

fn style() -> human::Style {
    human::Style {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        ..human::Style::default()
    }
}

fn check(paths: &[PathBuf], format: Format, deny: &[String], allow: &[String]) -> u8 {
    let config = match severity_config(deny, allow) {
        Ok(config) => config,
        Err(message) => return usage_error(message),
    };
    if let Err(message) = topo_paths(paths) {
        return usage_error(message);
    }
    let mut checked: Vec<Checked> = Vec::new();
    for path in paths {
        match topoc::check_path(path, &DiskFs, &config) {
            Ok(c) => checked.push(c),
            Err(error) => return usage_error(error),
        }
    }
    let reports: Vec<_> = checked.iter().map(Checked::report).collect();
    match format {
        Format::Human => {
            let text = human::render(&reports, style());
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            if text.is_empty() {
                for (path, c) in paths.iter().zip(&checked) {
                    let t = &c.topology;
                    let _ = writeln!(
                        err,
                        "{}: ok (topology `{}`: {}, {}, {}{})",
                        topoc::source::display_path(path),
                        t.name,
                        count(t.datacenters.len(), "datacenter"),
                        count(t.clusters.len(), "cluster"),
                        count(t.upgrades.len(), "upgrade"),
                        allowed_note(c)
                    );
                }
            }
        }
        Format::Json => stdout(&diagnostics::json::render(&reports)),
        Format::Sarif => stdout(&diagnostics::sarif::render(&reports)),
    }
    if checked.iter().any(Checked::has_errors) {
        INPUT_ERRORS
    } else {
        OK
    }
}

/// `; 2 allowed: DC006, HA004 (3)`: what `allow` silenced, so that an
/// `ok` never hides it.
fn allowed_note(checked: &Checked) -> String {
    if checked.allowed.is_empty() {
        return String::new();
    }
    let total: usize = checked.allowed.values().sum();
    let codes: Vec<String> = checked
        .allowed
        .iter()
        .map(|(code, n)| {
            if *n == 1 {
                code.to_string()
            } else {
                format!("{code} ({n})")
            }
        })
        .collect();
    format!("; {total} allowed: {}", codes.join(", "))
}

/// A file given on the command line must be a `.topo` file (a folder is
/// searched for them): `topoc check README.md` is a mistake, not a
/// topology with 17 syntax errors.
fn topo_paths(paths: &[PathBuf]) -> Result<(), String> {
    for path in paths {
        if !DiskFs.is_dir(path) && path.exists() && path.extension().is_none_or(|e| e != "topo") {
            return Err(format!(
                "{}: not a .topo file (give .topo files or folders of them)",
                topoc::source::display_path(path)
            ));
        }
    }
    Ok(())
}

fn build(
    path: &Path,
    out: &Path,
    targets: &[TargetArg],
    templates: Option<&Path>,
    check_only: bool,
    force: bool,
) -> u8 {
    if let Err(message) = topo_paths(&[path.to_path_buf()]) {
        return usage_error(message);
    }
    let checked = match topoc::check_path(path, &DiskFs, &SeverityConfig::default()) {
        Ok(checked) => checked,
        Err(error) => return usage_error(error),
    };
    let report = human::render(&[checked.report()], style());
    let _ = std::io::stderr().write_all(report.as_bytes());
    let targets: Vec<Target> = if targets.is_empty() {
        Target::ALL.to_vec()
    } else {
        targets.iter().map(|t| t.target()).collect()
    };
    let artifacts = match topoc::build::render(&checked, &targets, templates) {
        Ok(artifacts) => artifacts,
        Err(error @ BuildError::Invalid { .. }) | Err(error @ BuildError::Emit(_)) => {
            eprintln!("error: {error}");
            return INPUT_ERRORS;
        }
        Err(error) => return usage_error(error),
    };
    if check_only {
        return match emit::diff(out, &artifacts) {
            Ok(None) => {
                eprintln!("{}: up to date ({} files)", out.display(), artifacts.len());
                OK
            }
            Ok(Some(diff)) => {
                stdout(&diff);
                eprintln!(
                    "{}: out of date; run `topoc build` without --check",
                    out.display()
                );
                INPUT_ERRORS
            }
            Err(error) => usage_error(error),
        };
    }
    let sources: Vec<PathBuf> = checked
        .sources
        .files()
        .iter()
        .map(|f| f.path.clone())
        .collect();
    match emit::write(out, &artifacts, &sources, force) {
        Ok(()) => {
            eprintln!("wrote {} files to {}", artifacts.len(), out.display());
            if artifacts.get("README.md").is_some() {
                eprintln!(
                    "next: {} lists the secrets and DNS names to create, and how to deploy",
                    out.join("README.md").display()
                );
            }
            OK
        }
        Err(error) => usage_error(error),
    }
}

fn plan_command(
    path: &Path,
    upgrade: Option<&str>,
    failover: Option<&str>,
    bootstrap: bool,
    target: plan::Target,
    format: PlanFormat,
) -> u8 {
    if let Err(message) = topo_paths(&[path.to_path_buf()]) {
        return usage_error(message);
    }
    let checked = match topoc::check_path(path, &DiskFs, &SeverityConfig::default()) {
        Ok(checked) => checked,
        Err(error) => return usage_error(error),
    };
    // UP001 is what the plan itself reports; other errors stop it.
    let blocking: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == diagnostics::Severity::Error && d.code != "UP001")
        .cloned()
        .collect();
    if !blocking.is_empty() {
        let report = diagnostics::Report {
            sources: &checked.sources,
            diagnostics: &blocking,
        };
        let _ = std::io::stderr().write_all(human::render(&[report], style()).as_bytes());
        eprintln!("error: the topology has errors; no plan was made");
        return INPUT_ERRORS;
    }
    let t = &checked.topology;
    let deployment = topoc::deployment::plan(t);
    let plan = match (upgrade, failover) {
        _ if bootstrap => plan::plan_bootstrap(t, &deployment, target),
        (Some(name), _) => match t.upgrades.iter().position(|u| u.name == name) {
            Some(i) => plan::plan_upgrade(t, &deployment, topoc::model::UpgradeId(i), target),
            None => {
                let names: Vec<&str> = t.upgrades.iter().map(|u| u.name.as_str()).collect();
                return usage_error(format!(
                    "no upgrade named `{name}` (upgrades: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
        },
        (None, Some(datacenter)) => match plan::plan_failover(t, &deployment, datacenter, target) {
            Some(plan) => plan,
            None => {
                return usage_error(format!(
                    "`{datacenter}` is not a disaster-recovery datacenter of this topology"
                ));
            }
        },
        (None, None) => {
            return usage_error("give --upgrade NAME, --failover DATACENTER or --bootstrap");
        }
    };
    let text = match format {
        PlanFormat::Json => plan::render::json(&plan),
        PlanFormat::Markdown => {
            let templates = match topoc::text::templates::Templates::new(None) {
                Ok(templates) => templates,
                Err(error) => return usage_error(error),
            };
            match plan::render::markdown(&plan, t, &deployment, &templates) {
                Ok(text) => text,
                Err(error) => return usage_error(error),
            }
        }
    };
    stdout(&text);
    if plan.safe {
        OK
    } else {
        for violation in &plan.violations {
            eprintln!(
                "error[UP001]: step {}: {}",
                violation.step, violation.message
            );
        }
        INPUT_ERRORS
    }
}

/// What a change plan compares the topology with.
enum Before {
    /// The same files at a git revision.
    Revision(String),
    /// Another file or folder.
    Path(PathBuf),
}

/// Load and check one side of a change; its errors are printed.
fn change_side(path: &Path, fs: &dyn topoc::load::FileSystem, what: &str) -> Result<Checked, u8> {
    let checked = match topoc::check_path(path, fs, &SeverityConfig::default()) {
        Ok(checked) => checked,
        Err(error) => return Err(usage_error(format!("{what}: {error}"))),
    };
    let errors: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == diagnostics::Severity::Error && d.code != "UP001")
        .cloned()
        .collect();
    if !errors.is_empty() {
        let report = diagnostics::Report {
            sources: &checked.sources,
            diagnostics: &errors,
        };
        let _ = std::io::stderr().write_all(human::render(&[report], style()).as_bytes());
        eprintln!("error: {what} has errors; no plan was made");
        return Err(INPUT_ERRORS);
    }
    Ok(checked)
}

/// `plan PATH --since REV` / `--from OLD`: the changes, the artifacts that
/// change, and one runbook.
fn change_command(path: &Path, before: &Before, target: plan::Target, format: PlanFormat) -> u8 {
    if let Err(message) = topo_paths(&[path.to_path_buf()]) {
        return usage_error(message);
    }
    let (old, since) = match before {
        Before::Revision(revision) => {
            let fs = match topoc::change::git::GitFs::open(path, revision) {
                Ok(fs) => fs,
                Err(message) => return usage_error(message),
            };
            let label = format!("{revision} ({})", &fs.commit()[..12.min(fs.commit().len())]);
            match change_side(path, &fs, &format!("the topology at {revision}")) {
                Ok(checked) => (checked, label),
                Err(code) => return code,
            }
        }
        Before::Path(old) => {
            if let Err(message) = topo_paths(std::slice::from_ref(old)) {
                return usage_error(message);
            }
            match change_side(old, &DiskFs, &old.display().to_string()) {
                Ok(checked) => (checked, old.display().to_string()),
                Err(code) => return code,
            }
        }
    };
    let new = match change_side(path, &DiskFs, &path.display().to_string()) {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    let changes = topoc::change::classify(&old, &new);
    let artifacts = match topoc::change::artifacts::changed_files(&old, &new) {
        Ok(files) => files,
        Err(error) => return usage_error(error),
    };
    let plan = plan::plan_change(&old, &new, &changes, target);
    let text = match format {
        PlanFormat::Json => plan::render::change_json(&since, &plan, &changes, &artifacts),
        PlanFormat::Markdown => {
            let templates = match topoc::text::templates::Templates::new(None) {
                Ok(templates) => templates,
                Err(error) => return usage_error(error),
            };
            let deployment = topoc::deployment::plan(&new.topology);
            match plan::render::change_markdown(
                &since,
                &plan,
                &changes,
                &artifacts,
                &new.topology,
                &deployment,
                &templates,
            ) {
                Ok(text) => text,
                Err(error) => return usage_error(error),
            }
        }
    };
    stdout(&text);
    if !changes.diagnostics.is_empty() {
        let report = diagnostics::Report {
            sources: &new.sources,
            diagnostics: &changes.diagnostics,
        };
        let _ = std::io::stderr().write_all(human::render(&[report], style()).as_bytes());
    }
    for violation in &plan.violations {
        eprintln!(
            "error[UP001]: step {}: {}",
            violation.step, violation.message
        );
    }
    if plan::render::change_is_safe(&plan, &changes) {
        OK
    } else {
        INPUT_ERRORS
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn explain(code: Option<&str>) -> u8 {
    let list = || {
        lints::all()
            .iter()
            .map(|l| format!("  {:<7} {:<8} {}", l.code, l.severity.name(), l.summary))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match code {
        None => {
            stdout(&format!(
                "Diagnostic codes (topoc explain CODE for one):\n{}\n",
                list()
            ));
            OK
        }
        Some(code) => match lints::find(code) {
            Some(lint) => {
                stdout(&format!(
                    "{} ({}): {}\n\n{}\n",
                    lint.code,
                    lint.severity.name(),
                    lint.summary,
                    lint.explanation.trim_end()
                ));
                OK
            }
            None => {
                eprintln!(
                    "error: unknown diagnostic code `{code}`\n\nknown codes:\n{}",
                    list()
                );
                USAGE
            }
        },
    }
}

fn fmt(paths: &[PathBuf], check_only: bool) -> u8 {
    if let Err(message) = topo_paths(paths) {
        return usage_error(message);
    }
    let mut files = Vec::new();
    for path in paths {
        if DiskFs.is_dir(path) {
            match DiskFs.topo_files(path) {
                Ok(found) if !found.is_empty() => files.extend(found),
                Ok(_) => {
                    return usage_error(format!(
                        "{}: no .topo files in this folder",
                        path.display()
                    ));
                }
                Err(error) => return usage_error(format!("{}: {error}", path.display())),
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut status = OK;
    let mut unformatted = 0;
    for file in &files {
        let shown = topoc::source::display_path(file);
        let bytes = match DiskFs.read(file) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("error: {shown}: {error}");
                status = USAGE;
                continue;
            }
        };
        let formatted = match topoc::format_source(file, bytes.clone()) {
            Ok(formatted) => formatted,
            Err(refused) => {
                let text = human::render(&[refused.report()], style());
                let _ = std::io::stderr().write_all(text.as_bytes());
                eprintln!("{shown}: not formatted: fix the syntax errors first");
                status = status.max(INPUT_ERRORS);
                continue;
            }
        };
        if formatted.as_bytes() == bytes {
            continue;
        }
        if check_only {
            let before = String::from_utf8_lossy(&bytes);
            let diff = similar::TextDiff::from_lines(before.as_ref(), formatted.as_str())
                .unified_diff()
                .header(&format!("a/{shown}"), &format!("b/{shown}"))
                .to_string();
            stdout(&diff);
            unformatted += 1;
            status = status.max(INPUT_ERRORS);
        } else {
            match topoc::load::replace_file(file, formatted.as_bytes()) {
                Ok(()) => eprintln!("formatted {shown}"),
                Err(error) => {
                    eprintln!("error: {shown}: {error}");
                    status = USAGE;
                }
            }
        }
    }
    if unformatted > 0 {
        eprintln!(
            "{} not formatted; run `topoc fmt` to rewrite",
            count(unformatted, "file")
        );
    }
    status
}

/// The graph is printed even when the topology has errors (a picture helps
/// to see a cycle); the errors go to stderr and the exit status is 1.
fn graph(path: &Path, format: GraphFormat) -> u8 {
    if let Err(message) = topo_paths(&[path.to_path_buf()]) {
        return usage_error(message);
    }
    let checked = match topoc::check_path(path, &DiskFs, &SeverityConfig::default()) {
        Ok(checked) => checked,
        Err(error) => return usage_error(error),
    };
    let (t, g) = (&checked.topology, &checked.graph);
    stdout(&match format {
        GraphFormat::Dot => topoc::graph::to_dot(t, g),
        GraphFormat::Mermaid => topoc::graph::to_mermaid(t, g),
        GraphFormat::Json => topoc::graph::to_json(t, g),
    });
    if checked.has_errors() {
        let report = human::render(&[checked.report()], style());
        let _ = std::io::stderr().write_all(report.as_bytes());
        eprintln!("the topology has errors: the graph shows what could be resolved");
        return INPUT_ERRORS;
    }
    OK
}

/// `topoc templates export DIR`: the embedded templates as files, so that
/// an installed binary's templates can be edited and given back with
/// `build --templates DIR`. Existing files are kept unless `force`.
fn export_templates(dir: &Path, force: bool) -> u8 {
    let templates = topoc::text::templates::EMBEDDED;
    if !force {
        let existing: Vec<String> = templates
            .iter()
            .map(|(name, _)| dir.join(name))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return usage_error(format!(
                "{} of the templates already exist ({}{}); nothing written (--force overwrites them)",
                existing.len(),
                existing
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if existing.len() > 3 { ", ..." } else { "" }
            ));
        }
    }
    for (name, text) in templates {
        let path = dir.join(name);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(error) = written {
            return usage_error(format!("{}: {error}", path.display()));
        }
    }
    eprintln!(
        "wrote {} templates to {}; edit any of them (delete the others) and build with --templates {}",
        templates.len(),
        dir.display(),
        dir.display()
    );
    OK
}
