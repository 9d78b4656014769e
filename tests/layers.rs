//! The runtime's architecture, checked: its modules import each other in one
//! direction only (base ← observe ← net ← glue, app), with no cycle anywhere in
//! the runtime or the macros, and `clap` stays in the application layer.
//!
//! The graph is read from the source (`crate::` and `super::` paths outside
//! `#[cfg(test)]`), the same way a reader follows the imports. Print it with
//! `cargo test -p sketches --test layers -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Module path (`net::link`) → the modules it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The runtime's layers, bottom first: a module may import its own layer and
/// the ones below it. `glue` (for the macros' output) and `app` both sit on
/// top and never import each other.
const LAYERS: &[(&str, u8)] = &[
    ("base", 0),
    ("observe", 1),
    ("net", 2),
    ("glue", 3),
    ("app", 3),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// Every `.rs` file under `dir`, as (module path, source).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).expect("a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                walk(root, &path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                let source = fs::read_to_string(&path).expect("a readable source file");
                found.insert(parts.join("::"), source);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

/// The source without its tests and comments.
fn code(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths named after each `prefix` (`crate::`, `super::`), with grouped
/// imports (`crate::{a::X, b::{Y, Z}}`) spread into one path per leaf.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // the end of a longer name, such as `my_crate::`
        }
        spread("", &code[at + prefix.len()..], &mut paths);
    }
    paths
}

/// Reads one path (or group) from the start of `rest`, prefixed by `stem`.
fn spread(stem: &str, rest: &str, paths: &mut Vec<String>) {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    spread(stem, &group[start..i], paths);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    spread(stem, &group[start..i], paths);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let path = &rest[..end];
    if let Some(inner) = path
        .strip_suffix("::")
        .filter(|_| rest[end..].starts_with('{'))
    {
        spread(&format!("{stem}{inner}::"), &rest[end..], paths);
    } else if !path.is_empty() {
        paths.push(format!("{stem}{path}"));
    }
}

/// The longest known module that `path` starts with.
fn resolve(path: &str, known: &BTreeMap<String, String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| known.contains_key(candidate))
}

/// The import graph of a crate's `src/`, without the root and `__private`,
/// which only re-export by design.
fn graph(src: &Path) -> Graph {
    let known = modules(src);
    let mut graph = Graph::new();
    for (module, source) in &known {
        if module.is_empty() || module == "__private" {
            continue;
        }
        let code = code(source);
        // `super::` is the parent module, for a file and a folder's `mod.rs` alike.
        let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
        let mut imports = BTreeSet::new();
        for path in paths_after(&code, "crate::") {
            imports.extend(resolve(&path, &known));
        }
        for path in paths_after(&code, "super::") {
            let full = if parent.is_empty() {
                path
            } else {
                format!("{parent}::{path}")
            };
            imports.extend(resolve(&full, &known));
        }
        imports.remove(module);
        imports.remove("");
        graph.insert(module.clone(), imports);
    }
    graph
}

/// Groups of modules that import each other in a circle (Tarjan's strongly
/// connected components with more than one member).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(walk: &mut Walk<'g>, node: &'g str) {
        let n = walk.index.len();
        walk.index.insert(node, n);
        walk.low.insert(node, n);
        walk.stack.push(node);
        for next in walk.graph.get(node).into_iter().flatten() {
            if !walk.graph.contains_key(next.as_str()) {
                continue;
            }
            if !walk.index.contains_key(next.as_str()) {
                visit(walk, next);
                let low = walk.low[node].min(walk.low[next.as_str()]);
                walk.low.insert(node, low);
            } else if walk.stack.contains(&next.as_str()) {
                let low = walk.low[node].min(walk.index[next.as_str()]);
                walk.low.insert(node, low);
            }
        }
        if walk.low[node] == walk.index[node] {
            let at = walk.stack.iter().position(|m| *m == node).unwrap();
            let group: Vec<String> = walk.stack.drain(at..).map(str::to_owned).collect();
            if group.len() > 1 {
                walk.found.push(group);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found
}

fn layer(module: &str) -> Option<(&'static str, u8)> {
    let top = module.split("::").next()?;
    LAYERS.iter().copied().find(|(name, _)| *name == top)
}

fn print(title: &str, graph: &Graph) {
    println!("{title}:");
    for (module, imports) in graph {
        let imports: Vec<&str> = imports.iter().map(String::as_str).collect();
        println!("  {module} -> {}", imports.join(", "));
    }
}

#[test]
fn the_reader_finds_grouped_nested_and_relative_imports() {
    let code = "use crate::{base::{error::Error, sketch::Sketch}, net::link};\n\
                use crate::observe::log as logging;\n\
                let x = $crate::app::App; use my_crate::net; use super::socket::dial;";
    let paths = paths_after(code, "crate::");
    assert_eq!(
        paths,
        [
            "base::error::Error",
            "base::sketch::Sketch",
            "net::link",
            "observe::log",
            "app::App", // `$crate::` in a macro names this crate too
        ]
    );
    assert_eq!(paths_after(code, "super::"), ["socket::dial"]);
    let mut graph = Graph::new();
    graph.insert("a".into(), ["b".into()].into());
    graph.insert("b".into(), ["c".into()].into());
    graph.insert("c".into(), ["a".into()].into());
    graph.insert("d".into(), ["a".into()].into());
    assert_eq!(cycles(&graph), [vec!["a", "b", "c"]]);
}

#[test]
fn the_runtime_imports_in_one_direction_without_cycles() {
    let runtime = graph(&workspace().join("circuit-runtime/src"));
    print("circuit-runtime", &runtime);
    assert!(
        runtime.len() > 20,
        "the reader found the modules: {runtime:?}"
    );
    assert_eq!(
        cycles(&runtime),
        Vec::<Vec<String>>::new(),
        "no import cycle"
    );

    let mut wrong = Vec::new();
    for (module, imports) in &runtime {
        let Some((from, rank)) = layer(module) else {
            wrong.push(format!("{module} is in no layer"));
            continue;
        };
        for import in imports {
            let Some((to, other)) = layer(import) else {
                continue;
            };
            if other > rank || (other == rank && from != to) {
                wrong.push(format!("{module} ({from}) imports {import} ({to})"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:#?}");
}

#[test]
fn clap_stays_in_the_application_layer() {
    let sources = modules(&workspace().join("circuit-runtime/src"));
    let users: Vec<&String> = sources
        .iter()
        .filter(|(_, source)| code(source).contains("clap::"))
        .map(|(module, _)| module)
        .collect();
    assert!(
        !users.is_empty(),
        "the command line is built with clap somewhere"
    );
    for module in users {
        assert!(
            module.starts_with("app") || module == "__private",
            "{module} uses clap outside the application layer"
        );
    }
}

#[test]
fn the_macros_have_no_import_cycle() {
    let macros = graph(&workspace().join("circuit-macros/src"));
    print("circuit-macros", &macros);
    assert!(macros.len() >= 5, "{macros:?}");
    assert_eq!(cycles(&macros), Vec::<Vec<String>>::new());
}
