// Package config mirrors the one type and constructor bosh-cli's releasedir uses.
package config

import (
	"encoding/json"
	"io"
)

// S3Cli holds the blobstore options; this build never talks to S3.
type S3Cli map[string]interface{}

// NewFromReader parses the options the CLI marshalled from final.yml.
func NewFromReader(reader io.Reader) (S3Cli, error) {
	conf := S3Cli{}
	err := json.NewDecoder(reader).Decode(&conf)
	return conf, err
}
