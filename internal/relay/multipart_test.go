package relay

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/money"
)

func TestSubtitleSeconds(t *testing.T) {
	for in, want := range map[string]float64{
		"1\n00:00:00,000 --> 00:01:02,500\nhi\n\n2\n00:01:02,500 --> 01:00:03,250\nbye\n": 3603.25,
		"WEBVTT\n\n00:00.000 --> 00:07.125\nhi\n":                                         7.125,
		"plain text, no cue": 0,
		"x --> ab:cd":        0,
		"x --> -5":           0,
	} {
		if got := subtitleSeconds([]byte(in)); got != want {
			t.Errorf("subtitleSeconds(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestWAVSeconds(t *testing.T) {
	head := make([]byte, 44)
	copy(head, "RIFF")
	copy(head[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(head[16:], 16)
	binary.LittleEndian.PutUint32(head[28:], 32000) // byte rate
	copy(head[36:], "data")
	binary.LittleEndian.PutUint32(head[40:], 64000)
	if s, ok := wavSeconds(head, 44+64000); !ok || s != 2 {
		t.Fatalf("wav: %v %v, want 2 s", s, ok)
	}
	// A streamed WAV leaves the data size unset: the file's size counts.
	binary.LittleEndian.PutUint32(head[40:], math.MaxUint32)
	if s, ok := wavSeconds(head, 44+96000); !ok || s != 3 {
		t.Fatalf("streamed wav: %v %v, want 3 s", s, ok)
	}
	// A data size past the file's end cannot be charged.
	binary.LittleEndian.PutUint32(head[40:], 1<<30)
	if s, _ := wavSeconds(head, 44+32000); s != 1 {
		t.Fatalf("lying wav: %v, want 1 s", s)
	}
	if _, ok := wavSeconds([]byte("ID3\x04 not a wav file at all......"), 1000); ok {
		t.Fatal("an MP3 read as WAV")
	}
	binary.LittleEndian.PutUint32(head[16:], 1<<31) // a chunk larger than the head
	if _, ok := wavSeconds(head, 1000); ok {
		t.Fatal("a broken header read as WAV")
	}
}

func TestPerMinute(t *testing.T) {
	if got := perMinute(61, money.Nanos(6_000_000)); got != 6_100_000 { // $0.006/min × 61 s
		t.Fatalf("61 s = %d", got)
	}
	if got := perMinute(1, money.Nanos(7)); got != 1 { // rounded up
		t.Fatalf("1 s at 7 nanos/min = %d", got)
	}
	if got := perMinute(math.MaxInt64, money.Nanos(math.MaxInt64)); got <= 0 {
		t.Fatalf("overflow: %d", got)
	}
}
