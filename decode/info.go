package decode

import (
	"strconv"
	"time"
)

// Kind is the type of an Info field's value.
type Kind uint8

// Field kinds.
const (
	KindString Kind = iota + 1
	KindInt
	KindUint
	KindFloat
	KindBool
	KindDuration
	KindStrings
)

// Field is one named value in an event's Info. Fields keep the order in
// which the decoder added them, so every output is deterministic.
type Field struct {
	Key  string
	Kind Kind
	Str  string
	Int  int64
	// Float holds KindFloat values.
	Float float64
	Strs  []string
}

// Info is an ordered list of protocol details.
type Info []Field

// String returns a string field.
func String(key, v string) Field { return Field{Key: key, Kind: KindString, Str: v} }

// Int returns an integer field.
func Int(key string, v int64) Field { return Field{Key: key, Kind: KindInt, Int: v} }

// Uint returns an unsigned integer field; values above MaxInt64 are clamped.
func Uint(key string, v uint64) Field {
	if v > 1<<63-1 {
		v = 1<<63 - 1
	}
	return Field{Key: key, Kind: KindUint, Int: int64(v)}
}

// Float returns a floating-point field.
func Float(key string, v float64) Field { return Field{Key: key, Kind: KindFloat, Float: v} }

// Bool returns a boolean field.
func Bool(key string, v bool) Field {
	f := Field{Key: key, Kind: KindBool}
	if v {
		f.Int = 1
	}
	return f
}

// Millis returns a duration field rendered as fractional milliseconds.
func Millis(key string, d time.Duration) Field {
	return Field{Key: key, Kind: KindDuration, Int: int64(d)}
}

// Strings returns a list-of-strings field. The slice is kept, not copied.
func Strings(key string, v []string) Field { return Field{Key: key, Kind: KindStrings, Strs: v} }

// Bool reports the field's boolean value.
func (f Field) Bool() bool { return f.Int != 0 }

// Duration reports a KindDuration field's value.
func (f Field) Duration() time.Duration { return time.Duration(f.Int) }

// Get returns the field named key.
func (in Info) Get(key string) (Field, bool) {
	for _, f := range in {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Has reports whether a field named key is present.
func (in Info) Has(key string) bool {
	_, ok := in.Get(key)
	return ok
}

// AppendValue appends the field's value in plain text: strings unquoted,
// durations as milliseconds with up to three decimals, lists joined by ",".
// Renderers escape the result for their format.
func (f Field) AppendValue(b []byte) []byte {
	switch f.Kind {
	case KindString:
		return append(b, f.Str...)
	case KindInt, KindUint:
		return strconv.AppendInt(b, f.Int, 10)
	case KindFloat:
		return strconv.AppendFloat(b, f.Float, 'f', -1, 64)
	case KindBool:
		return strconv.AppendBool(b, f.Bool())
	case KindDuration:
		return AppendMillis(b, f.Duration())
	case KindStrings:
		for i, s := range f.Strs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, s...)
		}
		return b
	}
	return b
}

// AppendMillis appends d as milliseconds with up to three decimals
// (microsecond precision), trailing zeros removed: 12.5, 0.031, 3.
func AppendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	us := int64(d / time.Microsecond)
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for n > 0 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// AppendInt appends v in decimal.
func AppendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
