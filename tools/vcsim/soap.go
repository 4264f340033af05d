// The SOAP side of the CBT layer (see cbt.go): the session check and vim25 answers and
// faults written the way vSphere writes them.

package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// authenticated answers true when the request's session may call methods; otherwise it has
// written the simulator's own NotAuthenticated fault. It asks the simulator with a
// CurrentTime call carrying the request's headers, so sessions stay the simulator's business.
func (c *cbt) authenticated(w http.ResponseWriter, r *http.Request) bool {
	probe := xml.Header + `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<soapenv:Body><CurrentTime xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this>` +
		`</CurrentTime></soapenv:Body></soapenv:Envelope>`
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(strings.NewReader(probe))
	req.ContentLength = int64(len(probe))
	rec := httptest.NewRecorder()
	c.passThrough.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		return true
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return false
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

type faultAnswer struct {
	message string
	fault   types.BaseMethodFault
}

const envelopeStart = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
	`xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`

const envelopeEnd = `</soapenv:Body></soapenv:Envelope>`

// writeBody answers a method with its response element, as the simulator does.
func writeBody(w http.ResponseWriter, element string, response interface{}) {
	var b bytes.Buffer
	b.WriteString(xml.Header + envelopeStart)
	e := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: element}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"}}}
	if err := e.EncodeElement(response, start); err != nil {
		log.Printf("vcsim: encoding %s: %v", element, err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_ = e.Flush()
	b.WriteString(envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// writeFault answers with a SOAP fault whose detail is the vim25 fault, as vSphere does.
func writeFault(w http.ResponseWriter, f *faultAnswer) {
	name := reflect.TypeOf(f.fault).Elem().Name()
	var b bytes.Buffer
	b.WriteString(xml.Header + envelopeStart + `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>`)
	_ = xml.EscapeText(&b, []byte(f.message))
	b.WriteString(`</faultstring><detail>`)
	e := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: name + "Fault"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
		{Name: xml.Name{Local: "xsi:type"}, Value: name},
	}}
	if err := e.EncodeElement(f.fault, start); err != nil {
		log.Printf("vcsim: encoding %s: %v", name, err)
	}
	_ = e.Flush()
	b.WriteString(`</detail></soapenv:Fault>` + envelopeEnd)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(b.Bytes())
}
