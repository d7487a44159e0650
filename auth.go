package dialerd

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Principal is who a request acts as, resolved from its token.
type Principal struct {
	TokenID    string
	Name       string
	Admin      bool     // every workspace, and token management
	Workspaces []string // the workspaces a non-admin token covers
}

// Covers reports whether p may see resources of workspace ws. A resource
// without a workspace ("") is visible to admins only.
func (p Principal) Covers(ws string) bool {
	if p.Admin {
		return true
	}
	if ws == "" {
		return false
	}
	for _, w := range p.Workspaces {
		if w == ws {
			return true
		}
	}
	return false
}

// Token is an API credential as shown to admins. The secret itself is never
// stored, only its SHA-256 (see HashToken); the ID is the first 16 hex digits
// of that hash, so a secret leads straight to its record without an index.
type Token struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Admin      bool      `json:"admin"`
	Workspaces []string  `json:"workspaces"`
	CreatedAt  time.Time `json:"created_at"`
}

// TokenPrefix starts every secret so leaked ones are easy to scan for.
const TokenPrefix = "dlr_"

// HashToken returns the stored hash and the ID of a secret.
func HashToken(secret string) (hash, id string) {
	sum := sha256.Sum256([]byte(secret))
	hash = hex.EncodeToString(sum[:])
	return hash, hash[:16]
}

// ValidTokenID reports whether s has the shape of a token ID.
func ValidTokenID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}
