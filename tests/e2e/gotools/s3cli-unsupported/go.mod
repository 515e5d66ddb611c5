// Stand-in for github.com/cloudfoundry/bosh-s3cli in the e2e's bosh CLI build.
//
// The Go module proxy refuses the s3cli versions bosh-cli v7.7.2 was built with
// (v0.0.314) and the versions it serves (v0.0.253) predate the API the CLI calls.
// The CLI only uses s3cli for release directories whose final.yml names an S3
// blobstore; our release uses a local blobstore, so this module keeps the API and
// answers every call with an error that says why.
module github.com/cloudfoundry/bosh-s3cli

go 1.22
