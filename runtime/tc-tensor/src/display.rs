//! NumPy-style printing of tensors, as `tensorc run` and the REPL show values (SPEC §7).
//!
//! [`format_tensor`] gives what `numpy.array2string(a, separator=', ')` gives with NumPy's
//! default print options: nested brackets, aligned columns, lines wrapped at 75 columns,
//! floats with the shortest digits that identify the value (at most 8 after the point,
//! scientific notation when the magnitudes call for it), `True`/`False` for bools, and
//! `...` in place of the middle of every axis longer than 6 when the tensor has more than
//! 1000 elements. A scalar prints as a bare number; an empty tensor as `[]`.
//!
//! f64 is the one exception to NumPy's defaults: SPEC §4 asks that an f64 shows all its
//! digits, so f64 values print as with `floatmode='unique'` (the shortest digits that
//! read back as the same f64, however many there are): the f64 nearest 0.1 prints `0.1`,
//! and 0.1 rounded through f32 prints `0.10000000149011612`, where NumPy's default
//! `precision=8` would show both as `0.1`. f32, f16 and bf16 keep the default.

use crate::{DType, Data, Tensor};
use half::{bf16, f16};
use std::fmt;

/// More elements than this are summarised (`numpy.get_printoptions()['threshold']`).
const THRESHOLD: usize = 1000;
/// Elements shown at each end of a summarised axis (`edgeitems`).
const EDGE_ITEMS: usize = 3;
/// Line width (`linewidth`).
const LINE_WIDTH: isize = 75;
/// Fractional digits at most (`precision`), except for f64 (see the module docs).
const PRECISION: usize = 8;
const SEPARATOR: &str = ", ";

/// The tensor's values as NumPy prints them (see the module docs).
///
/// ```
/// # use tc_tensor::{format_tensor, Tensor};
/// let t = Tensor::from_f32(vec![2, 2], vec![0.1, 1.5, -2.0, 3.0]).unwrap();
/// assert_eq!(format_tensor(&t), "[[ 0.1,  1.5],\n [-2. ,  3. ]]");
/// ```
pub fn format_tensor(t: &Tensor) -> String {
    if t.is_empty() {
        return "[]".to_string();
    }
    let shape = t.shape();
    let summarize = t.len() > THRESHOLD;
    let mut strides = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    let shown = if summarize { shown_indices(shape, &strides) } else { (0..t.len()).collect() };
    let format = ElementFormat::new(t.data(), &shown, t.rank() == 0);
    let printer = Printer { data: t.data(), shape, strides: &strides, summarize, format };
    printer.array(0, 0, " ", LINE_WIDTH)
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_tensor(self))
    }
}

/// Flat indices of the elements a summarised print shows (NumPy's `_leading_trailing`).
fn shown_indices(shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize];
    for (axis, &len) in shape.iter().enumerate() {
        let along: Vec<usize> = if len > 2 * EDGE_ITEMS {
            (0..EDGE_ITEMS).chain(len - EDGE_ITEMS..len).collect()
        } else {
            (0..len).collect()
        };
        out = out.iter().flat_map(|&base| along.iter().map(move |&i| base + i * strides[axis])).collect();
    }
    out
}

struct Printer<'a> {
    data: &'a Data,
    shape: &'a [usize],
    strides: &'a [usize],
    summarize: bool,
    format: ElementFormat,
}

impl Printer<'_> {
    /// NumPy's `_formatArray` recursion: the sub-array at flat offset `base` from `axis` on.
    fn array(&self, base: usize, axis: usize, hanging_indent: &str, width: isize) -> String {
        let rank = self.shape.len();
        if axis == rank {
            return self.format.format(self.data, base);
        }
        let next_indent = format!("{hanging_indent} ");
        let next_width = width - 1;
        let len = self.shape[axis];
        let stride = self.strides[axis];
        let summary = self.summarize && 2 * EDGE_ITEMS < len;
        let (leading, trailing) = if summary { (EDGE_ITEMS, EDGE_ITEMS) } else { (0, len) };
        let sub = |i: usize| self.array(base + i * stride, axis + 1, &next_indent, next_width);
        let mut s = String::new();
        if axis + 1 == rank {
            // Last axis: elements on lines, wrapped before the width is exceeded.
            let elem_width = width - 1;
            let mut line = hanging_indent.to_string();
            for i in 0..leading {
                extend_line(&mut s, &mut line, &sub(i), elem_width, hanging_indent);
                line.push_str(SEPARATOR);
            }
            if summary {
                extend_line(&mut s, &mut line, "...", elem_width, hanging_indent);
                line.push_str(SEPARATOR);
            }
            for i in (2..=trailing).rev() {
                extend_line(&mut s, &mut line, &sub(len - i), elem_width, hanging_indent);
                line.push_str(SEPARATOR);
            }
            extend_line(&mut s, &mut line, &sub(len - 1), elem_width, hanging_indent);
            s.push_str(&line);
        } else {
            // Outer axes: one sub-array per line, blank lines between higher axes.
            let line_sep = format!("{}{}", SEPARATOR.trim_end(), "\n".repeat(rank - axis - 1));
            for i in 0..leading {
                s.push_str(hanging_indent);
                s.push_str(&sub(i));
                s.push_str(&line_sep);
            }
            if summary {
                s.push_str(hanging_indent);
                s.push_str("...");
                s.push_str(&line_sep);
            }
            for i in (2..=trailing).rev() {
                s.push_str(hanging_indent);
                s.push_str(&sub(len - i));
                s.push_str(&line_sep);
            }
            s.push_str(hanging_indent);
            s.push_str(&sub(len - 1));
        }
        format!("[{}]", &s[hanging_indent.len()..])
    }
}

/// NumPy's `_extendLine`: append `word`, first starting a new line if it would not fit.
fn extend_line(s: &mut String, line: &mut String, word: &str, width: isize, indent: &str) {
    let too_long = (line.len() + word.len()) as isize > width;
    // Wrapping does not help when the line holds nothing but the indent.
    if too_long && line.len() > indent.len() {
        s.push_str(line.trim_end());
        s.push('\n');
        line.clear();
        line.push_str(indent);
    }
    line.push_str(word);
}

/// How every element of one tensor is formatted (one width for all, so columns align).
enum ElementFormat {
    Bool { true_str: &'static str },
    Int { width: usize },
    Float(FloatFormat),
}

impl ElementFormat {
    fn new(data: &Data, shown: &[usize], scalar: bool) -> ElementFormat {
        match data {
            // " True" lines up with "False", except in a scalar.
            Data::Bool(_) => ElementFormat::Bool { true_str: if scalar { "True" } else { " True" } },
            Data::I64(_) | Data::I32(_) | Data::U8(_) => {
                let width = shown.iter().map(|&i| int_at(data, i).to_string().len()).max().unwrap_or(0);
                ElementFormat::Int { width }
            }
            _ => ElementFormat::Float(FloatFormat::new(data, shown)),
        }
    }

    fn format(&self, data: &Data, i: usize) -> String {
        match self {
            ElementFormat::Bool { true_str } => {
                let v = matches!(data, Data::Bool(v) if v[i]);
                if v { true_str.to_string() } else { "False".to_string() }
            }
            ElementFormat::Int { width } => format!("{:>width$}", int_at(data, i)),
            ElementFormat::Float(f) => f.format(float_at(data, i)),
        }
    }
}

fn int_at(data: &Data, i: usize) -> i64 {
    match data {
        Data::I64(v) => v[i],
        Data::I32(v) => v[i] as i64,
        Data::U8(v) => v[i] as i64,
        Data::Bool(v) => v[i] as i64,
        _ => 0,
    }
}

fn float_at(data: &Data, i: usize) -> f64 {
    match data {
        Data::F64(v) => v[i],
        Data::F32(v) => v[i] as f64,
        Data::F16(v) => v[i].to_f64(),
        Data::BF16(v) => v[i].to_f64(),
        _ => 0.0,
    }
}

/// NumPy's `FloatingFormat` with the default options (`floatmode='maxprec'`,
/// `precision=8`, `suppress=False`, `sign='-'`).
struct FloatFormat {
    dtype: DType,
    scientific: bool,
    pad_left: usize,
    pad_right: usize,
    /// Scientific: digits after the point, and digits of the exponent.
    precision: usize,
    exp_size: usize,
}

impl FloatFormat {
    fn new(data: &Data, shown: &[usize]) -> FloatFormat {
        let dtype = data.dtype();
        let values: Vec<f64> = shown.iter().map(|&i| float_at(data, i)).collect();
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let mut f = FloatFormat { dtype, scientific: false, pad_left: 0, pad_right: 0, precision: 0, exp_size: 0 };
        let nonzero: Vec<f64> = finite.iter().filter(|&&v| v != 0.0).map(|v| v.abs()).collect();
        if !nonzero.is_empty() {
            let max = nonzero.iter().copied().fold(f64::MIN, f64::max);
            let min = nonzero.iter().copied().fold(f64::MAX, f64::min);
            // NumPy compares in the array's own dtype.
            let round = |x: f64| round_to(dtype, x);
            // NumPy >= 2.3: large values switch to scientific notation from 10^(the
            // dtype's decimal precision), capped at 10^8.
            let cutoff = match dtype {
                DType::F16 => 1e3,
                DType::BF16 => 1e2,
                DType::F32 => 1e6,
                _ => 1e8,
            };
            f.scientific = max >= round(cutoff) || min < round(1e-4) || round(max / min) > round(1000.0);
        }
        if finite.is_empty() {
            // Only nan and inf: widths come from those alone.
        } else if f.scientific {
            let parts: Vec<(String, String, i32)> = finite.iter().map(|&v| scientific(v, dtype)).collect();
            f.precision = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
            f.exp_size = parts.iter().map(|p| p.2.unsigned_abs().to_string().len().max(2)).max().unwrap_or(2);
            f.pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
            f.pad_right = f.exp_size + 2 + f.precision;
        } else {
            let parts: Vec<(String, String)> = finite.iter().map(|&v| positional(v, dtype)).collect();
            f.pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
            f.pad_right = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        }
        if finite.len() != values.len() {
            let neg_inf = values.contains(&f64::NEG_INFINITY) as usize;
            let offset = f.pad_right + 1;
            f.pad_left = f.pad_left.max(3usize.saturating_sub(offset)).max((3 + neg_inf).saturating_sub(offset));
        }
        f
    }

    fn format(&self, x: f64) -> String {
        if !x.is_finite() {
            let word = if x.is_nan() {
                "nan"
            } else if x < 0.0 {
                "-inf"
            } else {
                "inf"
            };
            let width = self.pad_left + self.pad_right + 1;
            return format!("{word:>width$}");
        }
        if self.scientific {
            // NumPy's second pass (`min_digits = precision`) prints further true digits
            // of the value rather than padding with zeros.
            let (int, frac, exp) = scientific_exact(x, self.precision);
            let sign = if exp < 0 { '-' } else { '+' };
            format!(
                "{int:>pl$}.{frac:0<p$}e{sign}{e:0>es$}",
                pl = self.pad_left,
                p = self.precision,
                e = exp.unsigned_abs(),
                es = self.exp_size
            )
        } else {
            let (int, frac) = positional(x, self.dtype);
            format!("{int:>pl$}.{frac:<pr$}", pl = self.pad_left, pr = self.pad_right)
        }
    }
}

/// `x` rounded to the nearest value of a float dtype.
fn round_to(dtype: DType, x: f64) -> f64 {
    match dtype {
        DType::F32 => x as f32 as f64,
        DType::F16 => f16::from_f64(x).to_f64(),
        DType::BF16 => bf16::from_f64(x).to_f64(),
        _ => x,
    }
}

/// The shortest decimal digits that read back as `|x|` in `dtype`, and the decimal
/// exponent of the first: `|x| = d.ddd × 10^exp`. Zero is `("0", 0)`.
fn shortest(x: f64, dtype: DType) -> (String, i32) {
    let x = x.abs();
    let target = round_to(dtype, x);
    let round_trips = |s: &str| s.parse::<f64>().map(|v| round_to(dtype, v) == target).unwrap_or(false);
    match dtype {
        DType::F64 | DType::F32 => {
            let text = if dtype == DType::F64 { format!("{x:e}") } else { format!("{:e}", x as f32) };
            let (digits, exp) = split_exp(&text);
            // Rust and NumPy agree on the number of digits but not always on the last one
            // when the value lies exactly halfway: NumPy rounds half to even, as exact
            // formatting does.
            let p = digits.len() - 1;
            let exact = format!("{x:.p$e}");
            if round_trips(&exact) {
                split_exp(&exact)
            } else {
                (digits, exp)
            }
        }
        _ => {
            let text = (0..17)
                .map(|p| format!("{x:.p$e}"))
                .find(|s| round_trips(s))
                .unwrap_or_else(|| format!("{x:e}"));
            split_exp(&text)
        }
    }
}

/// `"1.250e-5"` → `("125", -5)` (trailing zeros dropped, at least one digit).
fn split_exp(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let mut digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

/// Digits after the point at most for `dtype`: none for f64, which prints every digit
/// of its shortest round-trip form (NumPy's `floatmode='unique'`).
fn precision_cap(dtype: DType) -> Option<usize> {
    (dtype != DType::F64).then_some(PRECISION)
}

/// Positional notation: the part before the point (with the sign) and the part after it,
/// trailing zeros dropped, rounded to [`PRECISION`] digits after the point (f64: not
/// rounded).
fn positional(x: f64, dtype: DType) -> (String, String) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (digits, exp) = shortest(x, dtype);
    let n = digits.len() as i64;
    let exp = exp as i64;
    let frac_len = (n - 1 - exp).max(0);
    let (int, frac) = if precision_cap(dtype).is_some_and(|cap| frac_len > cap as i64) {
        let text = format!("{:.prec$}", x.abs(), prec = PRECISION);
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        (int.to_string(), frac.trim_end_matches('0').to_string())
    } else if exp >= 0 {
        let split = ((exp + 1) as usize).min(digits.len());
        let mut int = digits[..split].to_string();
        int.push_str(&"0".repeat((exp + 1 - n).max(0) as usize));
        (int, digits[split..].to_string())
    } else {
        ("0".to_string(), format!("{}{}", "0".repeat((-exp - 1) as usize), digits))
    };
    (format!("{sign}{int}"), frac)
}

/// Scientific notation: the digit before the point (with the sign), the digits after it
/// (at most [`PRECISION`] but for f64, trailing zeros dropped) and the exponent.
fn scientific(x: f64, dtype: DType) -> (String, String, i32) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (mut digits, mut exp) = shortest(x, dtype);
    if precision_cap(dtype).is_some_and(|cap| digits.len() > cap + 1) {
        (digits, exp) = split_exp(&format!("{:.prec$e}", x.abs(), prec = PRECISION));
    }
    let (first, rest) = digits.split_at(1);
    (format!("{sign}{first}"), rest.to_string(), exp)
}

/// Scientific notation with exactly `digits` digits after the point, correctly rounded.
fn scientific_exact(x: f64, digits: usize) -> (String, String, i32) {
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let text = format!("{:.digits$e}", x.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let (first, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    (format!("{sign}{first}"), rest.to_string(), exp.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(shape: Vec<usize>, v: &[f64]) -> Tensor {
        Tensor::from_slice(shape, v).unwrap()
    }

    fn show(t: &Tensor) -> String {
        format_tensor(t)
    }

    #[test]
    fn floats_rank_1() {
        assert_eq!(show(&f64s(vec![3], &[0.1, 1.5, -2.0])), "[ 0.1,  1.5, -2. ]");
        assert_eq!(show(&f64s(vec![3], &[1.0, 2.0, 3.0])), "[1., 2., 3.]");
        assert_eq!(show(&f64s(vec![2], &[1.0 / 3.0, 0.0])), "[0.3333333333333333, 0.                ]");
        assert_eq!(show(&f64s(vec![2], &[0.1 + 0.2, -0.0])), "[ 0.30000000000000004, -0.                 ]");
        assert_eq!(show(&f64s(vec![2], &[1e-5, 1.0])), "[1.e-05, 1.e+00]");
        assert_eq!(show(&f64s(vec![2], &[1e-5, 1.5])), "[1.0e-05, 1.5e+00]");
        assert_eq!(show(&f64s(vec![2], &[-1e10, 3.25])), "[-1.00e+10,  3.25e+00]");
        assert_eq!(show(&f64s(vec![2], &[1e-100, 1.0])), "[1.e-100, 1.e+000]");
        assert_eq!(show(&f64s(vec![3], &[f64::NAN, f64::NEG_INFINITY, 1.5])), "[ nan, -inf,  1.5]");
        assert_eq!(show(&f64s(vec![2], &[f64::NAN, f64::INFINITY])), "[nan, inf]");
        assert_eq!(show(&f64s(vec![1], &[std::f64::consts::PI])), "[3.141592653589793]");
    }

    /// Expected strings from NumPy 2.4 with `np.set_printoptions(floatmode='unique')`.
    #[test]
    fn f64_shows_every_digit_of_its_shortest_form() {
        let through_f32 = 0.1f32 as f64;
        assert_eq!(show(&f64s(vec![1], &[0.1])), "[0.1]");
        assert_eq!(show(&f64s(vec![1], &[through_f32])), "[0.10000000149011612]");
        assert_eq!(show(&Tensor::scalar(through_f32)), "0.10000000149011612");
        assert_eq!(show(&Tensor::scalar(0.1f64)), "0.1");
        assert_eq!(
            show(&f64s(vec![3], &[through_f32, 1.5, -2.0])),
            "[ 0.10000000149011612,  1.5                , -2.                 ]"
        );
        assert_eq!(show(&f64s(vec![2], &[1e-5, 1.0 / 3.0])), "[1.000000000000000e-05, 3.333333333333333e-01]");
        assert_eq!(show(&f64s(vec![2], &[1e10, through_f32])), "[1.0000000000000000e+10, 1.0000000149011612e-01]");
        assert_eq!(show(&f64s(vec![2], &[1.2345678901234567e-4, 1.0])), "[1.2345678901234567e-04, 1.0000000000000000e+00]");
    }

    #[test]
    fn narrow_float_types_use_their_own_shortest_digits() {
        let t = Tensor::from_slice(vec![2], &[0.1f32, 1.1]).unwrap();
        assert_eq!(show(&t), "[0.1, 1.1]");
        // NumPy's default precision=8 still applies to f32 (`[0.01234568]`).
        let t = Tensor::from_slice(vec![1], &[0.012_345_679_f32]).unwrap();
        assert_eq!(show(&t), "[0.01234568]");
        let t = Tensor::from_slice(vec![2], &[f16::from_f32(0.1), f16::from_f32(std::f32::consts::PI)]).unwrap();
        assert_eq!(show(&t), "[0.1 , 3.14]");
        let t = Tensor::from_slice(vec![2], &[bf16::from_f32(0.1), bf16::from_f32(std::f32::consts::PI)]).unwrap();
        assert_eq!(show(&t), "[0.1 , 3.14]");
    }

    #[test]
    fn scalars_are_bare() {
        assert_eq!(show(&Tensor::scalar(2.0f32)), "2.");
        assert_eq!(show(&Tensor::scalar(-0.25f64)), "-0.25");
        assert_eq!(show(&Tensor::scalar(7i32)), "7");
        assert_eq!(show(&Tensor::scalar(true)), "True");
        assert_eq!(show(&Tensor::scalar(false)), "False");
        assert_eq!(show(&Tensor::scalar(f64::NAN)), "nan");
        assert_eq!(show(&Tensor::scalar(1e-7f64)), "1.e-07");
    }

    #[test]
    fn ints_and_bools() {
        let t = Tensor::from_slice(vec![3], &[1i64, -10, 100]).unwrap();
        assert_eq!(show(&t), "[  1, -10, 100]");
        let t = Tensor::from_slice(vec![2, 2], &[0u8, 255, 7, 30]).unwrap();
        assert_eq!(show(&t), "[[  0, 255],\n [  7,  30]]");
        let t = Tensor::from_slice(vec![3], &[true, false, true]).unwrap();
        assert_eq!(show(&t), "[ True, False,  True]");
        let t = Tensor::from_slice(vec![2], &[true, true]).unwrap();
        assert_eq!(show(&t), "[ True,  True]");
    }

    #[test]
    fn rank_2_and_3() {
        let t = Tensor::from_slice(vec![2, 3], &[0i32, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(show(&t), "[[0, 1, 2],\n [3, 4, 5]]");
        let v: Vec<i32> = (0..12).collect();
        let t = Tensor::from_slice(vec![2, 2, 3], &v).unwrap();
        assert_eq!(show(&t), "[[[ 0,  1,  2],\n  [ 3,  4,  5]],\n\n [[ 6,  7,  8],\n  [ 9, 10, 11]]]");
        let t = Tensor::from_slice(vec![1, 1, 1, 1], &[1.5f32]).unwrap();
        assert_eq!(show(&t), "[[[[1.5]]]]");
    }

    #[test]
    fn empty_tensors() {
        assert_eq!(show(&Tensor::zeros(DType::F32, vec![0])), "[]");
        assert_eq!(show(&Tensor::zeros(DType::I64, vec![2, 0, 3])), "[]");
    }

    #[test]
    fn long_rows_wrap_at_75_columns() {
        let v: Vec<f64> = (0..20).map(|i| i as f64 * 0.5).collect();
        let t = f64s(vec![20], &v);
        assert_eq!(
            show(&t),
            "[0. , 0.5, 1. , 1.5, 2. , 2.5, 3. , 3.5, 4. , 4.5, 5. , 5.5, 6. , 6.5, 7. ,\n \
             7.5, 8. , 8.5, 9. , 9.5]"
        );
    }

    #[test]
    fn more_than_1000_elements_are_summarised() {
        let v: Vec<i32> = (0..1001).collect();
        assert_eq!(show(&Tensor::from_slice(vec![1001], &v).unwrap()), "[   0,    1,    2, ...,  998,  999, 1000]");
        // Exactly 1000 is printed in full.
        let v: Vec<u8> = vec![1; 1000];
        assert!(!show(&Tensor::from_slice(vec![1000], &v).unwrap()).contains("..."));
        let v: Vec<f64> = (0..2000).map(|i| i as f64).collect();
        let t = f64s(vec![40, 50], &v);
        assert_eq!(
            show(&t),
            "[[0.000e+00, 1.000e+00, 2.000e+00, ..., 4.700e+01, 4.800e+01, 4.900e+01],\n \
             [5.000e+01, 5.100e+01, 5.200e+01, ..., 9.700e+01, 9.800e+01, 9.900e+01],\n \
             [1.000e+02, 1.010e+02, 1.020e+02, ..., 1.470e+02, 1.480e+02, 1.490e+02],\n \
             ...,\n \
             [1.850e+03, 1.851e+03, 1.852e+03, ..., 1.897e+03, 1.898e+03, 1.899e+03],\n \
             [1.900e+03, 1.901e+03, 1.902e+03, ..., 1.947e+03, 1.948e+03, 1.949e+03],\n \
             [1.950e+03, 1.951e+03, 1.952e+03, ..., 1.997e+03, 1.998e+03, 1.999e+03]]"
        );
    }

    #[test]
    fn display_trait_matches() {
        let t = Tensor::from_slice(vec![2], &[1i32, 2]).unwrap();
        assert_eq!(t.to_string(), "[1, 2]");
    }
}
