package api

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// TokenRequest is the body of POST /v1/token. The agent's OIDC token may
// also come as "Authorization: Bearer <token>" with an empty body.
type TokenRequest struct {
	Token string `json:"token"`
}

// TokenResponse carries a gateway session token, which clients use as the
// password of a database or SSH connection.
type TokenResponse struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
	Agent     string    `json:"agent"`
	Roles     []string  `json:"roles,omitempty"`
	Revision  string    `json:"revision,omitempty"`
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if s.deps.Tokens == nil {
		writeProblem(w, r, problem(http.StatusNotImplemented, "no-issuers", "Token exchange not configured",
			"This gateway has no issuer blocks, so it cannot verify agent tokens."))
		return
	}
	var raw string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			writeProblem(w, r, problem(http.StatusUnauthorized, "invalid-token", "Invalid authorization header",
				"Send the agent's OIDC token as \"Authorization: Bearer <token>\" or as {\"token\": \"...\"}."))
			return
		}
		raw = strings.TrimSpace(tok)
	}
	if r.ContentLength != 0 {
		var req TokenRequest
		if p := decodeBody(w, r, maxTokenBody, &req); p != nil {
			writeProblem(w, r, p)
			return
		}
		if raw != "" && req.Token != "" {
			writeProblem(w, r, problem(http.StatusBadRequest, "invalid-request", "Two tokens",
				"Send the agent's token in the Authorization header or in the body, not both."))
			return
		}
		if req.Token != "" {
			raw = req.Token
		}
	}
	if raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mandate"`)
		writeProblem(w, r, problem(http.StatusUnauthorized, "missing-token", "Missing token",
			"Send the agent's OIDC token as \"Authorization: Bearer <token>\" or as {\"token\": \"...\"}."))
		return
	}
	resp, err := s.deps.Tokens.Exchange(r.Context(), raw)
	if err != nil {
		var ee *ExchangeError
		status, detail := http.StatusUnauthorized, "The token was not accepted."
		if errors.As(err, &ee) {
			status, detail = ee.Status, ee.Detail
		}
		// The cause goes to the log; the client gets the safe detail.
		s.log.Warn("token exchange refused", "status", status, "error", err.Error())
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mandate", error="invalid_token"`)
		}
		writeProblem(w, r, problem(status, "token-refused", http.StatusText(status), detail))
		return
	}
	if resp.TokenType == "" {
		resp.TokenType = "Bearer"
	}
	if resp.ExpiresIn == 0 && !resp.ExpiresAt.IsZero() {
		resp.ExpiresIn = int64(time.Until(resp.ExpiresAt).Seconds())
	}
	writeJSON(w, http.StatusOK, resp)
}
