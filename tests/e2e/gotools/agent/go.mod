// The bosh-agent the simulator starts per VM in the e2e (scripts/e2e builds it into
// build/e2e/bin/bosh-agent). The same agent version the CLI above links (its
// agentclient), under the module path it had before /v2. Two of its pinned
// dependencies are refused by the Go module proxy and replaced by served versions.
// Build with `go build` (GOFLAGS=-mod=mod), not `go mod tidy`: tidy also resolves the
// Windows-only inet.af/wf, whose pinned version the proxy refuses.
module cloudstack-cpi-e2e/agent

go 1.22.0

require github.com/cloudfoundry/bosh-agent v0.0.61-0.20230301011448-4cfe06c13ad7

replace (
	// v0.2.85 refused
	github.com/cloudfoundry/socks5-proxy => github.com/cloudfoundry/socks5-proxy v0.2.139
	// what socks5-proxy v0.2.139 was built against
	github.com/cloudfoundry/go-socks5 => github.com/cloudfoundry/go-socks5 v0.0.0-20240831012420-2590b55236ee
)
