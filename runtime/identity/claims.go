package identity

import (
	"encoding/json"
	"fmt"
	"time"
)

// Claims is a verified token's identity.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   time.Time
	// NotBefore and IssuedAt are zero when the token does not carry them.
	NotBefore time.Time
	IssuedAt  time.Time
	// Email is the email claim, empty when the token has none or says
	// email_verified: false.
	Email string
	// Raw holds every claim of the token, as decoded JSON.
	Raw map[string]any
	// Session is set when the token is a gateway session token.
	Session *Session
}

// Session is what a gateway session token carries besides the standard claims.
type Session struct {
	// ID is the token's jti.
	ID    string
	Agent string
	Roles []string
	// OriginalIssuer and OriginalSubject are those of the token exchanged
	// for this session token.
	OriginalIssuer  string
	OriginalSubject string
}

// claimsFromPayload decodes a verified payload. Standard claims of the wrong
// JSON type are an error, not ignored.
func claimsFromPayload(payload []byte) (*Claims, error) {
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fmt.Errorf("decoding claims: %w", err)
	}
	c := &Claims{Raw: raw}
	var err error
	if c.Issuer, err = stringClaim(raw, "iss"); err != nil {
		return nil, err
	}
	if c.Subject, err = stringClaim(raw, "sub"); err != nil {
		return nil, err
	}
	if c.Audience, err = audienceClaim(raw); err != nil {
		return nil, err
	}
	if c.Expiry, err = timeClaim(raw, "exp"); err != nil {
		return nil, err
	}
	if c.NotBefore, err = timeClaim(raw, "nbf"); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = timeClaim(raw, "iat"); err != nil {
		return nil, err
	}
	email, err := stringClaim(raw, "email")
	if err != nil {
		return nil, err
	}
	if v, ok := raw["email_verified"]; !ok || v == true || v == "true" {
		c.Email = email
	}
	return c, nil
}

func stringClaim(raw map[string]any, name string) (string, error) {
	v, ok := raw[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("claim %q is a %T, not a string", name, v)
	}
	return s, nil
}

func audienceClaim(raw map[string]any) ([]string, error) {
	switch v := raw["aud"].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("claim \"aud\" holds a %T, not a string", x)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("claim \"aud\" is a %T, not a string or list", v)
	}
}

// maxUnix bounds numeric dates to years a token can sensibly name.
const maxUnix = 1 << 40

func timeClaim(raw map[string]any, name string) (time.Time, error) {
	v, ok := raw[name]
	if !ok || v == nil {
		return time.Time{}, nil
	}
	f, ok := v.(float64)
	if !ok || f < 0 || f > maxUnix {
		return time.Time{}, fmt.Errorf("claim %q is not a valid numeric date", name)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}
