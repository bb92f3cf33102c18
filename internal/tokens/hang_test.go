package tokens

import (
	"testing"
	"time"
)

func FuzzHang(f *testing.F) {
	for _, s := range splitCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		done := make(chan struct{})
		go func() {
			for _, enc := range []string{Cl100kBase, O200kBase} {
				shared.encoding(enc).EncodeOrdinary(text)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("hang on %q", text)
		}
	})
}
