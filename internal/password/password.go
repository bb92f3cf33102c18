// Package password hashes and checks console users' passwords with
// argon2id (RFC 9106), and generates one-time passwords.
//
// Parameters: 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt
// and a 32-byte tag: the first of OWASP's recommended argon2id settings,
// about 30 ms on one core of a small server. They are written into every
// hash ("$argon2id$v=19$m=19456,t=2,p=1$salt$tag", the reference
// implementation's encoding), so a later change of parameters still
// verifies older hashes. At most MaxConcurrent hashes run at once, which
// bounds the memory a burst of sign-ins can take to MaxConcurrent × 19 MiB;
// the rest wait.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Length bounds of a password, in characters (MaxLen also bounds the bytes
// given to argon2: at most 4 × MaxLen).
const (
	MinLen = 10
	MaxLen = 128
)

// Parameters of new hashes.
const (
	memoryKiB = 19 * 1024
	passes    = 2
	lanes     = 1
	saltLen   = 16
	tagLen    = 32
)

// MaxConcurrent is how many hashes may be computed at once.
const MaxConcurrent = 4

var slots = make(chan struct{}, MaxConcurrent)

// Check says why pw may not be a password, or returns nil.
func Check(pw string) error {
	if !utf8.ValidString(pw) {
		return errors.New("a password must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinLen {
		return fmt.Errorf("a password must have at least %d characters; this one has %d", MinLen, n)
	}
	if n > MaxLen {
		return fmt.Errorf("a password must have at most %d characters; this one has %d", MaxLen, n)
	}
	return nil
}

// Hash returns the encoded argon2id hash of pw, which must pass Check.
func Hash(pw string) (string, error) {
	if err := Check(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	tag := derive(pw, salt, passes, memoryKiB, lanes, tagLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(tag)), nil
}

func derive(pw string, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	slots <- struct{}{}
	defer func() { <-slots }()
	return argon2.IDKey([]byte(pw), salt, t, m, p, n)
}

// Verify reports whether pw is the password encoded hashes, comparing in
// constant time. A malformed hash, or a password no Check would pass, is
// false (the work is still done, so the time does not tell them apart).
func Verify(encoded, pw string) bool {
	t, m, p, salt, tag, ok := parse(encoded)
	if !ok {
		t, m, p, salt, tag, _ = parse(dummy())
	}
	if len(pw) > 4*MaxLen {
		pw = pw[:4*MaxLen]
		ok = false
	}
	got := derive(pw, salt, t, m, p, uint32(len(tag)))
	return subtle.ConstantTimeCompare(got, tag) == 1 && ok
}

// VerifyNobody does the work of a Verify that fails: sign-in calls it for
// an unknown email, so that how long a refusal takes does not say whether
// the email has an account.
func VerifyNobody(pw string) {
	Verify(dummy(), pw)
}

// dummy is a hash of a random password nobody knows, with the current
// parameters; made at its first use, not at every start of the binary.
var dummy = sync.OnceValue(func() string {
	h, err := Hash(Generate())
	if err != nil {
		panic(err)
	}
	return h
})

// parse reads "$argon2id$v=19$m=…,t=…,p=…$salt$tag".
func parse(s string) (t, m uint32, p uint8, salt, tag []byte, ok bool) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return
	}
	// Bounds: a corrupt row must not make a sign-in take a gigabyte.
	if t < 1 || t > 10 || m < 8 || m > 256*1024 || p < 1 || p > 16 {
		return
	}
	var err error
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return
	}
	if tag, err = enc.DecodeString(parts[5]); err != nil || len(tag) < 16 || len(tag) > 64 {
		return
	}
	return t, m, p, salt, tag, true
}

// Generate returns a one-time password: 20 random letters and digits
// (about 119 bits), shown once to whoever creates the user.
func Generate() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

// randIntn is a uniform random int in [0, n) from crypto/rand.
func randIntn(n int) int {
	var b [1]byte
	limit := 256 - 256%n
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
