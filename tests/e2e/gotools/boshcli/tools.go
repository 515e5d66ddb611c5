//go:build tools

// Package tools pins the bosh CLI's main package for `go build`.
package tools

import _ "github.com/cloudfoundry/bosh-cli/v7"
