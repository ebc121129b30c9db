package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestLiveKeyLogFollowed decrypts live traffic with a key log that does
// not exist when wiretrace starts: the client creates it and logs each
// connection's secrets as it goes, the way curl or a browser does with
// SSLKEYLOGFILE, and wiretrace reads the new lines when a connection's
// secrets are not known yet. The HTTP/2 request inside TLS comes out
// decoded.
func TestLiveKeyLogFollowed(t *testing.T) {
	e2eSkipUnlessRoot(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	keyFile := filepath.Join(t.TempDir(), "keys.txt")

	cmd := e2eCmd("live", "-i", "lo", "--filter", fmt.Sprintf("tcp port %d", port), "--format", "json", "--keylog", keyFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := e2eLines(stdout)

	// A new connection each time (the first may start before the capture
	// does), each logging its secrets to the file as it goes.
	get := func() {
		kf, err := os.OpenFile(keyFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Error(err)
			return
		}
		defer kf.Close()
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.KeyLogWriter = kf
		tr.ForceAttemptHTTP2 = true
		tr.DisableKeepAlives = true
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(srv.URL + "/live-keys")
		if err != nil {
			t.Errorf("get: %v", err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("%s; want HTTP/2", resp.Proto)
		}
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	get()
	var exchange map[string]any
	for exchange == nil {
		select {
		case <-tick.C:
			get()
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed; stderr: %s", stderr.String())
			}
			ev := e2eParseEvents(t, l.text)[0]
			if ev.Layer == "tls" && ev.Type == "keys" {
				t.Errorf("keys event: %v", ev.Info)
			}
			if ev.Layer == "http2" && ev.Type == "exchange" {
				exchange = ev.Info
			}
		case <-deadline:
			t.Fatalf("no decrypted HTTP/2 exchange in 20 s; stderr: %s", stderr.String())
		}
	}
	if exchange["path"] != "/live-keys" || exchange["status"] != float64(200) {
		t.Errorf("exchange %v; want GET /live-keys 200", exchange)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("wiretrace live: %v; stderr: %s", err, stderr.String())
	}
}
