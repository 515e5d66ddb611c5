// Package client keeps bosh-cli's s3cli calls compiling and refuses them at run time.
package client

import (
	"errors"
	"io"

	"github.com/cloudfoundry/bosh-s3cli/config"
)

var errUnsupported = errors.New("this bosh CLI was built for the CloudStack CPI e2e tests without S3 release blobstores; use a local blobstore")

// S3CompatibleClient is the subset of the real interface bosh-cli calls.
type S3CompatibleClient interface {
	Get(src string, dest io.WriterAt) error
	Put(src io.ReadSeeker, dest string) error
}

// AwsS3Client is never built: NewAwsS3Client always refuses.
type AwsS3Client struct{}

// NewAwsS3Client refuses: this build has no S3 support.
func NewAwsS3Client(_ *config.S3Cli) (*AwsS3Client, error) { return nil, errUnsupported }

type refusing struct{}

func (refusing) Get(string, io.WriterAt) error   { return errUnsupported }
func (refusing) Put(io.ReadSeeker, string) error { return errUnsupported }

// New returns a client whose every call refuses.
func New(_ *AwsS3Client, _ *config.S3Cli) S3CompatibleClient { return refusing{} }
