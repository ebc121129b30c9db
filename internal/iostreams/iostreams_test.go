package iostreams

import "testing"

func TestColorAndProgress(t *testing.T) {
	tests := []struct {
		name                  string
		outTTY, errTTY, noCol bool
		wantColor, wantProg   bool
	}{
		{"piped", false, false, false, false, false},
		{"terminal", true, true, false, true, true},
		{"NO_COLOR on a terminal", true, true, true, false, true},
		{"stdout piped, stderr terminal", false, true, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _, _ := Test()
			s.OutTTY, s.ErrTTY, s.NoColor = tt.outTTY, tt.errTTY, tt.noCol
			if got := s.Color(); got != tt.wantColor {
				t.Errorf("Color() = %v; want %v", got, tt.wantColor)
			}
			if got := s.Progress(); got != tt.wantProg {
				t.Errorf("Progress() = %v; want %v", got, tt.wantProg)
			}
		})
	}
}

func TestSystemNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if !System().NoColor {
		t.Error("NO_COLOR=1 not honoured")
	}
	t.Setenv("NO_COLOR", "")
	if System().NoColor {
		t.Error("an empty NO_COLOR must not disable colour (no-color.org)")
	}
}
