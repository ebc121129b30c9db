package h2

import (
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{errCodeName(http2.ErrCodeNo), "NO_ERROR"},
		{errCodeName(http2.ErrCodeHTTP11Required), "HTTP_1_1_REQUIRED"},
		{errCodeName(0xe), "ErrCode(0xe)"},
		{errCodeName(0xdeadbeef), "ErrCode(0xdeadbeef)"},
		{string(frameTypeName(0xb)), "UNKNOWN"},
		{string(frameTypeName(0x10)), "PRIORITY_UPDATE"},
		{strings.Join(flagNames(http2.FrameHeaders, 0x2d), ","), "END_STREAM,END_HEADERS,PADDED,PRIORITY"},
		{strings.Join(flagNames(http2.FrameData, 0x4), ","), "0x4"},
		{strings.Join(flagNames(http2.FrameGoAway, 0x81), ","), "0x1,0x80"},
		{strings.Join(flagNames(0xfa, 0x1), ","), "0x1"},
		{strings.Join(flagNames(http2.FrameSettings, 0), ","), ""},
		{settingKey(9), "no_rfc7540_priorities"},
		{settingKey(7), ""},
		{settingKey(0x2a2a), ""},
		{stateReservedRemote.String(), "reserved-remote"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}
