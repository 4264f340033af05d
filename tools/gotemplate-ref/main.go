// gotemplate-ref renders naming templates with Go's text/template and MTV's sprig subset.
//
// Render mode (default): reads JSON lines {"kind": "pvc"|"volume"|"network", "template": "...",
// "data": {...}} on stdin and writes one JSON line each: {"output": "..."} or
// {"error": "...", "class": "parse"|"exec"|"panic"}.
//
// Bench mode (-bench-ms N): for each input line, measures for about N ms how many
// executions of the parsed template, and how many parse+execute rounds, run per second, and
// writes {"template": "...", "execute_per_sec": x, "parse_execute_per_sec": y}.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"

	"gotemplateref/v1beta1"
)

var mtvFuncs = []string{
	"lower", "upper", "contains", "replace", "trim", "trimAll", "trimSuffix", "trimPrefix",
	"title", "untitle", "repeat", "substr", "nospace", "trunc", "initials", "hasPrefix",
	"hasSuffix", "mustRegexReplaceAll",
	"add", "add1", "sub", "div", "mod", "mul", "max", "min", "floor", "ceil", "round",
}

func funcMap() template.FuncMap {
	all := sprig.TxtFuncMap()
	fm := template.FuncMap{}
	for _, n := range mtvFuncs {
		fm[n] = all[n]
	}
	return fm
}

type request struct {
	Kind     string          `json:"kind"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type response struct {
	Output *string `json:"output,omitempty"`
	Error  string  `json:"error,omitempty"`
	Class  string  `json:"class,omitempty"`
}

func decodeData(kind string, raw json.RawMessage) (interface{}, error) {
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	switch kind {
	case "pvc":
		var d v1beta1.PVCNameTemplateData
		err := json.Unmarshal(raw, &d)
		return d, err
	case "volume":
		var d v1beta1.VolumeNameTemplateData
		err := json.Unmarshal(raw, &d)
		return d, err
	case "network":
		var d v1beta1.NetworkNameTemplateData
		err := json.Unmarshal(raw, &d)
		return d, err
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func render(fm template.FuncMap, req request) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{Error: fmt.Sprint(r), Class: "panic"}
		}
	}()
	data, err := decodeData(req.Kind, req.Data)
	if err != nil {
		return response{Error: err.Error(), Class: "input"}
	}
	tmpl, err := template.New("template").Funcs(fm).Parse(req.Template)
	if err != nil {
		return response{Error: err.Error(), Class: "parse"}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return response{Error: err.Error(), Class: "exec"}
	}
	out := buf.String()
	return response{Output: &out}
}

func bench(fm template.FuncMap, req request, d time.Duration) map[string]interface{} {
	data, err := decodeData(req.Kind, req.Data)
	if err != nil {
		return map[string]interface{}{"template": req.Template, "error": err.Error()}
	}
	tmpl, err := template.New("template").Funcs(fm).Parse(req.Template)
	if err != nil {
		return map[string]interface{}{"template": req.Template, "error": err.Error()}
	}
	var buf bytes.Buffer
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for i := 0; i < 100; i++ {
			buf.Reset()
			_ = tmpl.Execute(&buf, data)
		}
		n += 100
	}
	execRate := float64(n) / time.Since(start).Seconds()
	n = 0
	start = time.Now()
	for time.Since(start) < d {
		for i := 0; i < 100; i++ {
			buf.Reset()
			t, _ := template.New("template").Funcs(fm).Parse(req.Template)
			_ = t.Execute(&buf, data)
		}
		n += 100
	}
	parseRate := float64(n) / time.Since(start).Seconds()
	return map[string]interface{}{
		"template":              req.Template,
		"execute_per_sec":       execRate,
		"parse_execute_per_sec": parseRate,
	}
}

func main() {
	benchMs := flag.Int("bench-ms", 0, "benchmark each template for this many milliseconds")
	flag.Parse()
	fm := funcMap()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		line := bytes.TrimSpace(in.Bytes())
		if len(line) == 0 {
			continue
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			_ = enc.Encode(response{Error: err.Error(), Class: "input"})
			continue
		}
		if *benchMs > 0 {
			_ = enc.Encode(bench(fm, req, time.Duration(*benchMs)*time.Millisecond))
			continue
		}
		_ = enc.Encode(render(fm, req))
	}
}
