//! Printing a recorded [`Graph`] as C++: one statement per operation, in
//! the order the kernel performed them, each rounding exactly once.
//!
//! - `float` operations are written as they are (`r3 = r1 * r2;`); the host
//!   build forbids contraction into FMA (`-ffp-contract=off`), as the IPU
//!   compiler never fuses.
//! - `half` operations are written as a `float` operation cast back to
//!   `half` (`r3 = half(float(r1) * float(r2));`): binary32 holds every
//!   exact sum, difference and product of two binary16 values closely enough
//!   that rounding it to binary16 is the correctly rounded binary16 result.
//! - Constants are hexadecimal `float` literals (`0x1.8p+0f`), exact and
//!   never `double`; non-finite constants come from their bits.
//! - Words are `unsigned` (32 bits) or `unsigned short` (16 bits, computed
//!   in `unsigned` and truncated, so nothing is promoted to `int`).

use std::fmt::Write as _;

use crate::record::{BinOp, Graph, Id, Node, Ty, UnOp};

/// The C++ type of a recorded type.
pub fn cpp_type(ty: Ty) -> &'static str {
    match ty {
        Ty::F32 => "float",
        Ty::F16 => "half",
        Ty::Bool => "bool",
        Ty::U32 => "unsigned",
        Ty::U16 => "unsigned short",
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

/// The literal of a constant node.
fn constant(ty: Ty, bits: u64) -> String {
    match ty {
        Ty::F32 => {
            let b = bits as u32;
            if (b >> 23) & 0xff == 0xff {
                format!("snn::float_from_bits(0x{b:08x}u)")
            } else {
                f32_literal(b)
            }
        }
        Ty::F16 => {
            let h = bits as u16;
            if (h >> 10) & 0x1f == 0x1f {
                format!("snn::half_from_bits((unsigned short)0x{h:04x}u)")
            } else {
                // the binary16 value, exact in binary32
                let value = snn_kernels::F16::from_bits(h);
                let wide = snn_kernels::Real::widen(value);
                format!("half({})", f32_literal(wide.to_bits()))
            }
        }
        Ty::U32 => format!("0x{:08x}u", bits as u32),
        Ty::U16 => format!("(unsigned short)0x{:04x}u", bits as u16),
        Ty::Bool => (if bits != 0 { "true" } else { "false" }).to_string(),
    }
}

fn float_op(op: BinOp) -> &'static str {
    match op {
        BinOp::Add | BinOp::WordAdd => "+",
        BinOp::Sub | BinOp::WordSub => "-",
        BinOp::Mul | BinOp::WordMul => "*",
        BinOp::Div => "/",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Eq => "==",
        BinOp::And => "&&",
        BinOp::Or => "||",
        BinOp::BitAnd => "&",
        BinOp::BitOr => "|",
        BinOp::BitXor => "^",
    }
}

/// C++ for a straight-line recorded program.
pub struct Printer<'g> {
    graph: &'g Graph,
    names: Vec<Option<String>>,
    /// The name of the surrogate type in `Surrogate` nodes (`S`).
    pub surrogate: String,
}

impl<'g> Printer<'g> {
    /// A printer for `graph`.
    pub fn new(graph: &'g Graph) -> Self {
        Printer {
            graph,
            names: vec![None; graph.nodes().len()],
            surrogate: "S".to_string(),
        }
    }

    /// How an operand is written.
    fn operand(&self, id: Id) -> String {
        match self.graph.node(id) {
            Node::Input { name, .. } => name.clone(),
            Node::Const { ty, bits } => constant(*ty, *bits),
            _ => self.names[id as usize]
                .clone()
                .expect("operands are printed before their users"),
        }
    }

    fn expression(&self, node: &Node) -> (String, Option<&'static str>) {
        let o = |id: Id| self.operand(id);
        let half_operand = |id: Id| {
            if self.graph.node(id).ty() == Ty::F16 {
                format!("float({})", o(id))
            } else {
                o(id)
            }
        };
        let text = match node {
            Node::Input { .. } | Node::Const { .. } => unreachable!("not a statement"),
            Node::Binary { op, a, b, ty } => match (op, ty) {
                (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div, Ty::F16) => {
                    format!("half(float({}) {} float({}))", o(*a), float_op(*op), o(*b))
                }
                (_, Ty::U16) => format!(
                    "(unsigned short)((unsigned){} {} (unsigned){})",
                    o(*a),
                    float_op(*op),
                    o(*b)
                ),
                (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq, _) => format!(
                    "{} {} {}",
                    half_operand(*a),
                    float_op(*op),
                    half_operand(*b)
                ),
                _ => format!("{} {} {}", o(*a), float_op(*op), o(*b)),
            },
            Node::Unary { op, a, ty } => match (op, ty) {
                (UnOp::Neg, Ty::F16) => format!("half(-float({}))", o(*a)),
                (UnOp::Neg, _) => format!("-{}", o(*a)),
                (UnOp::Not, _) => format!("!{}", o(*a)),
                (UnOp::ToBits, _) => format!("snn::bits({})", o(*a)),
                (UnOp::FromBits, Ty::F16) => format!("snn::half_from_bits({})", o(*a)),
                (UnOp::FromBits, _) => format!("snn::float_from_bits({})", o(*a)),
                (UnOp::Widen, _) => format!("float({})", o(*a)),
                (UnOp::Narrow, _) => format!("half({})", o(*a)),
                (UnOp::Detach, _) => {
                    return (o(*a), Some("detached: no gradient flows back through it"))
                }
                (UnOp::Shl(k), Ty::U16) => format!("(unsigned short)((unsigned){} << {k}u)", o(*a)),
                (UnOp::Shr(k), Ty::U16) => format!("(unsigned short)((unsigned){} >> {k}u)", o(*a)),
                (UnOp::Shl(k), _) => format!("{} << {k}u", o(*a)),
                (UnOp::Shr(k), _) => format!("{} >> {k}u", o(*a)),
            },
            Node::Select { mask, a, b, .. } => format!("{} ? {} : {}", o(*mask), o(*a), o(*b)),
            Node::Surrogate {
                z,
                grad,
                constants,
                noise,
                ..
            } => format!(
                "{}::grad({}, {}, {}, {}, {}, {}, {})",
                self.surrogate,
                o(*z),
                o(*grad),
                o(constants[0]),
                o(constants[1]),
                o(constants[2]),
                o(constants[3]),
                o(*noise)
            ),
        };
        (text, None)
    }

    /// The statements computing `outputs` (every operation they need, once,
    /// in recording order) followed by `target = value;` for each output.
    /// Temporaries are named `{prefix}0`, `{prefix}1`, ... in order.
    pub fn body(&mut self, outputs: &[(String, Id)], prefix: &str, indent: &str) -> String {
        let ids: Vec<Id> = outputs.iter().map(|(_, id)| *id).collect();
        let live = self.graph.live(&ids);
        let mut out = String::new();
        let mut count = 0;
        for (i, node) in self.graph.nodes().iter().enumerate() {
            if !live[i] || matches!(node, Node::Input { .. } | Node::Const { .. }) {
                continue;
            }
            let (text, comment) = self.expression(node);
            let name = format!("{prefix}{count}");
            count += 1;
            let _ = write!(
                out,
                "{indent}const {} {name} = {text};",
                cpp_type(node.ty())
            );
            if let Some(comment) = comment {
                let _ = write!(out, "  // {comment}");
            }
            out.push('\n');
            self.names[i] = Some(name);
        }
        for (target, id) in outputs {
            let _ = writeln!(out, "{indent}{target} = {};", self.operand(*id));
        }
        out
    }
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
