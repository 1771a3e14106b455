// Submit a request to a spoolrunner spool and wait for its end (Go standard library only).
// Usage: go run submit.go SPOOL PROCESS_TYPE [NAME=VALUE ...]
// Prints "<process_id> <status>" and exits 0 only on success, like `spoolrunner submit --wait`.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	spool, processType, pairs := os.Args[1], os.Args[2], os.Args[3:]
	// The id is the idempotency key: keep it to resubmit the same request safely.
	random := make([]byte, 6)
	if _, err := rand.Read(random); err != nil {
		panic(err)
	}
	processID := "proc_" + hex.EncodeToString(random)
	request := map[string]string{"process_type": processType}
	for _, pair := range pairs {
		name, value, _ := strings.Cut(pair, "=")
		request[name] = value
	}
	body, err := json.Marshal(request)
	if err != nil {
		panic(err)
	}

	// Maildir protocol: write and fsync under tmp/, then rename(2) into inbox/ in one step.
	temp := filepath.Join(spool, "tmp", fmt.Sprintf("%s.json.%d", processID, os.Getpid()))
	file, err := os.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		panic(err)
	}
	if _, err := file.Write(body); err != nil {
		panic(err)
	}
	if err := file.Sync(); err != nil {
		panic(err)
	}
	file.Close()
	if err := os.Rename(temp, filepath.Join(spool, "inbox", processID+".json")); err != nil {
		panic(err)
	}

	statusFile := filepath.Join(spool, "outbox", processID+".json")
	for {
		var document struct{ Status string }
		data, err := os.ReadFile(statusFile)
		if err == nil {
			err = json.Unmarshal(data, &document)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			panic(err)
		}
		switch document.Status {
		case "success", "failed", "cancelled", "rejected":
			fmt.Println(processID, document.Status)
			if document.Status == "success" {
				os.Exit(0)
			}
			os.Exit(1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
