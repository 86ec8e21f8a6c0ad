//! Numeric functions.

use hcl::Value;

use super::{Table, fixed, int_arg, num, num_arg, str_arg, variadic};

pub(super) fn register(t: &mut Table) {
    t.push(("abs", fixed(1, |a| num(num_arg(&a, 0)?.abs()))));
    t.push(("ceil", fixed(1, |a| num(num_arg(&a, 0)?.ceil()))));
    t.push(("floor", fixed(1, |a| num(num_arg(&a, 0)?.floor()))));
    t.push((
        "signum",
        fixed(1, |a| {
            let f = num_arg(&a, 0)?;
            num(if f > 0.0 {
                1.0
            } else if f < 0.0 {
                -1.0
            } else {
                0.0
            })
        }),
    ));
    t.push((
        "pow",
        fixed(2, |a| num(num_arg(&a, 0)?.powf(num_arg(&a, 1)?))),
    ));
    t.push((
        "log",
        fixed(2, |a| num(num_arg(&a, 0)?.log(num_arg(&a, 1)?))),
    ));
    t.push(("max", variadic(0, |a| extreme(&a, f64::max))));
    t.push(("min", variadic(0, |a| extreme(&a, f64::min))));
    t.push((
        "parseint",
        fixed(2, |a| {
            let s = str_arg(&a, 0)?;
            let base = int_arg(&a, 1)?;
            if !(2..=62).contains(&base) {
                return Err(format!(
                    "invalid base {base}: must be between 2 and 62 inclusive"
                ));
            }
            let (neg, digits) = match s.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, s.strip_prefix('+').unwrap_or(&s)),
            };
            let v = i64::from_str_radix(digits, base as u32)
                .map_err(|_| format!("cannot parse {s:?} as a base {base} integer"))?;
            Ok(Value::from(if neg { -v } else { v }))
        }),
    ));
}

fn extreme(a: &[Value], pick: fn(f64, f64) -> f64) -> Result<Value, String> {
    if a.is_empty() {
        return Err("must pass at least one number".into());
    }
    let mut acc = num_arg(a, 0)?;
    for i in 1..a.len() {
        acc = pick(acc, num_arg(a, i)?);
    }
    num(acc)
}
