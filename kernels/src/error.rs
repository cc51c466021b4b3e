//! The crate's error type: every bad input to a public function ends here,
//! never in a panic.

use core::fmt;

/// What went wrong, with enough context to fix the call.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A dimension of the shape is zero.
    EmptyShape {
        /// `"steps"`, `"batch"` or `"neurons"`.
        dimension: &'static str,
    },
    /// The shape's element count does not fit in `usize` (or, for the
    /// random stream, in 32 bits).
    ShapeTooLarge,
    /// A slice has the wrong length.
    Length {
        /// Which slice (for example `"input x"`, `"initial mem"`).
        what: &'static str,
        /// The length the shape requires.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A list of slices (inputs, states, parameters) has the wrong count.
    Count {
        /// Which list (for example `"parameters"`).
        what: &'static str,
        /// The names the model expects, in order.
        names: &'static [&'static str],
        /// The count given.
        actual: usize,
    },
    /// A per-neuron parameter slice does not have one value per neuron.
    ParameterLength {
        /// The parameter's name.
        parameter: &'static str,
        /// The number of neurons.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A parameter gradient output has a length that matches neither a
    /// scalar (1) nor a per-neuron parameter, or not the parameter's kind.
    GradientLength {
        /// The parameter's name.
        parameter: &'static str,
        /// 1 for a scalar parameter, the number of neurons otherwise.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A parameter value is outside what the model accepts (see
    /// `docs/semantics.md`, "Parameter rules").
    InvalidParameter {
        /// The model (`"alpha"`, `"lapicque"`, ...).
        model: &'static str,
        /// The parameter that breaks the rule (for a rule between
        /// parameters, the one the message tells to change).
        parameter: &'static str,
        /// The rule that was broken and what to do about it.
        reason: &'static str,
        /// The first offending neuron, when a parameter is per neuron.
        neuron: Option<usize>,
    },
    /// A surrogate's constant is not finite in the layer's precision.
    InvalidSurrogate {
        /// The surrogate (`Surrogate::NAME`).
        surrogate: &'static str,
        /// The constant (`Surrogate::CONSTANTS`) that is not finite.
        constant: &'static str,
    },
    /// An argument that is not a slice or a parameter of a layer (for
    /// example a loss target) is outside what the function accepts.
    InvalidArgument {
        /// The argument.
        what: &'static str,
        /// The rule that was broken.
        reason: &'static str,
    },
    /// A model was configured with a combination of options it does not have.
    InvalidConfiguration {
        /// The model.
        model: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A class label is not below the number of classes.
    Label {
        /// The batch row.
        row: usize,
        /// The label given.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyShape { dimension } => {
                write!(f, "the number of {dimension} must be at least 1, got 0")
            }
            Error::ShapeTooLarge => {
                write!(f, "steps x batch x neurons overflows the index range")
            }
            Error::Length { what, expected, actual } => {
                write!(f, "{what} has {actual} values, the shape needs {expected}")
            }
            Error::Count { what, names, actual } => {
                write!(f, "expected {} {what} (", names.len())?;
                for (i, name) in names.iter().enumerate() {
                    write!(f, "{}{name}", if i == 0 { "" } else { ", " })?;
                }
                write!(f, "), got {actual}")
            }
            Error::ParameterLength { parameter, expected, actual } => write!(
                f,
                "per-neuron parameter `{parameter}` has {actual} values, the layer has {expected} neurons"
            ),
            Error::GradientLength { parameter, expected, actual } => write!(
                f,
                "gradient output for `{parameter}` has {actual} values, expected {expected} \
                 (or 0 to skip it)"
            ),
            Error::InvalidParameter { model, parameter, reason, neuron: Some(n) } => {
                write!(f, "{model} parameter `{parameter}` of neuron {n}: {reason}")
            }
            Error::InvalidParameter { model, parameter, reason, neuron: None } => {
                write!(f, "{model} parameter `{parameter}`: {reason}")
            }
            Error::InvalidSurrogate { surrogate, constant } => write!(
                f,
                "surrogate {surrogate}: its constant `{constant}`, computed from the surrogate's parameters and rounded to the layer's precision, is not a finite number; give finite parameters"
            ),
            Error::InvalidArgument { what, reason } => write!(f, "{what}: {reason}"),
            Error::InvalidConfiguration { model, reason } => write!(f, "{model}: {reason}"),
            Error::Label { row, label, classes } => {
                write!(f, "label {label} of batch row {row} is not below the {classes} classes")
            }
        }
    }
}

impl core::error::Error for Error {}

/// `Ok` when a slice has the expected length, else [`Error::Length`].
pub(crate) fn check_len(what: &'static str, actual: usize, expected: usize) -> Result<(), Error> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            actual,
        })
    }
}
