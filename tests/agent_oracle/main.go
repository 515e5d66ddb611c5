// agent-oracle answers questions about what the CPI produced with the bosh-agent's own code.
//
// It reads one JSON request per line on stdin and writes one JSON answer per line on stdout
// (same "id"), so one process serves a whole test session. Requests:
//
//	{"id":1,"op":"version"}
//	{"id":2,"op":"resolve","resolution":"virtio","cid":"<disk cid>","hint":<hint>,"ephemeral":false,
//	 "guest":{"disks":[{"volume_id","path","by_id":[...],"scsi":{"controller","unit"}}]}}
//	{"id":3,"op":"settings","sources":[<agent.json Infrastructure.Settings.Sources>],
//	 "user_data":"<base64>","metadata":{"instance-id":"..."},"config_drive":{"<path>":"<base64>"},
//	 "nics":[{"mac":"02:..","name":"eth0"}],
//	 "resolution":"virtio","guest":{...}}
//
// Answers carry "ok"; on false, "error" says what the agent said, and "log" what it logged.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"sync"
)

type request struct {
	ID          json.RawMessage   `json:"id"`
	Op          string            `json:"op"`
	Resolution  string            `json:"resolution"`
	IDTransform [2]string         `json:"id_transform"`
	CID         string            `json:"cid"`
	Hint        interface{}       `json:"hint"`
	Ephemeral   bool              `json:"ephemeral"`
	Guest       guestView         `json:"guest"`
	Sources     json.RawMessage   `json:"sources"`
	UserData    *string           `json:"user_data"`
	Metadata    map[string]string `json:"metadata"`
	ConfigDrive map[string]string `json:"config_drive"`
	NICs        []nic             `json:"nics"`
}

type nic struct {
	MAC  string `json:"mac"`
	Name string `json:"name"`
}

type answer map[string]interface{}

var guestRoot = regexp.MustCompile(`/[^\s'"]*/agent-oracle-guest-[0-9]+`)

func agentVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/cloudfoundry/bosh-agent/v2" {
			return dep.Path + "@" + dep.Version
		}
	}
	return "unknown"
}

func handle(req request) (ans answer) {
	var logBuf bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			ans = answer{"ok": false, "error": fmt.Sprintf("the agent's code panicked: %v", r), "log": logBuf.String()}
		}
		if log, ok := ans["log"].(string); ok { // the agent logs the tree's real paths: show the guest's
			ans["log"] = guestRoot.ReplaceAllString(log, "")
		}
		ans["id"] = req.ID
	}()
	logger := newLogger(&logBuf)
	switch req.Op {
	case "version":
		return answer{"ok": true, "agent": agentVersion()}
	case "resolve":
		return resolveOp(req, logger, &logBuf)
	case "settings":
		return settingsOp(req, logger, &logBuf)
	default:
		return answer{"ok": false, "error": fmt.Sprintf("unknown op %q (version, resolve, settings)", req.Op)}
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				mu.Lock()
				_ = out.Encode(answer{"ok": false, "error": "bad request: " + jerr.Error()})
				mu.Unlock()
			} else {
				wg.Add(1)
				go func(req request) { // resolvers sleep (the agent's polling); answer out of order by id
					defer wg.Done()
					ans := handle(req)
					mu.Lock()
					defer mu.Unlock()
					_ = out.Encode(ans)
				}(req)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "agent-oracle: reading stdin:", err)
			break
		}
	}
	wg.Wait()
}
