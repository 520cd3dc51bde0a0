//! A test, not code: the server's modules import each other without a
//! cycle (a declaration module that handlers, extractor and policy check
//! can all read is what makes that possible). Edges are `crate::…` paths
//! and `mod` declarations, read from the source files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn module_name(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect();
    if parts == ["lib"] {
        "crate".into()
    } else {
        parts.join("::")
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module → the modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let names: BTreeSet<String> = files.iter().map(|f| module_name(src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let name = module_name(src, file);
        if name == "module_graph" {
            continue; // this test's own source names modules in its examples
        }
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut deps = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':')
                .collect();
            let base = path.trim_end_matches(':').to_owned();
            // `crate::api::{a, b}` names the modules `api::a` and `api::b`.
            let mut paths = vec![base.clone()];
            if let Some(group) = rest[path.len()..].strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                paths = group
                    .split(',')
                    .map(|item| format!("{base}::{}", item.trim()))
                    .collect();
            }
            for path in paths {
                let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                // The longest prefix that is a module of ours.
                if let Some(module) = (1..=segments.len())
                    .rev()
                    .map(|n| segments[..n].join("::"))
                    .find(|m| names.contains(m))
                {
                    deps.insert(module);
                }
            }
        }
        for line in text.lines() {
            let line = line.trim_start().trim_start_matches("pub ");
            if let Some(child) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
                let parent = if name == "crate" {
                    String::new()
                } else {
                    format!("{name}::")
                };
                deps.insert(format!("{parent}{child}"));
            }
        }
        deps.remove(&name);
        edges.insert(name, deps);
    }
    edges
}

fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_servers_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(edges.len() > 20, "read only {} modules", edges.len());
    assert!(
        edges["extract"].contains("declarations"),
        "the extractor reads the declarations"
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert!(find_cycle(&edges).is_some());
}

#[test]
fn only_the_app_builder_imports_the_handlers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    for (module, deps) in &edges {
        let names_handlers = deps.iter().any(|d| {
            ["api", "web"]
                .iter()
                .any(|h| d == h || d.starts_with(&format!("{h}::")))
        });
        let allowed = module == "crate"
            || module == "routes"
            || module.starts_with("api")
            || module.starts_with("web");
        assert!(
            allowed || !names_handlers,
            "{module} imports handlers: {deps:?}"
        );
    }
}
