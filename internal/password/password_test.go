package password

import (
	"strings"
	"testing"
)

func TestHashVerifies(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: want the argon2id encoding with its parameters", h)
	}
	if !Verify(h, "correct horse battery") {
		t.Error("the right password is refused")
	}
	for _, wrong := range []string{"correct horse batterY", "", "correct horse battery ", strings.Repeat("x", 5000)} {
		if Verify(h, wrong) {
			t.Errorf("Verify(%q) = true", wrong)
		}
	}
	h2, _ := Hash("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$dGFndGFndGFndGFndGFn", "$2a$10$bcrypt"} {
		if Verify(bad, "correct horse battery") {
			t.Errorf("a malformed hash %q verified", bad)
		}
	}
}

func TestCheckBoundsTheLength(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                           false,
		"123456789":                       false,
		"1234567890":                      true,
		strings.Repeat("é", MaxLen):       true,
		strings.Repeat("a", MaxLen+1):     false,
		"bad utf-8 \xff\xfe long enough!": false,
	} {
		if err := Check(pw); (err == nil) != ok {
			t.Errorf("Check(%.20q) = %v; want ok %v", pw, err, ok)
		}
	}
	if _, err := Hash("short"); err == nil {
		t.Error("Hash of a short password succeeded")
	}
}

func TestGenerateIsAValidPassword(t *testing.T) {
	a, b := Generate(), Generate()
	if a == b || len(a) != 20 || Check(a) != nil {
		t.Fatalf("Generate = %q, %q", a, b)
	}
}
