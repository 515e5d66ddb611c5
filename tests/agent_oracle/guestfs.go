package main

// The guest's filesystem as the agent's resolvers read it, built from the simulator's guest
// view in a real temporary directory: block devices are plain files, /dev/disk/by-id entries
// are relative symlinks as udev makes them ("../../vdb"), and SCSI addresses are the sysfs
// directories /sys/bus/scsi/devices/H:0:T:0/block/<name> with /sys/class/scsi_host/hostH/scan.
//
// rootedFS hands the agent's code a boshsys.FileSystem that maps every absolute path into
// that tree, using the agent's own OS filesystem (bosh-utils' osFileSystem: filepath.Glob,
// filepath.EvalSymlinks, os.Lstat) underneath. Only the calls the resolvers and settings
// sources make are mapped; any other call panics on the nil embedded interface, and the
// oracle reports it, so an agent that starts reading something new is noticed, not guessed.

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	boshlog "github.com/cloudfoundry/bosh-utils/logger"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
)

// scsiHostBase is the Linux SCSI host number of controller 0 in a CloudStack VMware guest:
// hosts 0 and 1 are the ATA ports of the CD-ROM (the Python model's SCSI_HOST_BASE).
const scsiHostBase = 2

type guestDisk struct {
	VolumeID string          `json:"volume_id"`
	Path     string          `json:"path"`
	ByID     []string        `json:"by_id"`
	ByPath   []string        `json:"by_path"`
	SCSI     *guestSCSIPlace `json:"scsi"`
	Type     string          `json:"type"`
}

// guestSCSIPlace is a disk's SCSI address: {"controller", "unit"} on a SCSI controller (host
// scsiHostBase+controller, target unit), or an explicit {"host", "channel", "target", "lun"}
// (an IDE disk through libata is host 0 or 1), as cpi_framework.testing.agent_resolvers reads it.
type guestSCSIPlace struct {
	Controller int  `json:"controller"`
	Unit       int  `json:"unit"`
	Host       *int `json:"host"`
	Channel    int  `json:"channel"`
	Target     int  `json:"target"`
	Lun        int  `json:"lun"`
}

func (p guestSCSIPlace) address() (host, channel, target, lun int) {
	if p.Host != nil {
		return *p.Host, p.Channel, p.Target, p.Lun
	}
	return scsiHostBase + p.Controller, 0, p.Unit, 0
}

type guestView struct {
	Disks            []guestDisk `json:"disks"`
	ConfigDriveLabel string      `json:"config_drive_label"`
}

type rootedFS struct {
	boshsys.FileSystem // nil: an unmapped call panics and is reported
	root               string
	os                 boshsys.FileSystem
}

func newGuestFS(view guestView, logger boshlog.Logger) (*rootedFS, error) {
	root, err := os.MkdirTemp("", "agent-oracle-guest-")
	if err != nil {
		return nil, err
	}
	fs := &rootedFS{root: root, os: boshsys.NewOsFileSystem(logger)}
	if err := fs.build(view); err != nil {
		fs.cleanup()
		return nil, err
	}
	return fs, nil
}

func (fs *rootedFS) cleanup() { _ = os.RemoveAll(fs.root) }

func (fs *rootedFS) in(p string) string { return filepath.Join(fs.root, p) }

func (fs *rootedFS) out(p string) string {
	rel := strings.TrimPrefix(p, fs.root)
	if rel == "" {
		return "/"
	}
	return rel
}

func (fs *rootedFS) touch(p string) error {
	if err := os.MkdirAll(filepath.Dir(fs.in(p)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(fs.in(p), nil, 0o644)
}

func (fs *rootedFS) link(name, target string) error {
	if err := os.MkdirAll(filepath.Dir(fs.in(name)), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(path.Dir(name), target)
	if err != nil {
		return err
	}
	return os.Symlink(rel, fs.in(name))
}

func (fs *rootedFS) build(view guestView) error {
	hosts := map[int]bool{}
	for _, d := range view.Disks {
		if !strings.HasPrefix(d.Path, "/dev/") {
			return fmt.Errorf("guest disk %s has path %q outside /dev", d.VolumeID, d.Path)
		}
		if err := fs.touch(d.Path); err != nil {
			return err
		}
		for _, l := range append(append([]string{}, d.ByID...), d.ByPath...) {
			if err := fs.link(l, d.Path); err != nil {
				return err
			}
		}
		if d.SCSI != nil {
			host, channel, target, lun := d.SCSI.address()
			hosts[host] = true
			dir := fmt.Sprintf("/sys/bus/scsi/devices/%d:%d:%d:%d/block/%s", host, channel, target, lun, path.Base(d.Path))
			if err := os.MkdirAll(fs.in(dir), 0o755); err != nil {
				return err
			}
		}
	}
	for host := range hosts {
		if err := fs.touch(fmt.Sprintf("/sys/class/scsi_host/host%d/scan", host)); err != nil {
			return err
		}
	}
	if view.ConfigDriveLabel != "" {
		if err := fs.touch("/dev/sr0"); err != nil {
			return err
		}
		if err := fs.link("/dev/disk/by-label/"+view.ConfigDriveLabel, "/dev/sr0"); err != nil {
			return err
		}
	}
	return nil
}

// isDevice finds the guest disk whose device node is p: a resolved path must be one of them.
func (fs *rootedFS) isDevice(p string, view guestView) (guestDisk, bool) {
	for _, d := range view.Disks {
		if d.Path == p {
			return d, true
		}
	}
	return guestDisk{}, false
}

func (fs *rootedFS) isLink(p string) bool {
	info, err := os.Lstat(fs.in(p))
	return err == nil && info.Mode()&os.ModeSymlink != 0
}

func (fs *rootedFS) Glob(pattern string) ([]string, error) {
	matches, err := fs.os.Glob(fs.in(pattern))
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, fs.out(m))
	}
	sort.Strings(out)
	return out, err
}

func (fs *rootedFS) FileExists(p string) bool { return fs.os.FileExists(fs.in(p)) }

func (fs *rootedFS) Lstat(p string) (os.FileInfo, error) { return fs.os.Lstat(fs.in(p)) }

// Readlink returns the link's target as stored (udev's links are relative, so nothing to map).
func (fs *rootedFS) Readlink(p string) (string, error) { return fs.os.Readlink(fs.in(p)) }

func (fs *rootedFS) ReadAndFollowLink(p string) (string, error) {
	target, err := fs.os.ReadAndFollowLink(fs.in(p))
	if err != nil {
		return "", err
	}
	return fs.out(target), nil
}

// WriteFileString is the SCSI rescan ("- - -" into /sys/class/scsi_host/hostN/scan): recorded, no effect.
func (fs *rootedFS) WriteFileString(p, content string) error {
	if !fs.FileExists(p) {
		return fmt.Errorf("open %s: no such file or directory", p)
	}
	return nil
}

func (fs *rootedFS) ReadFile(p string) ([]byte, error) { return fs.os.ReadFile(fs.in(p)) }

func (fs *rootedFS) ReadFileWithOpts(p string, opts boshsys.ReadOpts) ([]byte, error) {
	return fs.os.ReadFileWithOpts(fs.in(p), opts)
}
