package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBodyBytes bounds request bodies; runner requests are tiny.
const maxBodyBytes = 1 << 20

// params are a request's parameters, merged as Grape does: the query string,
// then the body (JSON or form-encoded), the body winning. Values are what
// encoding/json gives (string, json.Number, bool, nil, []any, map[string]any)
// or, from a query or form, string and []string.
type params map[string]any

// paramError is a parameter of the wrong type or value; GitLab answers 400
// {"error": "<name> is invalid"}.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func invalid(name string) error { return &paramError{name + " is invalid"} }

// readParams parses the query string and the body of r.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{}
	addValues(p, r.URL.Query())
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, &paramError{"request body is too large or unreadable"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &paramError{"request body is not valid form data"}
		}
		addValues(p, form)
	case ct == "application/json" || ct == "" || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, &paramError{"request body is not a valid JSON object"}
		}
		for k, v := range obj {
			p[k] = v
		}
	default:
		return nil, &paramError{fmt.Sprintf("The provided content-type '%s' is not supported.", ct)}
	}
	return p, nil
}

// addValues copies query or form values; "name[]" keys are lists.
func addValues(p params, vals url.Values) {
	for k, vs := range vals {
		if name, ok := strings.CutSuffix(k, "[]"); ok {
			p[name] = append([]string{}, vs...)
			continue
		}
		if len(vs) == 1 {
			p[k] = vs[0]
		} else {
			p[k] = append([]string{}, vs...)
		}
	}
}

// has reports whether the parameter was sent at all (even as null).
func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// str reads a string parameter; null reads as "".
func (p params) str(name string) (string, error) {
	switch v := p[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	default:
		return "", invalid(name)
	}
}

// boolean reads a Boolean the way Grape coerces it.
func (p params) boolean(name string) (bool, error) {
	switch v := p[name].(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true", "t", "1", "yes":
			return true, nil
		case "false", "f", "0", "no":
			return false, nil
		}
	case json.Number:
		switch v.String() {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	}
	return false, invalid(name)
}

// integer reads an integer; null reads as nil (the attribute is cleared).
func (p params) integer(name string) (*int64, error) {
	var s string
	switch v := p[name].(type) {
	case nil:
		return nil, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return nil, nil
		}
	default:
		return nil, invalid(name)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// JSON clients may send 600.0.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return nil, invalid(name)
		}
		n = int64(f)
	}
	return &n, nil
}

// strList reads tag_list: a JSON array, a comma-separated string, or
// repeated form fields (each of which may itself hold commas). Blank entries
// and duplicates are dropped; order is kept.
func (p params) strList(name string) ([]string, error) {
	var raw []string
	switch v := p[name].(type) {
	case nil:
	case string:
		raw = []string{v}
	case []string:
		raw = v
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, invalid(name)
			}
			raw = append(raw, s)
		}
	default:
		return nil, invalid(name)
	}
	out := []string{}
	seen := map[string]bool{}
	for _, r := range raw {
		for t := range strings.SplitSeq(r, ",") {
			if t = strings.TrimSpace(t); t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// writeParamError answers a parameter error with 400 {"error": ...}.
func writeParamError(w http.ResponseWriter, err error) {
	var pe *paramError
	if errors.As(err, &pe) {
		writeError(w, http.StatusBadRequest, pe.msg)
		return
	}
	writeStatus(w, http.StatusInternalServerError)
}
