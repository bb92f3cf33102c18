package postgres

import (
	"reflect"
	"testing"
)

func TestCleanArgsCopiesOnlyWhatItCleans(t *testing.T) {
	bad := "a\x00b"
	names := []string{"ok", "x\xff"}
	args := []any{int64(1), "clean", bad, &bad, names, []byte("a\x00")}
	got := cleanArgs(args)
	want := []any{int64(1), "clean", "a\uFFFDb", "a\uFFFDb", []string{"ok", "x\uFFFD"}, []byte("a\x00")}
	got[3] = *got[3].(*string)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cleanArgs = %q, want %q", got, want)
	}
	if args[2] != bad || *args[3].(*string) != bad || names[1] != "x\xff" {
		t.Errorf("the caller's arguments changed: %q %q", args, names)
	}
	clean := []any{"a", int64(2), []string{"b"}}
	if out := cleanArgs(clean); &out[0] != &clean[0] {
		t.Error("clean arguments were copied")
	}
}
