//! The Poplar target: vertex C++ for Graphcore's `popc`.
//!
//! - Each `float` operation is written as it is (`r3 = r1 * r2;`); popc never
//!   fuses a multiply and an add, and the host build forbids it
//!   (`-ffp-contract=off`).
//! - Each `half` operation is a `float` operation cast back to `half`
//!   (`half(float(r1) * float(r2))`): binary32 holds every exact sum,
//!   difference and product of two binary16 values closely enough that one
//!   rounding to binary16 gives the correctly rounded binary16 result.
//! - Constants are exact hexadecimal `float` literals (`0x1.8p+0f`), never
//!   `double` (PopLibs builds codelets with `-Wdouble-promotion -Werror`);
//!   non-finite constants come from their bits.
//! - Bit casts copy the object representation with `__builtin_memcpy`, as
//!   PopLibs' `copy_cast` does with `memcpy`.
//! - Vertices are `poplar::MultiVertex` classes with
//!   `bool compute(unsigned workerId)` returning `true` (the form SDK 2.1 and
//!   every 3.x accept) and fields `poplar::Vector<T, Layout, 8>`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{print_graph, Dialect};
use crate::build::{Codelets, Instance};
use crate::ir::{Arith, Bitwise, Callee, Compare, Float, Function, Node, Role, Ty, Word};
use crate::vertex::{
    Dest, Direction, Index, Ix, Layout, MemberTy, Operand, Stmt, TemplateArg, VarId, VertexDef,
};

/// The Poplar vertex C++ dialect.
#[derive(Clone, Copy, Debug, Default)]
pub struct Poplar;

/// The C++ name of a float type.
pub fn float_name(precision: Float) -> &'static str {
    match precision {
        Float::Binary16 => "half",
        Float::Binary32 => "float",
    }
}

/// An exact hexadecimal C++ literal for the binary32 value with these bits
/// (finite values only).
pub fn f32_literal(bits: u32) -> String {
    let sign = if bits >> 31 == 1 { "-" } else { "" };
    let exponent = ((bits >> 23) & 0xff) as i32;
    let fraction = bits & 0x7f_ffff;
    if exponent == 0 && fraction == 0 {
        return format!("{sign}0x0p+0f");
    }
    // value = significand · 2^(e - 23) with a 24-bit significand
    let (mut significand, mut e) = if exponent == 0 {
        (fraction, -126)
    } else {
        (fraction | 0x80_0000, exponent - 127)
    };
    while significand & 0x80_0000 == 0 {
        significand <<= 1;
        e -= 1;
    }
    // 23 fraction bits as 6 hex digits (24 bits, the last one zero)
    let digits = format!("{:06x}", (significand & 0x7f_ffff) << 1);
    let digits = digits.trim_end_matches('0');
    let point = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    format!("{sign}0x1{point}p{e:+}f")
}

fn arith_symbol(op: Arith) -> &'static str {
    match op {
        Arith::Add => "+",
        Arith::Sub => "-",
        Arith::Mul => "*",
        Arith::Div => "/",
    }
}

fn as_float(precision: Float, a: &str) -> String {
    match precision {
        Float::Binary16 => format!("float({a})"),
        Float::Binary32 => a.to_string(),
    }
}

impl Dialect for Poplar {
    fn type_name(&self, ty: Ty) -> &'static str {
        match ty {
            Ty::Float(f) => float_name(f),
            Ty::Word(Word::Bits32) => "unsigned",
            Ty::Word(Word::Bits16) => "unsigned short",
            Ty::Mask => "bool",
        }
    }

    fn constant(&self, ty: Ty, bits: u64) -> String {
        match ty {
            Ty::Float(Float::Binary32) => {
                let b = bits as u32;
                if (b >> 23) & 0xff == 0xff {
                    format!("snn::float_from_bits(0x{b:08x}u)")
                } else {
                    f32_literal(b)
                }
            }
            Ty::Float(Float::Binary16) => {
                let h = bits as u16;
                if (h >> 10) & 0x1f == 0x1f {
                    format!("snn::half_from_bits((unsigned short)0x{h:04x}u)")
                } else {
                    // the binary16 value, exact in binary32
                    let wide = snn_kernels::F16::from_bits(h).to_f32();
                    format!("half({})", f32_literal(wide.to_bits()))
                }
            }
            Ty::Word(Word::Bits32) => format!("0x{:08x}u", bits as u32),
            Ty::Word(Word::Bits16) => format!("(unsigned short)0x{:04x}u", bits as u16),
            Ty::Mask => (if bits != 0 { "true" } else { "false" }).to_string(),
        }
    }

    fn arith(&self, op: Arith, precision: Float, a: &str, b: &str) -> String {
        let symbol = arith_symbol(op);
        match precision {
            Float::Binary16 => format!("half(float({a}) {symbol} float({b}))"),
            Float::Binary32 => format!("{a} {symbol} {b}"),
        }
    }

    fn negate(&self, precision: Float, a: &str) -> String {
        match precision {
            Float::Binary16 => format!("half(-float({a}))"),
            Float::Binary32 => format!("-{a}"),
        }
    }

    fn compare(&self, op: Compare, precision: Float, a: &str, b: &str) -> String {
        let symbol = match op {
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
            Compare::Eq => "==",
        };
        format!(
            "{} {symbol} {}",
            as_float(precision, a),
            as_float(precision, b)
        )
    }

    fn bitwise(&self, op: Bitwise, width: Word, a: &str, b: &str) -> String {
        let symbol = match op {
            Bitwise::Add => "+",
            Bitwise::Sub => "-",
            Bitwise::Mul => "*",
            Bitwise::And => "&",
            Bitwise::Or => "|",
            Bitwise::Xor => "^",
        };
        match width {
            // computed in unsigned and truncated: nothing is promoted to int
            Word::Bits16 => format!("(unsigned short)((unsigned){a} {symbol} (unsigned){b})"),
            Word::Bits32 => format!("{a} {symbol} {b}"),
        }
    }

    fn shift(&self, left: bool, amount: u32, width: Word, a: &str) -> String {
        let symbol = if left { "<<" } else { ">>" };
        match width {
            Word::Bits16 => format!("(unsigned short)((unsigned){a} {symbol} {amount}u)"),
            Word::Bits32 => format!("{a} {symbol} {amount}u"),
        }
    }

    fn logic(&self, and: bool, a: &str, b: &str) -> String {
        format!("{a} {} {b}", if and { "&&" } else { "||" })
    }

    fn not(&self, a: &str) -> String {
        format!("!{a}")
    }

    fn bit_cast(&self, to: Ty, a: &str) -> String {
        match to {
            Ty::Word(_) => format!("snn::bits({a})"),
            Ty::Float(Float::Binary16) => format!("snn::half_from_bits({a})"),
            Ty::Float(Float::Binary32) => format!("snn::float_from_bits({a})"),
            Ty::Mask => panic!("no bit cast to a mask"),
        }
    }

    fn convert(&self, to: Float, a: &str) -> String {
        format!("{}({a})", float_name(to))
    }

    fn select(&self, mask: &str, a: &str, b: &str) -> String {
        format!("{mask} ? {a} : {b}")
    }

    fn call(&self, callee: Callee, args: &[String]) -> String {
        let name = match callee {
            Callee::Surrogate => "S::grad".to_string(),
            Callee::Uniform(precision) => format!("uniform_{}", float_name(precision)),
        };
        format!("{name}({})", args.join(", "))
    }

    fn temporary(&self, ty: Ty, name: &str, value: &str) -> String {
        format!("const {} {name} = {value};", self.type_name(ty))
    }

    fn assign(&self, target: &str, value: &str) -> String {
        format!("{target} = {value};")
    }

    fn comment(&self, text: &str) -> String {
        format!("// {text}")
    }
}

/// The host-facing name of a vertex: `snn::LeakyBwdSeq<half,snn::subtract,snn::scalar,snn::atan>`
/// (no spaces, as `poputil::templateVertex` writes it).
pub fn vertex_name(instance: &Instance<'_>) -> String {
    let args: Vec<String> = instance
        .def
        .args
        .iter()
        .map(|arg| match arg {
            TemplateArg::Float(f) => float_name(*f).to_string(),
            TemplateArg::Tag(tag) => format!("snn::{tag}"),
            TemplateArg::Surrogate => format!(
                "snn::{}",
                instance.surrogate.map(|s| s.name.as_str()).unwrap_or("S")
            ),
        })
        .collect();
    format!("snn::{}<{}>", instance.def.class, args.join(","))
}

/// The C++ type of a field.
pub fn field_type(def: &VertexDef, field: usize) -> String {
    let f = &def.fields[field];
    let wrapper = match f.direction {
        Direction::Input => "Input",
        Direction::Output => "Output",
        Direction::InOut => "InOut",
    };
    let layout = match f.layout {
        Layout::Span => "SPAN",
        Layout::OnePtr => "ONE_PTR",
    };
    format!(
        "poplar::{wrapper}<poplar::Vector<{}, poplar::VectorLayout::{layout}, {}>>",
        float_name(f.element),
        f.alignment
    )
}

/// The C++ type of a member.
pub fn member_type(ty: MemberTy) -> &'static str {
    match ty {
        MemberTy::Float(f) => float_name(f),
        MemberTy::Unsigned => "unsigned",
    }
}

const HEADER: &str = "\
// Spiking-neuron codelets for the Graphcore IPU.
//
// GENERATED by snn-codelet-gen from the kernels of the snn-kernels crate:
// do not edit; change the Rust kernels and regenerate. Each statement is one
// operation of the Rust kernel, rounded once: float operations as written
// (never contracted into FMA), half operations as a float operation cast back
// to half, constants as exact hexadecimal float literals.
//
// IPU:  popc -O3 -Werror -Wdouble-promotion --target ipu2 codelets.cpp -o codelets.gp
// Host: compiled with snn-poplar-host's stand-in headers (cpp/stand_in) and
//       -ffp-contract=off -fno-fast-math.
//
// Half vertices give each worker whole 32-bit words of every output (groups of
// 4 elements, n even): a 16-bit store is a read-modify-write of its word.

#include <poplar/HalfFloat.hpp>
#include <poplar/Vertex.hpp>

namespace snn {

/// Bit casts: a copy of the object representation, as PopLibs' copy_cast.
inline unsigned bits(float x) { unsigned b; __builtin_memcpy(&b, &x, sizeof b); return b; }
inline unsigned short bits(half x) { unsigned short b; __builtin_memcpy(&b, static_cast<const void *>(&x), sizeof b); return b; }
inline float float_from_bits(unsigned b) { float x; __builtin_memcpy(&x, &b, sizeof x); return x; }
inline half half_from_bits(unsigned short b) { half x; __builtin_memcpy(static_cast<void *>(&x), &b, sizeof x); return x; }

/// Parameter modes: prepared constants as members, or one value per element.
struct scalar {};
struct per_neuron {};

";

/// The codelet file: every vertex class, and an explicit instantiation of
/// every backward class per surrogate.
pub fn codelet_file(codelets: &Codelets) -> String {
    let mut cpp = String::from(HEADER);
    cpp.push_str("/// Model configurations (reset mechanism, reset_delay, ...).\n");
    for tag in &codelets.tags {
        let _ = writeln!(cpp, "struct {tag} {{}};");
    }
    cpp.push('\n');
    for precision in [Float::Binary32, Float::Binary16] {
        let function = codelets
            .uniform
            .iter()
            .find(|f| f.callee == Callee::Uniform(precision))
            .expect("both precisions");
        cpp.push_str(
            "/// Uniform in [0, 1) for (seed, step, element): the kernels' counter-based stream.\n",
        );
        let t = float_name(precision);
        cpp.push_str(&function_text(
            function,
            &format!("inline {t} uniform_{t}"),
            "",
            false,
        ));
    }
    cpp.push('\n');
    for surrogate in &codelets.surrogates {
        let _ = writeln!(
            cpp,
            "/// The `{}` surrogate: `dL/dz` from `grad = dL/dh`.\nstruct {} {{\n  static constexpr bool stochastic = {};",
            surrogate.name, surrogate.name, surrogate.stochastic
        );
        for precision in [Float::Binary32, Float::Binary16] {
            let t = float_name(precision);
            cpp.push_str(&function_text(
                surrogate.function(precision),
                &format!("static {t} grad"),
                "  ",
                true,
            ));
        }
        cpp.push_str("};\n\n");
    }
    let mut last_model = "";
    for def in &codelets.classes {
        if !def.kind.is_neuron() {
            if def.model != last_model {
                last_model = &def.model;
                let _ = writeln!(cpp, "// ---- {} ----", def.model);
            }
            let _ = writeln!(cpp, "template <typename T> class {};\n", def.class);
        } else if def.model != last_model {
            last_model = &def.model;
            let stem = def.class.trim_end_matches(def.kind.suffix());
            let _ = writeln!(
                cpp,
                "// ---- {} ----\ntemplate <typename T, typename Variant, typename Params> class {stem}FwdStep;\ntemplate <typename T, typename Variant, typename Params> class {stem}FwdSeq;\ntemplate <typename T, typename Variant, typename Params, typename Surrogate> class {stem}BwdSeq;\n",
                def.model
            );
        }
        cpp.push_str(&class_text(def));
    }
    cpp.push_str(
        "} // namespace snn\n\n// Every backward vertex, once per surrogate. (The host harness, which\n// includes this file in several parts, instantiates in each only what it\n// runs.)\n#ifndef SNN_HOST_IMPLICIT_INSTANTIATION\n",
    );
    for instance in codelets.instances() {
        if instance.surrogate.is_some() {
            let _ = writeln!(
                cpp,
                "template class {};",
                vertex_name(&instance).replace(',', ", ")
            );
        }
    }
    cpp.push_str("#endif\n");
    cpp
}

/// A function definition: `head(params) { result; body; return result; }`.
fn function_text(function: &Function, head: &str, indent: &str, maybe_unused: bool) -> String {
    let d = Poplar;
    let attribute = if maybe_unused {
        "[[maybe_unused]] "
    } else {
        ""
    };
    let params: Vec<String> = function
        .parameters
        .iter()
        .map(|(name, ty)| format!("{attribute}{} {name}", d.type_name(*ty)))
        .collect();
    let names: Vec<&str> = function
        .parameters
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    let input = |role: Role| match role {
        Role::Parameter(k) => names.get(k).map(|n| n.to_string()),
        _ => None,
    };
    let body = print_graph(
        &d,
        &function.graph,
        &input,
        &[(function.result, "result".to_string())],
        "r",
        &format!("{indent}  "),
    );
    format!(
        "{indent}{head}({}) {{\n{indent}  {} result;\n{body}{indent}  return result;\n{indent}}}\n",
        params.join(", "),
        d.type_name(function.result_ty())
    )
}

/// The variables a body reads (not just writes).
fn read_vars(def: &VertexDef) -> BTreeSet<VarId> {
    fn operand(op: &Operand, out: &mut BTreeSet<VarId>) {
        match op {
            Operand::Var(v) => {
                out.insert(*v);
            }
            Operand::FirstStepOr { first, later } => {
                operand(first, out);
                operand(later, out);
            }
            _ => {}
        }
    }
    fn walk(stmts: &[Stmt], out: &mut BTreeSet<VarId>) {
        for stmt in stmts {
            match stmt {
                Stmt::Let(_, op) | Stmt::Set(_, op) | Stmt::Store { value: op, .. } => {
                    operand(op, out)
                }
                Stmt::ForElements(body)
                | Stmt::ForSteps { body, .. }
                | Stmt::Loop { body, .. }
                | Stmt::IfStochastic(body) => walk(body, out),
                Stmt::LetIndex { .. } => {}
                Stmt::Block(block) => {
                    let ids: Vec<u32> = block.outputs.iter().map(|(id, _)| *id).collect();
                    let live = block.graph.live(&ids);
                    for (node, live) in block.graph.nodes().iter().zip(live) {
                        if let (Node::Input { role, .. }, true) = (node, live) {
                            if let Some(op) = block.input(*role) {
                                operand(op, out);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&def.body, &mut out);
    out
}

/// Prints one vertex body.
struct BodyPrinter<'a> {
    def: &'a VertexDef,
    read: BTreeSet<VarId>,
    steps: String,
}

impl BodyPrinter<'_> {
    fn index(&self, index: &Index) -> String {
        match index {
            Index::Element => "i".into(),
            Index::Step => "t".into(),
            Index::At => "at".into(),
            Index::AtPreviousStep => "at - n".into(),
            Index::Row(k) => format!("{k}u * n + i"),
            Index::MemberPlusElement(m) => format!("{} + i", self.def.members[*m].name),
            Index::Expr(ix) => self.ix(ix),
        }
    }

    fn ix(&self, ix: &Ix) -> String {
        let pair = |a: &Ix, op: &str, b: &Ix| format!("({} {op} {})", self.ix(a), self.ix(b));
        match ix {
            Ix::Element => "i".into(),
            Ix::Name(name) => name.clone(),
            Ix::Member(m) => self.def.members[*m].name.clone(),
            Ix::Const(k) => format!("{k}u"),
            Ix::Add(a, b) => pair(a, "+", b),
            Ix::Mul(a, b) => pair(a, "*", b),
            Ix::Div(a, b) => pair(a, "/", b),
            Ix::Rem(a, b) => pair(a, "%", b),
        }
    }

    fn operand(&self, op: &Operand) -> String {
        match op {
            Operand::Var(v) => self.def.vars[*v].name.clone(),
            Operand::Member(m) => self.def.members[*m].name.clone(),
            Operand::Load { field, index } => {
                format!("{}[{}]", self.def.fields[*field].name, self.index(index))
            }
            Operand::FirstStepOr { first, later } => {
                format!("t == 0 ? {} : {}", self.operand(first), self.operand(later))
            }
            Operand::Const { ty, bits } => Poplar.constant(*ty, *bits),
            Operand::Word(index) => self.index(index),
        }
    }

    fn statements(&self, stmts: &[Stmt], indent: &str, out: &mut String) {
        let inner = format!("{indent}  ");
        for stmt in stmts {
            match stmt {
                Stmt::Let(v, op) => {
                    let var = &self.def.vars[*v];
                    let unused = if self.read.contains(v) {
                        ""
                    } else {
                        "[[maybe_unused]] "
                    };
                    let constness = if var.mutable { "" } else { "const " };
                    let _ = writeln!(
                        out,
                        "{indent}{unused}{constness}{} {} = {};",
                        Poplar.type_name(var.ty),
                        var.name,
                        self.operand(op)
                    );
                }
                Stmt::Set(v, op) => {
                    let _ = writeln!(
                        out,
                        "{indent}{} = {};",
                        self.def.vars[*v].name,
                        self.operand(op)
                    );
                }
                Stmt::Store {
                    field,
                    index,
                    value,
                } => {
                    let _ = writeln!(
                        out,
                        "{indent}{}[{}] = {};",
                        self.def.fields[*field].name,
                        self.index(index),
                        self.operand(value)
                    );
                }
                Stmt::ForElements(body) => {
                    let grain = self.def.split.grain;
                    if grain == 1 {
                        let _ = writeln!(
                            out,
                            "{indent}for (unsigned i = workerId; i < n; i += numWorkers()) {{"
                        );
                        self.statements(body, &inner, out);
                    } else {
                        // whole groups of `grain` elements per worker
                        let _ = writeln!(
                            out,
                            "{indent}const unsigned groups = n / {grain}u + (n % {grain}u == 0u ? 0u : 1u);\n{indent}for (unsigned group = workerId; group < groups; group += numWorkers()) {{\n{inner}const unsigned first = group * {grain}u;\n{inner}const unsigned end = n - first < {grain}u ? n : first + {grain}u;\n{inner}for (unsigned i = first; i < end; ++i) {{"
                        );
                        self.statements(body, &format!("{inner}  "), out);
                        let _ = writeln!(out, "{inner}}}");
                    }
                    let _ = writeln!(out, "{indent}}}");
                }
                Stmt::ForSteps { reverse, body } => {
                    let steps = &self.steps;
                    if *reverse {
                        let _ = writeln!(out, "{indent}for (unsigned t = {steps}; t-- > 0;) {{");
                    } else {
                        let _ = writeln!(out, "{indent}for (unsigned t = 0; t < {steps}; ++t) {{");
                    }
                    let _ = writeln!(out, "{inner}const unsigned at = t * n + i;");
                    self.statements(body, &inner, out);
                    let _ = writeln!(out, "{indent}}}");
                }
                Stmt::LetIndex { name, value } => {
                    let _ = writeln!(out, "{indent}const unsigned {name} = {};", self.ix(value));
                }
                Stmt::Loop {
                    counter,
                    from,
                    to,
                    body,
                } => {
                    let _ = writeln!(
                        out,
                        "{indent}for (unsigned {counter} = {}; {counter} < {}; ++{counter}) {{",
                        self.ix(from),
                        self.ix(to)
                    );
                    self.statements(body, &inner, out);
                    let _ = writeln!(out, "{indent}}}");
                }
                Stmt::IfStochastic(body) => {
                    let _ = writeln!(out, "{indent}if constexpr (S::stochastic) {{");
                    self.statements(body, &inner, out);
                    let _ = writeln!(out, "{indent}}}");
                }
                Stmt::Block(block) => {
                    let mut targets = Vec::new();
                    for (id, dest) in &block.outputs {
                        let target = match dest {
                            Dest::Declare(v) => {
                                let var = &self.def.vars[*v];
                                let _ = writeln!(
                                    out,
                                    "{indent}{} {};",
                                    Poplar.type_name(var.ty),
                                    var.name
                                );
                                var.name.clone()
                            }
                            Dest::Set(v) => self.def.vars[*v].name.clone(),
                            Dest::Store { field, index } => {
                                format!("{}[{}]", self.def.fields[*field].name, self.index(index))
                            }
                        };
                        targets.push((*id, target));
                    }
                    let input = |role: Role| block.input(role).map(|op| self.operand(op));
                    let _ = writeln!(out, "{indent}{{");
                    out.push_str(&print_graph(
                        &Poplar,
                        &block.graph,
                        &input,
                        &targets,
                        "r",
                        &inner,
                    ));
                    let _ = writeln!(out, "{indent}}}");
                }
            }
        }
    }
}

/// One vertex class.
fn class_text(def: &VertexDef) -> String {
    let args: Vec<String> = def
        .args
        .iter()
        .map(|arg| match arg {
            TemplateArg::Float(f) => float_name(*f).to_string(),
            TemplateArg::Tag(tag) => tag.clone(),
            TemplateArg::Surrogate => "S".to_string(),
        })
        .collect();
    let template = if def.takes_surrogate() {
        "template <typename S>"
    } else {
        "template <>"
    };
    let mut s = format!(
        "/// {}\n{template}\nclass {}<{}> : public poplar::MultiVertex {{\npublic:\n",
        def.doc,
        def.class,
        args.join(", ")
    );
    for (k, field) in def.fields.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {} {};  // [{}] {}",
            field_type(def, k),
            field.name,
            field.length,
            field.meaning
        );
    }
    for member in &def.members {
        let _ = writeln!(
            s,
            "  {} {};  // {}",
            member_type(member.ty),
            member.name,
            member.meaning
        );
    }
    let steps = def
        .member_with(crate::vertex::MemberRole::Steps)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let printer = BodyPrinter {
        def,
        read: read_vars(def),
        steps,
    };
    let _ = writeln!(
        s,
        "\n  bool compute(unsigned workerId) {{\n    const unsigned n = {}.size();",
        def.fields[def.elements_from].name
    );
    printer.statements(&def.body, "    ", &mut s);
    s.push_str("    return true;\n  }\n};\n\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_literals_are_exact_hexadecimal() {
        assert_eq!(f32_literal(1.5f32.to_bits()), "0x1.8p+0f");
        assert_eq!(f32_literal((-0.0f32).to_bits()), "-0x0p+0f");
        assert_eq!(f32_literal(0.1f32.to_bits()), "0x1.99999ap-4f");
        assert_eq!(f32_literal(f32::MAX.to_bits()), "0x1.fffffep+127f");
        assert_eq!(f32_literal(1), "0x1p-149f", "the smallest subnormal");
        assert_eq!(f32_literal(f32::MIN_POSITIVE.to_bits()), "0x1p-126f");
        assert_eq!(f32_literal(0x0040_0000), "0x1p-127f");
    }
}
