//! The manifest's operation counts against the printed C++: the counts the
//! generator derives from its vertex definitions must equal what a reader
//! of `codelets.cpp` counts in the text of the same vertex (parsed here,
//! independently of the generator's data), level by level.

use std::collections::BTreeSet;

use snn_codelet_gen::manifest::{from_json, to_json};
use snn_codelet_gen::{builtin_models, generate, Generated, OpCounts, Options};

fn leaky_only() -> Generated {
    let mut models = builtin_models();
    models.retain(|m| m.name == "leaky");
    assert_eq!(models.len(), 1, "the Leaky model is built in");
    generate(&Options {
        models,
        ..Options::default()
    })
}

/// The lines of the block that starts with the line `head` (up to its
/// closing line at the same indentation).
fn block_lines<'a>(cpp: &'a str, head: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = cpp.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(head))
        .unwrap_or_else(|| panic!("no line starts with `{head}`"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}'))
        .expect("the block closes")
        + start
        + 1;
    lines[start..=end].to_vec()
}

/// What one statement line does, by the C++'s own meaning: operators
/// outside brackets, reads of `name[...]` and of members, writes of
/// `name[...]`; `t == 0 ? a : b` tests, selects and reads one of the two.
fn count_line(line: &str, members: &BTreeSet<String>, callee: &OpCounts) -> OpCounts {
    let mut c = OpCounts::default();
    let line = line.trim().trim_end_matches(';');
    let (lhs, rhs) = match line.split_once(" = ") {
        Some((l, r)) => (l, r),
        None => return c, // a declaration without a value
    };
    if lhs.contains('[') {
        c.store += 1;
    }
    let mut rhs = rhs.to_string();
    if let Some(rest) = rhs.strip_prefix("t == 0 ? ") {
        c.compare_select += 2;
        // one of the two reads runs: count the later steps' one
        rhs = rest.split(" : ").nth(1).expect("a select").to_string();
    }
    c.load += rhs.matches('[').count() as u32;
    // index arithmetic inside brackets is addressing, not an operation
    let mut plain = String::new();
    let mut depth = 0;
    for ch in rhs.chars() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => plain.push(ch),
            _ => {}
        }
    }
    for token in plain.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')) {
        if members.contains(token) {
            c.load += 1;
        }
    }
    for op in [" + ", " - ", " * "] {
        c.arith += plain.matches(op).count() as u32;
    }
    c.div += plain.matches(" / ").count() as u32;
    for op in [" > ", " < ", " >= ", " <= ", " == ", " ? "] {
        c.compare_select += plain.matches(op).count() as u32;
    }
    // unary minus of a name (a literal's sign is part of the literal)
    let bytes = plain.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        let before_ok = i == 0 || matches!(bytes[i - 1], b' ' | b'(' | b',');
        if bytes[i] == b'-' && before_ok && bytes[i + 1].is_ascii_alphabetic() {
            c.arith += 1;
        }
    }
    if plain.contains("S::grad(") {
        c.calls += 1;
        c = c.plus(*callee);
    }
    c
}

/// Counts per level and statements of the `compute` of a class's text.
struct Parsed {
    per_worker: OpCounts,
    per_element: OpCounts,
    per_step: OpCounts,
    statements: u32,
}

fn parse_class(class: &[&str], callee: &OpCounts) -> Parsed {
    let members: BTreeSet<String> = class
        .iter()
        .filter_map(|l| {
            let l = l.strip_prefix("  ")?;
            let mut words = l.split_whitespace();
            let ty = words.next()?;
            let name = words.next()?.strip_suffix(';')?;
            ["float", "half", "unsigned"]
                .contains(&ty)
                .then(|| name.to_string())
        })
        .collect();
    let compute = class
        .iter()
        .position(|l| l.contains("bool compute("))
        .expect("a compute function");
    let mut parsed = Parsed {
        per_worker: OpCounts::default(),
        per_element: OpCounts::default(),
        per_step: OpCounts::default(),
        statements: 0,
    };
    // (level, depth at which it opened): 0 worker, 1 element, 2 step
    let mut levels = vec![(0, 0)];
    let mut depth = 0;
    let mut skip_from: Option<i32> = None;
    for line in &class[compute + 1..] {
        let t = line.split("//").next().unwrap_or("").trim();
        if t.starts_with('}') {
            depth -= 1;
            if skip_from == Some(depth) {
                skip_from = None;
            }
            if levels.len() > 1 && levels.last().unwrap().1 == depth {
                levels.pop();
            }
            continue;
        }
        if t.ends_with('{') {
            if t.starts_with("if constexpr (S::stochastic)") && skip_from.is_none() {
                skip_from = Some(depth);
            }
            if t.starts_with("for (unsigned i") {
                levels.push((1, depth));
            } else if t.starts_with("for (unsigned t") {
                levels.push((2, depth));
            }
            depth += 1;
            continue;
        }
        if skip_from.is_some() || !t.ends_with(';') {
            continue;
        }
        parsed.statements += 1;
        if t.starts_with("const unsigned ") || t == "return true;" {
            continue; // sizes and indices
        }
        let c = count_line(t, &members, callee);
        let at = match levels.last().unwrap().0 {
            0 => &mut parsed.per_worker,
            1 => &mut parsed.per_element,
            _ => &mut parsed.per_step,
        };
        *at = at.plus(c);
    }
    parsed
}

/// The operations and statements of `static float grad(...)` in `struct name`.
fn parse_surrogate(cpp: &str, name: &str) -> (OpCounts, u32) {
    let body = block_lines(cpp, &format!("struct {name} {{"));
    let body = body.join("\n");
    let f = block_lines(&body, "static float grad(");
    let none = BTreeSet::new();
    let mut ops = OpCounts::default();
    let mut statements = 0;
    for line in &f[1..f.len() - 1] {
        statements += 1;
        ops = ops.plus(count_line(line, &none, &OpCounts::default()));
    }
    (ops, statements)
}

#[test]
fn op_counts_of_leaky_vertices_match_their_printed_cpp() {
    let g = leaky_only();
    let info = |name: &str| {
        g.vertices
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name} is generated"))
            .cost
            .expect("the generator writes the cost")
    };

    // the forward sequence vertex
    let class = block_lines(&g.cpp, "class LeakyFwdSeq<float, subtract, scalar>");
    let parsed = parse_class(&class, &OpCounts::default());
    let cost = info("snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>");
    assert_eq!(cost.per_worker, parsed.per_worker, "per worker");
    assert_eq!(cost.per_element, parsed.per_element, "per element");
    assert_eq!(cost.per_step, parsed.per_step, "per step");
    assert_eq!(cost.statements, parsed.statements, "statements");
    assert!(cost.step_loop);
    assert_eq!(cost.callee_statements, 0, "it calls nothing");
    // read off the C++ by hand: the step is s - th, >, ?, b*s, +x, r*th,
    // -, - th, >, ?, *graded; it reads x[at] and writes mem[at], spikes[at]
    assert_eq!(
        parsed.per_step,
        OpCounts {
            arith: 7,
            compare_select: 4,
            load: 1,
            store: 2,
            ..OpCounts::default()
        }
    );

    // the backward vertex with the atan surrogate (its call inlined)
    let (atan, atan_statements) = parse_surrogate(&g.cpp, "atan");
    assert_eq!(
        atan,
        OpCounts {
            arith: 5,
            div: 1,
            ..OpCounts::default()
        },
        "atan: c1*z, ^2, +1, 1/, *c0, *grad"
    );
    let class = block_lines(&g.cpp, "class LeakyBwdSeq<float, subtract, scalar, S>");
    let parsed = parse_class(&class, &atan);
    let cost = info("snn::LeakyBwdSeq<float,snn::subtract,snn::scalar,snn::atan>");
    assert_eq!(cost.per_worker, parsed.per_worker, "per worker");
    assert_eq!(cost.per_element, parsed.per_element, "per element");
    assert_eq!(cost.per_step, parsed.per_step, "per step");
    assert_eq!(cost.statements, parsed.statements, "statements");
    assert_eq!(cost.callee_statements, atan_statements);
    assert_eq!(parsed.per_step.calls, 1);
    assert_eq!(parsed.per_step.div, 1, "atan's division");
    // 4 stores per element after the sweep: grad_initial_mem, 3 rows of grad_prepared
    assert_eq!(parsed.per_element.store, 4);

    // a stochastic surrogate adds the random draw, per step
    let stochastic =
        info("snn::LeakyBwdSeq<float,snn::subtract,snn::scalar,snn::stochastic_spike_operator>");
    assert!(
        stochastic.per_step.calls >= 2,
        "the surrogate and the random stream: {:?}",
        stochastic.per_step
    );
    assert!(stochastic.statements > cost.statements);
}

#[test]
fn manifests_without_costs_still_read_and_costs_round_trip() {
    let g = leaky_only();
    let two = &g.vertices[..2];
    let text = to_json(two);
    assert_eq!(from_json(&text).unwrap(), two.to_vec(), "round trip");
    // a manifest written before the cost existed: the same, without it
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for v in value["vertices"].as_array_mut().unwrap() {
        assert!(v.as_object_mut().unwrap().remove("cost").is_some());
    }
    let old = from_json(&value.to_string()).expect("an older manifest reads");
    assert_eq!(old.len(), 2);
    assert!(old.iter().all(|v| v.cost.is_none()));
    assert_eq!(old[0].fields, two[0].fields);
}
