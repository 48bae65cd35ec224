// gorilla/websocket's Dialer against URLs read one per line on stdin, the driver contract of
// tests/clients/__init__.py: one JSON line per URL, "opened" when Dial returned a connection
// (then a text frame and a Close), else Dial's error; eight URLs at a time. The zero Dialer's
// defaults: EnableCompression false, so no extension is offered; "?protocol=NAME" (or
// "?protocols=A,B") in the URL offers those subprotocols. Built offline against Debian's
// golang-github-gorilla-websocket-dev (GOPATH=/usr/share/gocode, GO111MODULE=off).
package main

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const concurrency = 8

type result struct {
	URL    string `json:"url"`
	Opened bool   `json:"opened"`
	Detail string `json:"detail"`
}

func protocols(raw string) []string {
	var names []string
	parsed, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	query := parsed.Query()
	for _, value := range append(query["protocol"], query["protocols"]...) {
		for _, name := range strings.Split(value, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

func one(raw string, timeout time.Duration) result {
	dialer := websocket.Dialer{HandshakeTimeout: timeout, Subprotocols: protocols(raw)}
	conn, response, err := dialer.Dial(raw, nil)
	if err != nil {
		detail := err.Error()
		if response != nil {
			detail += " (status " + strconv.Itoa(response.StatusCode) + ")"
		}
		return result{URL: raw, Detail: detail}
	}
	conn.SetWriteDeadline(time.Now().Add(timeout))
	conn.WriteMessage(websocket.TextMessage, []byte("hello"))
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	conn.Close()
	return result{URL: raw, Opened: true}
}

func main() {
	seconds, err := strconv.ParseFloat(os.Getenv("WSACCEPT_DRIVER_TIMEOUT"), 64)
	if err != nil || seconds <= 0 {
		seconds = 3
	}
	timeout := time.Duration(seconds * float64(time.Second))
	input := bufio.NewScanner(os.Stdin)
	input.Buffer(make([]byte, 1<<16), 1<<20)
	output := json.NewEncoder(os.Stdout)
	output.SetEscapeHTML(false)
	var lock sync.Mutex
	var running sync.WaitGroup
	slots := make(chan struct{}, concurrency)
	for input.Scan() {
		if raw := strings.TrimSpace(input.Text()); raw != "" {
			slots <- struct{}{}
			running.Add(1)
			go func() {
				defer running.Done()
				found := one(raw, timeout)
				lock.Lock()
				output.Encode(found)
				lock.Unlock()
				<-slots
			}()
		}
	}
	running.Wait()
}
