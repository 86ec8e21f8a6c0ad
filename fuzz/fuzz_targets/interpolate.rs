//! Go-template interpolation: render the input with a context that has a few
//! user variables and data values. A NUL byte, if any, splits the input: the
//! part before it is rendered, the part after it becomes the user variable `x`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packer_interpolate::{Context, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, x) = match text.split_once('\0') {
        Some((t, x)) => (t, x),
        None => (text, "value-of-x"),
    };
    let mut ctx = Context::new("1.6.6");
    ctx.user_vars.insert("x".into(), x.into());
    ctx.user_vars.insert("name".into(), "packer".into());
    ctx.user_vars.insert("empty".into(), String::new());
    ctx.data.insert("Name".into(), "fuzz".into());
    ctx.data.insert("Path".into(), "/tmp/fuzz".into());
    ctx.build_name = Some("b".into());
    ctx.build_type = Some("null".into());
    let _ = render(template, &ctx);
    ctx.strict_user = true;
    let _ = render(template, &ctx);
});
