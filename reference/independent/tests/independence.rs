//! The reference is independent of what it judges, and Cargo enforces it:
//! neither this crate nor anything it depends on (normal, dev or build
//! dependencies) may be one of the judged crates. Reads the workspace's
//! manifests with `cargo metadata --no-deps`, which needs no network.
//!
//! Following the workspace's own packages is enough to see every way in: a
//! judged crate can enter only as a path dependency (it is not published, so
//! no crate from a registry can depend on it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The crates the checker judges against this one.
const JUDGED: [&str; 3] = ["snn-kernels", "snn-codelet-gen", "snn-poplar-host"];

/// One declared dependency: the package's name, its kind (`"normal"`,
/// `"dev"` or `"build"`) and whether it is a path dependency.
struct Dependency {
    name: String,
    kind: String,
    path: bool,
}

/// The workspace's packages and their declared dependencies, by name.
struct Workspace(BTreeMap<String, Vec<Dependency>>);

impl Workspace {
    fn load() -> Workspace {
        // the workspace root: this crate is reference/independent/
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .expect("the crate lies two folders below the workspace root");
        let output = Command::new(env!("CARGO"))
            .current_dir(root)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value =
            serde_json::from_slice(&output.stdout).expect("cargo metadata writes JSON");
        let text = |v: &Value| v.as_str().expect("a string").to_string();
        let packages = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|package| {
                let deps = package["dependencies"]
                    .as_array()
                    .expect("dependencies")
                    .iter()
                    .map(|dep| Dependency {
                        // the package's name, even when renamed
                        name: text(&dep["name"]),
                        kind: dep["kind"].as_str().unwrap_or("normal").to_string(),
                        path: dep["path"].is_string(),
                    })
                    .collect();
                (text(&package["name"]), deps)
            })
            .collect();
        Workspace(packages)
    }

    /// The names of every package `package` needs to build and test: its
    /// normal, dev and build dependencies, then theirs, transitively through
    /// the workspace's packages (a dependency's own dev-dependencies are not
    /// built, so they are not followed).
    fn dependencies_of(&self, package: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![(package.to_string(), true)];
        while let Some((name, is_root)) = todo.pop() {
            let deps = self
                .0
                .get(&name)
                .unwrap_or_else(|| panic!("{name} is not a package of the workspace"));
            for dep in deps {
                if (is_root || dep.kind != "dev") && seen.insert(dep.name.clone()) && dep.path {
                    // a path dependency: a package of the workspace, whose
                    // own dependencies are followed too
                    todo.push((dep.name.clone(), false));
                }
            }
        }
        seen
    }
}

#[test]
fn the_reference_depends_on_nothing_it_judges() {
    let deps = Workspace::load().dependencies_of("snn-reference-independent");
    assert!(
        deps.contains("serde_json"),
        "the fixture reader's dependency is missing, so the manifests were not read: {deps:?}"
    );
    let judged: Vec<&str> = JUDGED
        .into_iter()
        .filter(|name| deps.contains(*name))
        .collect();
    assert!(
        judged.is_empty(),
        "snn-reference-independent depends on {judged:?}, which it must not: \
         the checker judges those crates against it (see its Cargo.toml)\n\
         all its dependencies: {deps:?}"
    );
}

#[test]
fn the_search_finds_the_judged_crates_where_they_are() {
    // The checker depends on every judged crate and on the reference, and
    // on `half` only through the kernels: the same search must see them all,
    // or it could not fail above.
    let deps = Workspace::load().dependencies_of("snn-reference");
    for name in JUDGED
        .into_iter()
        .chain(["snn-reference-independent", "half"])
    {
        assert!(deps.contains(name), "{name} not found in {deps:?}");
    }
}
