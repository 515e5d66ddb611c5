//go:build tools

// Package tools pins the bosh-agent's main package for `go build`.
package tools

import _ "github.com/cloudfoundry/bosh-agent/v2/main"
