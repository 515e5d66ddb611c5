// The bosh-agent the simulator starts per VM in the e2e (scripts/e2e builds it into
// build/e2e/bin/bosh-agent): v2.769.0, the same version as the agent oracle
// (tests/agent_oracle). Build with `go build` (GOFLAGS=-mod=mod), not `go mod tidy`: tidy
// also resolves the Windows-only inet.af/wf, whose pinned version the proxy refuses.
module cloudstack-cpi-e2e/agent

go 1.23.0

require github.com/cloudfoundry/bosh-agent/v2 v2.769.0
