//! Differential tests of the template engine against Go's `text/template` + sprig.
//!
//! A proptest grammar generates random naming templates (every function of MTV's map, the
//! control structures, printf verbs and flags, literals and edge values, broken syntax) and
//! random data; all cases are rendered by the Go reference in one process and by our engine,
//! and must give identical output or the same error class (parse vs exec).
//!
//! `TEMPLATE_DIFF_CASES` (default 2500) and `TEMPLATE_DIFF_SEED` tune the run.

mod support {
    pub mod goref;
}

use forklift_core::naming::{NetworkNameTemplateData, PvcNameTemplateData, VolumeNameTemplateData};
use forklift_core::template::{Template, TemplateData};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;
use support::goref::{Case, Outcome, go_reference, go_version, run_go};

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

const STRINGS: &[&str] = &[
    "",
    "vm-1",
    "web",
    "My VM_01",
    "Ωmega",
    "  spaced  ",
    "a.b.c",
    "UPPER",
    "12",
    "0x1F",
    "-3",
    "3.0",
    "2.5",
    "x y z",
    "日本語",
    "tab\there",
    "[ds1] folder/disk-1.vmdk",
    "disk-1.vmdk",
    "plan-with-a-rather-long-name-for-truncation",
    "é",
    "a-b-c",
    "$1",
    "{{.}}",
    "pod",
    "multus",
    "Multus",
    "c",
    "42",
    " 7 ",
    "true",
];

const INTS: &[i64] = &[
    0,
    1,
    2,
    -1,
    3,
    7,
    15,
    63,
    64,
    100,
    1000,
    -2147483648,
    9223372036854775807,
    -9223372036854775808,
];

fn data_for(kind: &'static str) -> impl Strategy<Value = serde_json::Value> {
    let s = || prop::sample::select(STRINGS);
    let i = || prop::sample::select(INTS);
    match kind {
        "pvc" => (
            (s(), s(), s(), i(), s(), s(), i(), any::<bool>()),
            (s(), s(), s(), s(), s(), s()),
        )
            .prop_map(|((vm, tvm, plan, di, id, wdl, rdi, shared), (file, spvc, sns, vol, snap, disk))| {
                json!({
                    "VmName": vm, "TargetVmName": tvm, "PlanName": plan, "DiskIndex": di, "VmId": id,
                    "WinDriveLetter": wdl, "RootDiskIndex": rdi, "Shared": shared, "FileName": file,
                    "SourcePVCName": spvc, "SourcePVCNamespace": sns, "VolumeID": vol,
                    "SnapshotID": snap, "DiskId": disk,
                })
            })
            .boxed(),
        "volume" => (s(), i()).prop_map(|(p, v)| json!({"PVCName": p, "VolumeIndex": v})).boxed(),
        _ => (s(), s(), s(), i())
            .prop_map(|(n, ns, t, idx)| {
                json!({"NetworkName": n, "NetworkNamespace": ns, "NetworkType": t, "NetworkIndex": idx})
            })
            .boxed(),
    }
}

fn fields(
    kind: &str,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    // (string fields, int fields, bool fields)
    match kind {
        "pvc" => (
            &[
                ".VmName",
                ".TargetVmName",
                ".PlanName",
                ".VmId",
                ".WinDriveLetter",
                ".FileName",
                ".SourcePVCName",
                ".SourcePVCNamespace",
                ".VolumeID",
                ".SnapshotID",
                ".DiskId",
            ],
            &[".DiskIndex", ".RootDiskIndex"],
            &[".Shared"],
        ),
        "volume" => (&[".PVCName"], &[".VolumeIndex"], &[]),
        _ => (
            &[".NetworkName", ".NetworkNamespace", ".NetworkType"],
            &[".NetworkIndex"],
            &[],
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Grammar
// ---------------------------------------------------------------------------------------

const STR_LITS: &[&str] = &[
    r#""""#,
    r#""a""#,
    r#""-""#,
    r#""vm""#,
    r#""VM""#,
    r#"" x ""#,
    r#""disk""#,
    r#""\x41\u00e9\n""#,
    r#""\xff""#,
    r#""é""#,
    r#""a.b""#,
    r#""12""#,
    r#""0x10""#,
    r#""3.7""#,
    r#""-5""#,
    r#""1_000""#,
    r#""abc""#,
    "`raw\\n`",
    "``",
    r#""%d""#,
    r#""\t""#,
    r#""pod""#,
    r#""日本""#,
    r#""1e3""#,
];

const INT_LITS: &[&str] = &[
    "0", "1", "2", "3", "-1", "-2", "5", "15", "40", "0x1F", "017", "0b101", "1_000", "'a'", "1.0",
    "1e2", "-0", "0o17", "63", "64",
];

const FLOAT_LITS: &[&str] = &[
    "1.5",
    "2.555",
    "-3.7",
    "0.1",
    "1e21",
    "1e20",
    "123456.789",
    "1e-7",
    "0.5",
    "-0.0",
    "3.0",
    "1e6",
    "0x1p-2",
    "100.0",
];

const ODD_LITS: &[&str] = &[
    "nil",
    "true",
    "false",
    "1i",
    "2+3i",
    "'\\n'",
    "'é'",
    "9223372036854775807",
    "18446744073709551615",
    "1e400",
    "08",
    "0x",
    "1__0",
    ".5",
    "+4",
];

const REGEXES: &[&str] = &[
    r#""[^a-z0-9]+""#,
    r#""(\\w+)-(\\d+)""#,
    r#""^v""#,
    r#""x*""#,
    r#""(?i)vm""#,
    r#""\\s+""#,
    r#""[.]""#,
    r#""a{2,3}""#,
    r#""(""#,
    r#""[a-""#,
    r#""\\d""#,
    r#""(?P<n>m)""#,
    r#""$""#,
    r#""\\b""#,
    r#""a**""#,
    r#""[[:upper:]]""#,
    r#""(.)(.)""#,
    r#""""#,
    r#""é|a""#,
    r#""\\.vmdk$""#,
];

const REPLS: &[&str] = &[
    r#""-""#,
    r#""$1""#,
    r#""${1}x""#,
    r#""$1x""#,
    r#""$$""#,
    r#""${n}""#,
    r#""""#,
    r#""$2-$1""#,
    r#""<$0>""#,
    r#""$""#,
];

const VERBS: &[&str] = &[
    "d", "s", "v", "q", "x", "X", "o", "b", "c", "e", "t", "f", "g", "E", "G", "T", "U", "p", "z",
    "%", "O", "F",
];

fn pick(list: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(list).prop_map(str::to_owned).boxed()
}

#[derive(Clone, Copy)]
struct Ctx {
    kind: &'static str,
    range_ints: bool,
}

fn str_field(c: Ctx) -> BoxedStrategy<String> {
    pick(fields(c.kind).0)
}

fn int_field(c: Ctx) -> BoxedStrategy<String> {
    pick(fields(c.kind).1)
}

fn leaf(c: Ctx) -> BoxedStrategy<String> {
    let (_, _, bools) = fields(c.kind);
    let mut options = vec![
        (12, str_field(c)),
        (9, int_field(c)),
        (9, pick(STR_LITS)),
        (9, pick(INT_LITS)),
        (3, pick(FLOAT_LITS)),
        (1, pick(ODD_LITS)),
        (2, Just(".".to_owned()).boxed()),
        (1, Just("$".to_owned()).boxed()),
        (1, Just(".Unknown".to_owned()).boxed()),
        (2, Just("$v".to_owned()).boxed()),
    ];
    if !bools.is_empty() {
        options.push((1, pick(bools)));
    }
    prop::strategy::Union::new_weighted(options).boxed()
}

fn printf_format() -> BoxedStrategy<String> {
    let spec = (
        prop::sample::subsequence(vec!['-', '+', '#', ' ', '0'], 0..=2),
        prop::option::of(0u8..12),
        prop::option::of(0u8..8),
        pick(VERBS),
        0u8..10,
    )
        .prop_map(|(flags, width, prec, verb, special)| {
            let mut s = String::from("%");
            s.extend(flags);
            match special {
                0 => s.push_str("[1]"),
                1 => s.push('*'),
                _ => {}
            }
            if let Some(w) = width {
                s.push_str(&w.to_string());
            }
            if let Some(p) = prec {
                s.push('.');
                s.push_str(&p.to_string());
            }
            s.push_str(&verb);
            s
        });
    prop::collection::vec(
        prop_oneof![3 => spec, 1 => pick(&["-", "x", " ", "%", "é"])],
        1..4,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()))
    .boxed()
}

/// A call of `name` with arguments drawn from `arg`, usually of the right arity.
fn call(name: &'static str, arity: usize, arg: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let counts = prop_oneof![15 => Just(arity), 1 => 0..=arity + 2];
    (counts, prop::collection::vec(arg, 0..=4))
        .prop_map(move |(n, args)| {
            let used: Vec<String> = args.into_iter().cycle().take(n).collect();
            if used.is_empty() {
                name.to_owned()
            } else {
                format!("{name} {}", used.join(" "))
            }
        })
        .boxed()
}

/// Function calls with mostly well-typed arguments.
fn func_call(c: Ctx, sub: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let s = prop_oneof![6 => str_field(c), 4 => pick(STR_LITS), 1 => sub.clone()].boxed();
    let i = prop_oneof![6 => pick(INT_LITS), 4 => int_field(c), 1 => sub.clone()].boxed();
    let a = prop_oneof![4 => s.clone(), 4 => i.clone(), 2 => pick(FLOAT_LITS), 1 => pick(ODD_LITS)]
        .boxed();
    let si = prop_oneof![s.clone(), i.clone()].boxed();
    let two = |f: &'static str, x: BoxedStrategy<String>, y: BoxedStrategy<String>| {
        (x, y)
            .prop_map(move |(x, y)| format!("{f} {x} {y}"))
            .boxed()
    };
    let three = |f: &'static str,
                 x: BoxedStrategy<String>,
                 y: BoxedStrategy<String>,
                 z: BoxedStrategy<String>| {
        (x, y, z)
            .prop_map(move |(x, y, z)| format!("{f} {x} {y} {z}"))
            .boxed()
    };
    prop::strategy::Union::new(vec![
        call("lower", 1, s.clone()),
        call("upper", 1, s.clone()),
        call("trim", 1, s.clone()),
        call("title", 1, s.clone()),
        call("untitle", 1, s.clone()),
        call("nospace", 1, s.clone()),
        call("initials", 1, s.clone()),
        two("contains", s.clone(), s.clone()),
        two("hasPrefix", s.clone(), s.clone()),
        two("hasSuffix", s.clone(), s.clone()),
        two("trimAll", s.clone(), s.clone()),
        two("trimSuffix", s.clone(), s.clone()),
        two("trimPrefix", s.clone(), s.clone()),
        three("replace", s.clone(), s.clone(), s.clone()),
        two("repeat", pick(&["0", "1", "2", "3", "-1"]), s.clone()),
        three("substr", i.clone(), i.clone(), s.clone()),
        two("trunc", i.clone(), s.clone()),
        three("mustRegexReplaceAll", pick(REGEXES), s.clone(), pick(REPLS)),
        call("add", 2, a.clone()),
        call("add1", 1, a.clone()),
        call("sub", 2, a.clone()),
        call("div", 2, a.clone()),
        call("mod", 2, a.clone()),
        call("mul", 2, a.clone()),
        call("max", 3, a.clone()),
        call("min", 2, a.clone()),
        call("floor", 1, a.clone()),
        call("ceil", 1, a.clone()),
        three(
            "round",
            a.clone(),
            pick(&["0", "1", "2", "-1", "3"]),
            pick(&["0.5", "0.3", "1"]),
        ),
        call("round", 2, a.clone()),
        call("len", 1, si.clone()),
        call("index", 2, si.clone()),
        call("slice", 2, si.clone()),
        call("not", 1, a.clone()),
        call("and", 2, a.clone()),
        call("or", 2, a.clone()),
        call("eq", 2, si.clone()),
        call("eq", 3, a.clone()),
        call("ne", 2, si.clone()),
        call("lt", 2, si.clone()),
        call("le", 2, a.clone()),
        call("gt", 2, si.clone()),
        call("ge", 2, si.clone()),
        call("print", 2, a.clone()),
        call("println", 2, a.clone()),
        call("html", 1, a.clone()),
        call("js", 1, a.clone()),
        call("urlquery", 1, a.clone()),
        call("call", 1, a.clone()),
        (printf_format(), prop::collection::vec(a.clone(), 0..4))
            .prop_map(|(f, args)| format!("printf {f} {}", args.join(" ")))
            .boxed(),
    ])
    .boxed()
}

fn pipeline(c: Ctx) -> BoxedStrategy<String> {
    leaf(c)
        .prop_recursive(3, 24, 4, move |inner| {
            let paren = inner.clone().prop_map(|p| format!("({p})")).boxed();
            let cmd =
                prop_oneof![4 => func_call(c, paren.clone()), 1 => paren.clone(), 2 => leaf(c)]
                    .boxed();
            let piped = (
                cmd.clone(),
                prop::collection::vec(func_call(c, paren), 0..2),
            )
                .prop_map(|(first, rest)| {
                    std::iter::once(first)
                        .chain(rest)
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .boxed();
            prop_oneof![2 => piped, 1 => cmd].boxed()
        })
        .boxed()
}

fn action(c: Ctx) -> BoxedStrategy<String> {
    (any::<bool>(), any::<bool>(), pipeline(c), 0u8..10)
        .prop_map(|(tl, tr, p, decl)| {
            let p = match decl {
                0 => format!("$v := {p}"),
                1 => format!("$v = {p}"),
                _ => p,
            };
            format!(
                "{{{{{}{p}{}}}}}",
                if tl { "- " } else { "" },
                if tr { " -" } else { "" }
            )
        })
        .boxed()
}

fn text() -> BoxedStrategy<String> {
    pick(&[
        "a", "-", " ", "\n", "x y", "disk-", "  ", "é", "}", "{", "$",
    ])
}

fn body(c: Ctx) -> BoxedStrategy<String> {
    let item = prop_oneof![
        4 => action(c),
        2 => text(),
        1 => pick(&["{{/* c */}}", "{{- /* c */ -}}", "{{.}}", "{{$}}", "{{$v := 1}}"]),
    ];
    item.prop_recursive(2, 12, 3, move |inner| {
        let list = prop::collection::vec(inner, 0..3).prop_map(|v| v.concat()).boxed();
        let range_arg = if c.range_ints {
            prop_oneof![pipeline(c), pick(&["3", "0", "-1", "(and nil)", ".VmName"])].boxed()
        } else {
            pick(&["(and nil)", "\"s\"", "true", "1.5", "nil", "(or false)"])
        };
        prop_oneof![
            (pipeline(c), list.clone(), prop::option::of(list.clone())).prop_map(|(p, a, e)| match e {
                Some(e) => format!("{{{{if {p}}}}}{a}{{{{else}}}}{e}{{{{end}}}}"),
                None => format!("{{{{if {p}}}}}{a}{{{{end}}}}"),
            }),
            (pipeline(c), list.clone(), pipeline(c), list.clone(), list.clone()).prop_map(|(p, a, q, b, e)| {
                format!("{{{{if {p}}}}}{a}{{{{else if {q}}}}}{b}{{{{else}}}}{e}{{{{end}}}}")
            }),
            (pipeline(c), list.clone(), prop::option::of(list.clone())).prop_map(|(p, a, e)| match e {
                Some(e) => format!("{{{{with {p}}}}}{a}{{{{.}}}}{{{{else}}}}{e}{{{{end}}}}"),
                None => format!("{{{{with $w := {p}}}}}{a}{{{{$w}}}}{{{{end}}}}"),
            }),
            (range_arg, list.clone(), prop::option::of(list.clone())).prop_map(|(p, a, e)| match e {
                Some(e) => format!("{{{{range $i := {p}}}}}{a}{{{{$i}}}}{{{{else}}}}{e}{{{{end}}}}"),
                None => format!("{{{{range {p}}}}}{{{{if eq . 1}}}}{{{{continue}}}}{{{{end}}}}{a}{{{{break}}}}{{{{end}}}}"),
            }),
            (list.clone(), pipeline(c)).prop_map(|(a, p)| {
                format!("{{{{define \"t\"}}}}[{a}]{{{{end}}}}{{{{template \"t\" {p}}}}}")
            }),
            list,
        ]
    })
    .boxed()
}

/// A template: usually well-formed, sometimes mangled into broken syntax.
fn template(c: Ctx) -> BoxedStrategy<String> {
    (
        prop::collection::vec(body(c), 1..3),
        0u8..30,
        any::<bool>(),
        any::<prop::sample::Index>(),
        pick(&[
            "{{", "}}", "(", ")", "|", "$", "\"", "end", "{{end}}", "{{else}}", ":=",
        ]),
    )
        .prop_map(|(parts, mangle, declare, at, junk)| {
            let mut t = parts.concat();
            if declare {
                t.insert_str(0, "{{$v := \"x\"}}");
            }
            if mangle == 0 && !t.is_empty() {
                let mut cut = at.index(t.len());
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t.truncate(cut);
            } else if mangle == 1 {
                let mut pos = at.index(t.len() + 1);
                while !t.is_char_boundary(pos) {
                    pos -= 1;
                }
                t.insert_str(pos, &junk);
            }
            t
        })
        .boxed()
}

fn case(range_ints: bool) -> BoxedStrategy<Case> {
    prop::sample::select(&["pvc", "pvc", "pvc", "volume", "network"][..])
        .prop_flat_map(move |kind| {
            let c = Ctx { kind, range_ints };
            (template(c), data_for(kind)).prop_map(move |(template, data)| Case {
                kind,
                template,
                data,
            })
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Our side
// ---------------------------------------------------------------------------------------

fn render_ours(case: &Case) -> Outcome {
    let data: Box<dyn TemplateData> = match case.kind {
        "pvc" => {
            Box::new(serde_json::from_value::<PvcNameTemplateData>(case.data.clone()).unwrap())
        }
        "volume" => {
            Box::new(serde_json::from_value::<VolumeNameTemplateData>(case.data.clone()).unwrap())
        }
        _ => {
            Box::new(serde_json::from_value::<NetworkNameTemplateData>(case.data.clone()).unwrap())
        }
    };
    let result = Template::parse(&case.template).and_then(|t| t.render(data.as_ref()));
    match result {
        Ok(output) => Outcome {
            output: Some(output),
            error: None,
            class: None,
        },
        Err(e) => Outcome {
            output: None,
            error: Some(e.to_string()),
            class: Some(e.class().as_str().to_owned()),
        },
    }
}

fn agree(ours: &Outcome, go: &Outcome) -> bool {
    match (&go.output, &ours.output) {
        (Some(g), Some(o)) => g == o,
        (None, None) => go.class == ours.class,
        _ => false,
    }
}

fn compare(cases: &[Case], go: &[Outcome]) -> (usize, usize, Vec<String>) {
    let mut checked = 0;
    let mut outputs = 0;
    let mut mismatches = Vec::new();
    for (case, go) in cases.iter().zip(go) {
        if go.class.as_deref() == Some("panic") {
            continue;
        }
        checked += 1;
        let ours = render_ours(case);
        if go.output.is_some() {
            outputs += 1;
        }
        if !agree(&ours, go) {
            mismatches.push(format!(
                "template: {:?}\n  data: {}\n  go:   {:?}\n  ours: {:?}",
                case.template, case.data, go, ours
            ));
        }
    }
    (checked, outputs, mismatches)
}

fn generate(n: usize, range_ints: bool) -> Vec<Case> {
    let seed: u64 = std::env::var("TEMPLATE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F0E1);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = case(range_ints);
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a case")
                .current()
        })
        .collect()
}

#[test]
fn random_templates_render_exactly_like_go() {
    let Some(bin) = go_reference() else { return };
    let n: usize = std::env::var("TEMPLATE_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2500);
    assert!(n >= 1, "TEMPLATE_DIFF_CASES must be positive");
    // `range` over integers exists since Go 1.22 (MTV's Go); older references reject it.
    let range_ints = go_version().is_some_and(|v| v >= (1, 22));
    let cases = generate(n, range_ints);
    let go = run_go(&bin, &cases);
    if let Some(n) = std::env::var("TEMPLATE_DIFF_DUMP")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        for (c, g) in cases
            .iter()
            .zip(&go)
            .filter(|(_, g)| g.output.is_some())
            .take(n)
        {
            eprintln!("{:?} => {:?}", c.template, g.output);
        }
    }
    let (checked, outputs, mismatches) = compare(&cases, &go);
    eprintln!(
        "{checked} templates compared, {outputs} rendered without error, {} mismatches",
        mismatches.len()
    );
    assert!(
        checked * 100 >= n * 99,
        "too many Go panics skipped: {checked} of {n}"
    );
    assert!(
        outputs * 4 >= checked,
        "the grammar should mostly render successfully: {outputs} of {checked}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Hand-picked templates covering each feature once, compared with Go as well.
#[test]
fn feature_corpus_renders_exactly_like_go() {
    let Some(bin) = go_reference() else { return };
    let pvc = json!({"VmName": "My VM_01", "TargetVmName": "my-vm-01", "PlanName": "migration-plan-nightly",
        "DiskIndex": 2, "VmId": "vm-42", "WinDriveLetter": "c", "RootDiskIndex": 0, "Shared": true,
        "FileName": "disk-2.vmdk"});
    let templates = [
        "{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}",
        "{{.}}|{{printf \"%v|%+v|%#v|%T\" . . . .}}",
        "{{printf \"%d %5d %-5d| %05d %x %X %o %O %b %c %q %U %#U %#x %#o\" 42 42 42 -42 255 255 8 8 5 65 97 0x1F600 65 255 8}}",
        "{{printf \"%f %.2f %8.3f %-8.2f| %e %E %g %G %.3g %v %x %b\" 3.5 2.555 1.0 -1.5 1234.5678 0.000123 1e21 1e-7 123456.0 100.0 1.0 2.0}}",
        "{{printf \"%s|%10s|%-10s|%.2s|%q|%x|% x|%#x|%X|%+q|%#q\" \"é\" \"a\" \"b\" \"xyz\" \"a\\\"b\" \"hi\" \"hi\" \"hi\" \"hi\" \"é\" \"bq\"}}",
        "{{printf \"%t %v %d %s %z %!\" true false true 1 2}}",
        "{{printf \"%[2]d %[1]d %*d %.*f %[5]d\" 1 2 3 4 2 3.14159}}",
        "{{printf \"%d\"}} {{printf \"x\" 1 \"a\" nil}} {{printf \"%\"}} {{printf \"%d %d\" nil .Shared}}",
        "{{floor 3.7}} {{ceil -3.2}} {{round 2.555 2}} {{round 2.5 0}} {{round -2.5 0}} {{floor \"2.9\"}} {{ceil 1e21}} {{round 1234.5678 -2}}",
        "{{add 1 2 \"3\" 4.9 true nil}} {{sub 1 \"x\"}} {{div 7 -2}} {{mod -7 3}} {{mul 3 \"0x10\"}} {{max 1 \"9\" 3.5}} {{min -1 \"-5\"}} {{add1 \"12.00\"}}",
        "{{title \"hello wORLD foo_bar x-y\"}} {{untitle \"Hello World\"}} {{initials \"alpha  beta\\tgamma\"}} {{nospace \" a b\\tc \"}}",
        "{{trunc -3 .PlanName}}|{{trunc 0 .PlanName}}|{{trunc 100 .PlanName}}|{{substr 0 3 .PlanName}}|{{substr -1 4 .PlanName}}|{{substr 3 100 .PlanName}}",
        "{{trunc 2 \"é\"}}|{{trunc 1 \"é\"}}|{{upper (trunc 1 \"éa\")}}|{{printf \"%q\" (trunc 1 \"é\")}}",
        "{{mustRegexReplaceAll \"(?P<first>[a-z]+)_(?P<num>\\\\d+)\" \"web_01 db_2\" \"${num}-$first\"}}",
        "{{mustRegexReplaceAll \"a*\" \"baaac\" \"-\"}}|{{mustRegexReplaceAll \"\\\\bv\" \"vm vv\" \"X\"}}|{{mustRegexReplaceAll \"[[:space:]]+\" \" a  b \" \"_\"}}",
        "{{replace \"\" \"-\" \"abc\"}}|{{trimAll \"ab\" \"abxba\"}}|{{trimSuffix \".vmdk\" .FileName}}|{{repeat 3 \"ab\"}}",
        "{{eq 1 2 3 1}} {{ne \"a\" \"b\"}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{eq .DiskIndex (len \"ab\")}} {{eq (index \"a\" 0) 97}}",
        "{{and 1 2}} {{and 0 (div 1 0)}} {{or 0 \"\"}} {{or 1 (div 1 0)}} {{not nil}} {{and nil}}",
        "{{html nil}} {{js nil 1}} {{urlquery nil \"a\"}}",
        "{{len .PlanName}} {{index .PlanName 1}} {{slice .PlanName 1 4}} {{html \"<a&b>\"}} {{js \"a'b<\"}} {{urlquery \"a b&c\"}}",
        "{{$x := 1}}{{with $y := .PlanName}}{{$x = 2}}{{$y}}{{end}}{{$x}}{{if $z := 0}}{{else}}[{{$z}}]{{end}}",
        "{{- \"a\" -}} \n  {{- /* comment */ -}}  b  {{- 3 }} {{ .Shared -}} !",
        "{{define \"part\"}}<{{.}}>{{end}}{{template \"part\" .DiskIndex}}{{block \"b\" .VmId}}[{{.}}]{{end}}",
        "{{1.5}} {{1e3}} {{0x10}} {{017}} {{0b11}} {{1_000}} {{'a'}} {{'\\n'}} {{1i}} {{2+3i}} {{-0.0}} {{.5}} {{+4}}",
        "{{\"\\x41\\101\\u00e9\\U0001F600\"}} {{`raw\\n`}} {{printf \"%q\" \"\\xff\"}}",
        "{{print 1 2 \"a\" \"b\" 3 nil true}} {{println 1 \"a\"}}",
        "{{(.PlanName)}} {{(print .DiskIndex).Foo}}",
        "{{.DiskIndex.Foo}}",
        "{{trunc \"1\" .PlanName}}",
        "{{trunc (add 1 1) .PlanName}}",
        "{{lower .DiskIndex}}",
        "{{1 2}}",
        "{{nil}}",
        "{{.PlanName 1}}",
        "{{range .PlanName}}{{end}}",
        "{{index .PlanName 99}}",
        "{{repeat -1 \"a\"}}",
        "{{substr 5 2 \"abc\"}}",
        "{{lt 1 1.5}}",
        "{{eq . .}}{{eq . nil}}",
        "{{if}}{{end}}",
        "{{foo}}",
        "{{$u}}",
        "{{. | 1}}",
        "{{end}}",
        "{{08}}",
        "{{\"unterminated}}",
        "{{break}}",
        "{{range 1}}{{else if 1}}{{end}}",
        "{{9223372036854775808}}",
        "{{printf \"%v\" 18446744073709551615}}",
    ];
    let cases: Vec<Case> = templates
        .iter()
        .map(|t| Case {
            kind: "pvc",
            template: (*t).into(),
            data: pvc.clone(),
        })
        .collect();
    let go = run_go(&bin, &cases);
    let (_, _, mismatches) = compare(&cases, &go);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
