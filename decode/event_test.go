package decode

import (
	"errors"
	"testing"
	"time"
)

func TestAppendMillis(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{3 * time.Millisecond, "3"},
		{12500 * time.Microsecond, "12.5"},
		{31 * time.Microsecond, "0.031"},
		{1234567 * time.Nanosecond, "1.234"},
		{-2 * time.Millisecond, "-2"},
	}
	for _, tt := range tests {
		if got := string(AppendMillis(nil, tt.d)); got != tt.want {
			t.Errorf("AppendMillis(%v) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := C2S.String(); got != "c2s" {
		t.Errorf("C2S = %q", got)
	}
	if got := Dir(9).String(); got != "Dir(9)" {
		t.Errorf("Dir(9) = %q; want numeric fallback", got)
	}
	if got := Layer(200).String(); got != "Layer(200)" {
		t.Errorf("Layer(200) = %q; want numeric fallback", got)
	}
	if C2S.Reverse() != S2C || S2C.Reverse() != C2S || DirNone.Reverse() != DirNone {
		t.Error("Reverse is wrong")
	}
}

func TestInfoValues(t *testing.T) {
	in := Info{String("a", "x"), Int("b", -3), Bool("c", true), Millis("d", 1500*time.Microsecond), Strings("e", []string{"h2", "http/1.1"}), Uint("f", 1<<64-1)}
	want := []string{"x", "-3", "true", "1.5", "h2,http/1.1", "9223372036854775807"}
	for i, f := range in {
		if got := string(f.AppendValue(nil)); got != want[i] {
			t.Errorf("field %s = %q; want %q", f.Key, got, want[i])
		}
	}
	if _, ok := in.Get("zz"); ok {
		t.Error("Get found a missing key")
	}
	if !in.Has("c") {
		t.Error("Has missed a key")
	}
}

func TestError(t *testing.T) {
	err := &Error{Layer: "netpkt", Msg: "ipv4 header length 60 exceeds remaining 20", Offset: 14, Err: ErrTruncated}
	if got, want := err.Error(), "netpkt: ipv4 header length 60 exceeds remaining 20 (offset 14)"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if !errors.Is(err, ErrTruncated) {
		t.Error("errors.Is(err, ErrTruncated) = false")
	}
}
