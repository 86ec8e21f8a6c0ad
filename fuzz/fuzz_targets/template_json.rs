//! JSON template parser: parse, then validate and check whatever parses.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = packer_template::parse_str(text, Some(Path::new("fuzz.json"))) {
        let _ = packer_template::validate(&t, "1.6.6");
        let _ = packer_template::check(&t, "1.6.6");
    }
    // Raw bytes are accepted too (Packer does not require UTF-8).
    let _ = packer_template::parse_bytes(data, None);
});
