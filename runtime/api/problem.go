package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// ProblemBase prefixes the type URI of mandate's problem documents.
const ProblemBase = "https://mandate.dev/problems/"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s (%d): %s", p.Title, p.Status, p.Detail)
	}
	return fmt.Sprintf("%s (%d)", p.Title, p.Status)
}

// problem builds a problem of kind code (the last segment of its type).
func problem(status int, code, title, detail string) *Problem {
	return &Problem{Type: ProblemBase + code, Title: title, Status: status, Detail: detail}
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody reads a JSON request body of at most limit bytes into v,
// refusing unknown fields and trailing data.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) *Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" && !startsWith(ct, "application/json;") {
		return problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			fmt.Sprintf("Send the request body as application/json, not %s.", ct))
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, "body-too-large", "Request body too large",
				fmt.Sprintf("The body may be at most %d bytes.", limit))
		}
		return problem(http.StatusBadRequest, "invalid-json", "Invalid request body", "Decoding JSON: "+err.Error()+".")
	}
	if dec.More() {
		return problem(http.StatusBadRequest, "invalid-json", "Invalid request body", "The body holds more than one JSON value.")
	}
	return nil
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }
