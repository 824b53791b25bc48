//! The layout is the architecture (docs/design.md, "Architecture"), checked: what each shipped
//! crate is built from, that no module of any crate imports one that imports it back, and
//! that nothing shipped reaches for a Linux-only call (docs/testing.md, "Portability").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use peerwatch_testkit::emulators::project_root;

/// The packages `cargo tree -e normal` lists for `package` (one name per line, deduplicated).
fn normal_dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(project_root())
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .args(["--format", "{p}"])
        .output()
        .expect("running cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_core_is_built_without_tokio_the_sdk_or_an_http_stack() {
    let deps = normal_dependencies("peerwatch-core");
    let io: Vec<&String> = deps
        .iter()
        .filter(|d| *d == "tokio" || d.starts_with("aws-") || d.starts_with("hyper"))
        .collect();
    assert!(io.is_empty(), "peerwatch-core depends on {io:?}");
    assert!(deps.contains("serde_json"), "the tree was read: {deps:?}");
}

#[test]
fn the_lambda_is_built_only_from_what_it_uses() {
    let deps = normal_dependencies("peerwatch-poller");
    for unwanted in [
        "axum",
        "clap",
        "comfy-table",
        "svg",
        "aws-sdk-sso",
        "humantime",
    ] {
        assert!(!deps.contains(unwanted), "the poller depends on {unwanted}");
    }
    for wanted in [
        "lambda_runtime",
        "aws-sdk-ec2",
        "peerwatch-core",
        "peerwatch-aws",
    ] {
        assert!(deps.contains(wanted), "the poller lacks {wanted}: {deps:?}");
    }
}

#[test]
fn nothing_shipped_depends_on_test_support_or_the_simulator() {
    for shipped in [
        "peerwatch-core",
        "peerwatch-aws",
        "peerwatch-poller",
        "peerwatch-cli",
    ] {
        let deps = normal_dependencies(shipped);
        for support in ["peerwatch-testkit", "peerwatch-tools", "route-server-sim"] {
            assert!(!deps.contains(support), "{shipped} depends on {support}");
        }
    }
    let sim = normal_dependencies("route-server-sim");
    let ours: Vec<&String> = sim.iter().filter(|d| d.starts_with("peerwatch")).collect();
    assert!(ours.is_empty(), "route-server-sim depends on {ours:?}");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("reading a source directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`detect/tests.rs` is `detect`'s), or
/// `None` for the crate root and binaries.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main" | "bin")).then_some(name)
}

/// Every `crate::name` a source text names in code (comments, doc links included, are not
/// imports).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let mut rest = line.split("//").next().unwrap_or_default();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let crates = project_root().join("crates");
    let mut checked = 0;
    for krate in std::fs::read_dir(&crates).expect("crates/").flatten() {
        let src = krate.path().join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let Some(module) = module_of(&src, file) else {
                continue;
            };
            let text = std::fs::read_to_string(file).expect("reading a source file");
            let edges = graph.entry(module.clone()).or_default();
            edges.extend(crate_paths(&text).into_iter().filter(|m| *m != module));
        }
        let modules: BTreeSet<String> = graph.keys().cloned().collect();
        for edges in graph.values_mut() {
            edges.retain(|m| modules.contains(m));
        }
        assert_eq!(
            find_cycle(&graph),
            None,
            "a module cycle in {}",
            krate.path().display()
        );
        checked += graph.len();
    }
    assert!(checked > 30, "only {checked} modules were read");
    // The check itself finds a cycle when there is one.
    let cyclic = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert!(find_cycle(&cyclic).is_some());
}

#[test]
fn nothing_shipped_makes_a_linux_only_call() {
    let unix_only = [
        "std::os::unix",
        "std::os::linux",
        "libc::",
        "/proc/",
        "prctl",
    ];
    for krate in ["core", "aws", "poller", "cli"] {
        let mut files = Vec::new();
        rust_files(
            &project_root().join("crates").join(krate).join("src"),
            &mut files,
        );
        assert!(!files.is_empty());
        for file in files {
            let text = std::fs::read_to_string(&file).expect("reading a source file");
            for call in unix_only {
                assert!(
                    !text.contains(call),
                    "{} uses {call}: Linux-only code belongs in peerwatch-testkit, behind cfg",
                    file.display()
                );
            }
        }
        let manifest =
            std::fs::read_to_string(project_root().join("crates").join(krate).join("Cargo.toml"))
                .expect("reading a manifest");
        assert!(!manifest.contains("libc"), "crates/{krate} asks for libc");
    }
}
