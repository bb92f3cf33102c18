package relay

import (
	"testing"
	"time"
)

func TestResetIsWrittenAsOpenAIWritesIt(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{in: 0, want: "0s"},
		{in: -time.Second, want: "0s"},
		{in: 1, want: "1ms"}, // rounded up: never "0s" while something is used
		{in: 20 * time.Millisecond, want: "20ms"},
		{in: time.Second, want: "1s"},
		{in: 1500*time.Millisecond + 1, want: "1.501s"},
		{in: 6 * time.Minute, want: "6m0s"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if got := resetString(tt.in); got != tt.want {
				t.Errorf("resetString(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
