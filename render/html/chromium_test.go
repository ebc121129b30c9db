package html_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiretrace/wiretrace/render/html"
	"github.com/wiretrace/wiretrace/render/layout/layouttest"
)

// TestChromium opens a report in headless Chromium driven by chromedriver
// over the WebDriver protocol (plain HTTP and JSON): it sorts the table
// and filters it as a user would, clicks a connection and checks that its
// diagram and event table are shown and visible, takes a screenshot and
// checks it shows the diagram, opens a hostile connection and checks that
// nothing from the wire became an element or ran (test connections and
// the project's hostile capture), follows a #conn-N link
// on load, and fails on any error in the browser's console (a script
// error, or a Content Security Policy violation). It is skipped without
// chromium and chromedriver (Debian's chromium and chromium-driver)
// unless $WIRETRACE_REQUIRE_CHROMIUM is set. With
// $WIRETRACE_SCREENSHOT_DIR set the screenshots are kept there.
func TestChromium(t *testing.T) {
	browser, driver := chromium(t)
	cases := append(layouttest.Cases(), layouttest.HostileWire(), layouttest.Hostile())
	var ids []string
	for _, c := range cases {
		ids = append(ids, strconv.Itoa(c.Conn.ID))
	}
	slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	report := renderCases(t, html.Options{Title: hostileTitle}, cases...)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, report, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	d := startDriver(t, driver, browser)
	d.post("/url", map[string]any{"url": url})
	if got := d.exec(`return document.title`); got != "wiretrace: "+hostileTitle {
		t.Errorf("title %q", got)
	}
	if got := d.exec(`return document.getElementById('wt-count').textContent`); got != strconv.Itoa(len(ids))+" shown" {
		t.Errorf("count %q; want the script to have run", got)
	}
	order := `return Array.prototype.map.call(document.querySelectorAll('#wt-table tbody tr'), function (r) { return r.hidden ? '-' + r.getAttribute('data-conn') : r.getAttribute('data-conn'); }).join(',')`
	if got := d.exec(order); got != strings.Join(ids, ",") {
		t.Errorf("rows %v; want %v", got, strings.Join(ids, ","))
	}

	// Sort: "#" again is descending; "bytes ←" puts the absent values last.
	d.click(d.find(`#wt-table thead th:nth-child(1) button`))
	desc := slices.Clone(ids)
	slices.Reverse(desc)
	if got := d.exec(order); got != strings.Join(desc, ",") {
		t.Errorf("after sorting by # twice, rows %v; want %v", got, strings.Join(desc, ","))
	}
	d.click(d.find(`#wt-table thead th:nth-child(13) button`))
	if got := d.exec(`return document.querySelector('#wt-table thead th:nth-child(13)').getAttribute('aria-sort')`); got != "ascending" {
		t.Errorf("bytes ← header aria-sort %v", got)
	}
	if got := d.exec(`var v = Array.prototype.map.call(document.querySelectorAll('#wt-table tbody tr td:nth-child(13)'), function (c) { return c.getAttribute('data-v'); }); return v.join(',')`); !sortedNumbers(got.(string)) {
		t.Errorf("bytes ← column after sorting: %v", got)
	}

	// Filter.
	filter := d.find(`#wt-filter`)
	d.post("/element/"+filter+"/value", map[string]any{"text": "198.51.100.66"})
	if got := d.exec(`return document.getElementById('wt-count').textContent`); got != "2 of "+strconv.Itoa(len(ids))+" shown" {
		t.Errorf("after filtering: %q", got)
	}
	d.post("/element/"+filter+"/clear", map[string]any{})
	d.exec(`document.getElementById('wt-filter').dispatchEvent(new Event('input')); return null`)

	// Click a connection (a cell, not its link): its section is shown.
	d.click(d.find(`#wt-table tbody tr[data-conn="3"] td:nth-child(3)`))
	shown := d.wait(`var s = document.querySelector('#wt-view svg'); if (!s) return null;
		var r = s.getBoundingClientRect();
		return {hash: location.hash, conn: document.getElementById('wt-view').getAttribute('data-conn'),
			w: r.width, h: r.height, visible: s.checkVisibility(), top: r.top,
			rows: document.querySelectorAll('#wt-view .wt-events tbody tr').length,
			heading: document.querySelector('#wt-view h2').textContent,
			selected: document.querySelector('#wt-table tr.wt-sel').getAttribute('data-conn')}`)
	m := shown.(map[string]any)
	if m["hash"] != "#conn-3" || m["conn"] != "3" || m["selected"] != "3" || !strings.HasPrefix(m["heading"].(string), "Connection 3 ") {
		t.Errorf("after clicking connection 3: %v", m)
	}
	if m["visible"] != true || m["w"].(float64) < 500 || m["h"].(float64) < 300 || m["rows"].(float64) < 10 {
		t.Errorf("connection 3's diagram is not shown: %v", m)
	}
	png1 := d.screenshot(t, "conn-3.png")
	checkScreenshot(t, png1)

	// The hostile connection: its strings are text, nothing ran.
	d.click(d.find(`#wt-table a[href="#conn-9"]`))
	d.wait(`return document.getElementById('wt-view').getAttribute('data-conn') === '9' ? true : null`)
	checkInert(t, d, `<script>alert("x")</script>`)
	d.screenshot(t, "conn-9.png")
	d.click(d.find(`#wt-table a[href="#conn-7"]`))
	d.wait(`return document.getElementById('wt-view').getAttribute('data-conn') === '7' ? true : null`)
	checkInert(t, d, `"'><svg onload=alert(1)>`)

	// A link to one connection opens it on load.
	d.post("/url", map[string]any{"url": url + "#conn-2"})
	d.wait(`return document.querySelector('#wt-view svg') && document.getElementById('wt-view').getAttribute('data-conn') === '2' ? true : null`)

	// The hostile capture, sent by real peers: each connection inert.
	capPage := filepath.Join(dir, "hostile.html")
	if err := os.WriteFile(capPage, renderCapture(t, "hostile.pcapng", html.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	d.post("/url", map[string]any{"url": "file://" + capPage})
	for id, want := range map[string]string{"1": `<svg onload=alert(3)>.te`, "2": `<script>alert(4)</script>.test`, "3": `code_name normal_closure`} {
		d.click(d.find(`#wt-table tbody tr[data-conn="` + id + `"] td:nth-child(2)`))
		d.wait(`return document.getElementById('wt-view').getAttribute('data-conn') === '` + id + `' ? true : null`)
		checkInert(t, d, want)
		if id == "2" {
			d.screenshot(t, "hostile-2.png")
		}
	}

	for _, e := range d.logs() {
		if e.Level == "SEVERE" || e.Level == "WARNING" {
			t.Errorf("browser console: %s %s", e.Level, e.Message)
		}
	}
}

// checkInert checks the connection on show: only our one script in the
// page, no element the wire could have made, and want among its text.
func checkInert(t *testing.T, d *webDriver, want string) {
	t.Helper()
	got := d.exec(`var v = document.getElementById('wt-view');
		return {scripts: document.scripts.length,
			bad: v.querySelectorAll('script,img,iframe,object,embed,foreignObject,a,form,input,b,br,style:not(svg style)').length,
			handlers: Array.prototype.filter.call(document.querySelectorAll('*'), function (e) {
				return Array.prototype.some.call(e.attributes, function (a) { return /^on/i.test(a.name); }); }).length,
			svgs: v.querySelectorAll('svg').length,
			text: v.textContent.indexOf(arguments[0]) >= 0}`, want).(map[string]any)
	if got["scripts"].(float64) != 1 || got["bad"].(float64) != 0 || got["handlers"].(float64) != 0 || got["svgs"].(float64) != 1 || got["text"] != true {
		t.Errorf("connection %s: %v", d.exec(`return location.hash`), got)
	}
}

// sortedNumbers reports whether a comma-separated list is ascending
// numbers followed by empty values.
func sortedNumbers(s string) bool {
	last, empty := -1.0, false
	for _, v := range strings.Split(s, ",") {
		if v == "" {
			empty = true
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || empty || f < last {
			return false
		}
		last = f
	}
	return true
}

// checkScreenshot fails unless the PNG shows a diagram: mostly white, but
// with the TCP arrows' blue (#0072B2) and dark text.
func checkScreenshot(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	var white, blue, dark, all int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			all++
			switch {
			case r > 245 && g > 245 && b > 245:
				white++
			case r < 30 && g > 95 && g < 135 && b > 160 && b < 200:
				blue++
			case r < 90 && g < 90 && b < 90:
				dark++
			}
		}
	}
	t.Logf("screenshot %dx%d: %d%% white, %d TCP-blue and %d dark pixels", bounds.Dx(), bounds.Dy(), white*100/all, blue, dark)
	if white == all || blue < 500 || dark < 2000 {
		t.Errorf("screenshot does not show a diagram: %d white of %d pixels, %d TCP-blue, %d dark", white, all, blue, dark)
	}
}

// chromium returns the browser and chromedriver, or skips the test (fails
// it when $WIRETRACE_REQUIRE_CHROMIUM is set).
func chromium(t *testing.T) (browser, driver string) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	driver, _ = exec.LookPath("chromedriver")
	if browser == "" || driver == "" {
		msg := "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
		if os.Getenv("WIRETRACE_REQUIRE_CHROMIUM") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return browser, driver
}

// webDriver is one WebDriver session on a chromedriver of our own.
type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:port
	session string
}

// startDriver starts chromedriver and a headless session; both end with
// the test.
func startDriver(t *testing.T, driver, browser string) *webDriver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	d := &webDriver{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(d.base + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver did not start: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": browser,
			"args":   []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,1200", "--force-device-scale-factor=1"},
		},
		"goog:loggingPrefs": map[string]any{"browser": "ALL"},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(d.call("POST", "/session", caps), &created); err != nil || created.SessionID == "" {
		t.Fatalf("new session: %v", err)
	}
	d.session = created.SessionID
	t.Cleanup(func() { d.call("DELETE", "/session/"+d.session, nil) })
	return d
}

// call sends one WebDriver command and returns its "value".
func (d *webDriver) call(method, path string, body any) json.RawMessage {
	d.t.Helper()
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.base+path, in)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		d.t.Fatalf("%s %s: %v: %.300s", method, path, err, raw)
	}
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("%s %s: %s: %.500s", method, path, resp.Status, out.Value)
	}
	return out.Value
}

// post sends a command of the session.
func (d *webDriver) post(path string, body any) json.RawMessage {
	d.t.Helper()
	return d.call("POST", "/session/"+d.session+path, body)
}

// exec runs a script in the page and returns its result.
func (d *webDriver) exec(script string, args ...any) any {
	d.t.Helper()
	if args == nil {
		args = []any{}
	}
	var v any
	if err := json.Unmarshal(d.post("/execute/sync", map[string]any{"script": script, "args": args}), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

// wait runs script until it returns something other than null.
func (d *webDriver) wait(script string) any {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if v := d.exec(script); v != nil {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for: %s", script)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// find returns the element ID of the element matching a CSS selector.
func (d *webDriver) find(css string) string {
	d.t.Helper()
	var el map[string]string
	if err := json.Unmarshal(d.post("/element", map[string]any{"using": "css selector", "value": css}), &el); err != nil {
		d.t.Fatal(err)
	}
	for _, id := range el {
		return id
	}
	d.t.Fatalf("no element %s", css)
	return ""
}

// click clicks an element as a user would (WebDriver scrolls it into view
// and sends the pointer events).
func (d *webDriver) click(id string) {
	d.t.Helper()
	d.post("/element/"+id+"/click", map[string]any{})
}

// screenshot returns a PNG of the viewport, kept in
// $WIRETRACE_SCREENSHOT_DIR under name when that is set.
func (d *webDriver) screenshot(t *testing.T, name string) []byte {
	t.Helper()
	var s string
	if err := json.Unmarshal(d.call("GET", "/session/"+d.session+"/screenshot", nil), &s); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if dir := os.Getenv("WIRETRACE_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// logEntry is one message of the browser's console.
type logEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// logs returns the browser console's messages so far (chromedriver's
// legacy log endpoint).
func (d *webDriver) logs() []logEntry {
	d.t.Helper()
	var out []logEntry
	if err := json.Unmarshal(d.post("/se/log", map[string]any{"type": "browser"}), &out); err != nil {
		d.t.Fatal(fmt.Errorf("browser log: %w", err))
	}
	return out
}
