//! Engine tests with outputs checked against Go 1.19 `text/template` + sprig v3.

use super::*;

struct D {
    vm: &'static str,
    idx: i64,
    shared: bool,
}

impl TemplateData for D {
    fn type_name(&self) -> &'static str {
        "v1beta1.TestData"
    }
    fn field_names(&self) -> &'static [&'static str] {
        &["VmName", "DiskIndex", "Shared"]
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        match name {
            "VmName" => Some(FieldValue::Str(self.vm)),
            "DiskIndex" => Some(FieldValue::Int(self.idx)),
            "Shared" => Some(FieldValue::Bool(self.shared)),
            _ => None,
        }
    }
}

const DATA: D = D {
    vm: "My VM.01",
    idx: 3,
    shared: true,
};

fn render(t: &str) -> String {
    match Template::parse(t) {
        Ok(t) => match t.render(&DATA) {
            Ok(s) => s,
            Err(e) => format!("EXEC: {}", e.message()),
        },
        Err(e) => format!("PARSE: {}", e.message()),
    }
}

fn class(t: &str) -> Option<ErrorClass> {
    match Template::parse(t) {
        Ok(t) => t.render(&DATA).err().map(|e| e.class()),
        Err(e) => Some(e.class()),
    }
}

#[test]
fn fields_text_and_trim_markers() {
    assert_eq!(render("a {{- .VmName -}} b"), "aMy VM.01b");
    assert_eq!(
        render("{{.DiskIndex}}/{{.Shared}}/{{.}}"),
        "3/true/{My VM.01 3 true}"
    );
    assert_eq!(render("{{/* c */}}x{{- /* c */ -}} y"), "xy");
}

#[test]
fn control_structures() {
    assert_eq!(render("{{if eq .DiskIndex 1 2 3}}y{{else}}n{{end}}"), "y");
    assert_eq!(
        render("{{if lt .DiskIndex 2}}a{{else if gt .DiskIndex 2}}b{{else}}c{{end}}"),
        "b"
    );
    assert_eq!(
        render("{{with .VmName}}{{.}}{{end}}{{with \"\"}}x{{else}}e{{end}}"),
        "My VM.01e"
    );
    assert_eq!(render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"), "2");
    assert_eq!(
        render("{{range $i := 5}}{{if eq $i 3}}{{break}}{{end}}{{$i}}{{end}}"),
        "012"
    );
    assert_eq!(render("{{range 0}}x{{else}}none{{end}}"), "none");
    assert_eq!(render("{{range (and nil)}}x{{else}}nil{{end}}"), "nil");
    assert_eq!(
        class("{{range $i, $e := 0}}{{end}}"),
        Some(ErrorClass::Exec)
    );
    assert_eq!(class("{{range \"abc\"}}{{end}}"), Some(ErrorClass::Exec));
    assert_eq!(
        render("{{and 1 0 2}} {{or 0 \"\" 3}} {{not 0}} {{and nil 1}}"),
        "0 3 true <no value>"
    );
    assert_eq!(
        render("{{define \"x\"}}[{{.}}]{{end}}{{template \"x\" .DiskIndex}}"),
        "[3]"
    );
}

#[test]
fn printf_formats() {
    assert_eq!(
        render("{{printf \"%03d|%-4s|%5.2f|%q|%x|%v\" 7 \"ab\" 3.14259 \"q\" 255 2.5}}"),
        "007|ab  | 3.14|\"q\"|ff|2.5"
    );
    assert_eq!(render("{{printf \"%d\" .VmName}}"), "%!d(string=My VM.01)");
    assert_eq!(
        render("{{printf \"%T %T %T\" 1 (add 1 1) (floor 1)}}"),
        "int int64 float64"
    );
    assert_eq!(
        render("{{print 1 2 \"a\" 3}} {{println 1 \"b\"}}"),
        "1 2a3 1 b\n"
    );
    assert_eq!(
        render("{{1e21}} {{1.5}} {{0x10}} {{'a'}} {{1i}}"),
        "1e+21 1.5 16 97 (0+1i)"
    );
}

#[test]
fn sprig_functions() {
    assert_eq!(
        render("{{trunc 4 .VmName}}|{{trunc -2 .VmName}}|{{trunc 50 .VmName}}"),
        "My V|01|My VM.01"
    );
    assert_eq!(
        render("{{substr 1 3 \"hello\"}}|{{substr -1 2 \"hello\"}}|{{substr 2 99 \"hello\"}}"),
        "el|he|llo"
    );
    assert_eq!(
        render("{{div 7 2}} {{mod -7 3}} {{mul 2 \"3\" 4.9}} {{max 1 5 3}} {{min 4 \"x\"}}"),
        "3 -1 24 5 0"
    );
    assert_eq!(
        render("{{floor 3.7}} {{ceil 3.2}} {{round 2.555 2}} {{round 1234.5 -2}}"),
        "3 4 2.56 1200"
    );
    assert_eq!(
        render("{{.VmName | lower | replace \" \" \"-\" | replace \".\" \"-\"}}"),
        "my-vm-01"
    );
    assert_eq!(
        render("{{title \"hello wORLD\"}} {{untitle \"Hello World\"}} {{initials \"a big cat\"}}"),
        "Hello WORLD hello world abc"
    );
    assert_eq!(
        render("{{mustRegexReplaceAll \"[^a-z0-9]+\" (lower .VmName) \"-\"}}"),
        "my-vm-01"
    );
    assert_eq!(
        render("{{mustRegexReplaceAll \"(v)(m)\" \"vm\" \"${2}$1\"}}"),
        "mv"
    );
    assert_eq!(
        render(
            "{{trimAll \"-\" \"--a--\"}} {{trimPrefix \"a\" \"abc\"}} {{nospace \" a b \"}} {{repeat 3 \"ab\"}}"
        ),
        "a bc ab ababab"
    );
    assert_eq!(
        render(
            "{{contains \"VM\" .VmName}} {{hasPrefix \"My\" .VmName}} {{hasSuffix \"x\" .VmName}}"
        ),
        "true true false"
    );
}

#[test]
fn error_classes_match_go() {
    assert_eq!(class("{{.Nope}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{nope}}"), Some(ErrorClass::Parse));
    assert_eq!(class("{{trunc \"a\" .VmName}}"), Some(ErrorClass::Exec));
    assert_eq!(
        class("{{trunc .DiskIndex .DiskIndex}}"),
        Some(ErrorClass::Exec)
    );
    assert_eq!(class("{{trunc (add 1 1) .VmName}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{div 1 0}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{if}}{{end}}"), Some(ErrorClass::Parse));
    assert_eq!(class("{{lt 1 1.5}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{08}}"), Some(ErrorClass::Parse));
    assert_eq!(
        class("{{mustRegexReplaceAll \"(\" \"a\" \"b\"}}"),
        Some(ErrorClass::Exec)
    );
    assert_eq!(class("{{repeat -1 \"a\"}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{substr 3 1 \"hello\"}}"), Some(ErrorClass::Exec));
    assert_eq!(class("{{.VmName}}"), None);
}

#[test]
fn limits_bound_output_and_recursion() {
    assert_eq!(
        class("{{repeat 100000000 \"abcdefgh\"}}"),
        Some(ErrorClass::Exec)
    );
    assert_eq!(
        class("{{define \"r\"}}{{template \"r\"}}{{end}}{{template \"r\"}}"),
        Some(ErrorClass::Exec)
    );
    assert_eq!(class("{{range 100000000}}{{end}}"), Some(ErrorClass::Exec));
}

#[test]
fn deepest_accepted_nesting_fits_the_default_test_stack() {
    let parens = format!("{{{{{}1{}}}}}", "(".repeat(90), ")".repeat(90));
    assert_eq!(render(&parens), "1");
    let ifs = format!("{}x{}", "{{if 1}}".repeat(45), "{{end}}".repeat(45));
    assert_eq!(render(&ifs), "x");
    let calls = "{{define \"r\"}}{{if lt . 140}}{{template \"r\" add1 .}}{{else}}{{.}}{{end}}{{end}}{{template \"r\" 0}}";
    assert_eq!(render(calls), "140");
}
