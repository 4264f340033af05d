//! Robustness: no input makes the template engine panic, overflow the stack or run away.

use forklift_core::naming::PvcNameTemplateData;
use forklift_core::template::{Limits, Template};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "(",
    ")",
    "|",
    ":=",
    "=",
    ",",
    ".",
    "$",
    "$x",
    "$y",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "nil",
    "true",
    "\"a\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "0x1F",
    "1.5e3",
    "2i",
    "1+2i",
    ".PlanName",
    ".DiskIndex",
    ".Shared",
    ".Nope",
    ".A.B",
    "printf",
    "\"%05.2f%q%v%[2]*d\"",
    "print",
    "len",
    "index",
    "slice",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "trunc",
    "substr",
    "repeat",
    "mustRegexReplaceAll",
    "\"(a*)*\"",
    "\"$1${x}\"",
    "add",
    "div",
    "mod",
    "round",
    "floor",
    "title",
    "/*",
    "*/",
    "\\",
    "\n",
    "é",
    "\"\\xff\"",
    "99999999999999999999",
];

fn data() -> PvcNameTemplateData {
    PvcNameTemplateData {
        plan_name: "plan".into(),
        vm_name: "Ωmega VM".into(),
        disk_index: 3,
        ..Default::default()
    }
}

fn run(text: &str) {
    if let Ok(t) = Template::parse(text) {
        let _ = t.execute(&data());
        let _ = t
            .with_limits(Limits {
                max_output: 64,
                max_steps: 50,
                max_depth: 5,
            })
            .execute(&data());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        run(&tokens.concat());
        run(&tokens.join(" "));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        run(&text);
        run(&format!("{{{{{text}}}}}"));
    }
}

#[test]
fn pathological_inputs_are_bounded() {
    let cases = [
        "(".repeat(100_000),
        format!("{{{{{}", "(".repeat(100_000)),
        "{{if 1}}".repeat(10_000),
        "{{define \"a\"}}{{template \"a\" .}}{{template \"a\" .}}{{end}}{{template \"a\" .}}"
            .into(),
        "{{range 1000000000}}{{range 1000000000}}x{{end}}{{end}}".into(),
        "{{repeat 1000000000 (repeat 1000000000 \"x\")}}".into(),
        "{{printf \"%999999d%999999d\" 1 2}}".into(),
        "{{mustRegexReplaceAll \"\" (repeat 100000 \"x\") (repeat 100 \"y\")}}".into(),
        "{{mustRegexReplaceAll \"((((((((((a*)*)*)*)*)*)*)*)*)*)*\" (repeat 30 \"a\") \"b\"}}"
            .into(),
    ];
    for text in &cases {
        run(text);
    }
}
