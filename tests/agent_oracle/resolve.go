package main

// Disk hints through the agent's own code: settings.PersistentDiskSettingsFromHint (what the
// agent's add_persistent_disk action does with the hint the director stores and sends),
// Settings.EphemeralDiskSettings (the ephemeral hint in the user-data), then the
// DevicePathResolver the agent builds for the stemcell's DevicePathResolutionType, wired as
// platform/provider.go wires it. Only the wait timeouts differ: the guest tree is static, so
// waiting longer finds nothing more (each resolver still globs at least once).

import (
	"bytes"
	"fmt"
	"time"

	boshdpr "github.com/cloudfoundry/bosh-agent/v2/infrastructure/devicepathresolver"
	fakeudev "github.com/cloudfoundry/bosh-agent/v2/platform/udevdevice/fakes"
	boshsettings "github.com/cloudfoundry/bosh-agent/v2/settings"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
)

const (
	// The id and scsi-id resolvers sleep 100 ms before each glob: this gives one or two globs
	// (the agent: 500 ms and 50 s). The mapped resolver looks once before its first wait.
	byIDWait     = 120 * time.Millisecond
	mappedWait   = 0
	scsiScanWait = time.Millisecond // per retry of 30 (the agent: 500 ms)
)

func newLogger(buf *bytes.Buffer) boshlog.Logger {
	return boshlog.NewWriterLogger(boshlog.LevelDebug, buf)
}

// newResolver is platform/provider.go's switch on options.Linux.DevicePathResolutionType.
func newResolver(resolution string, transform [2]string, fs *rootedFS, logger boshlog.Logger) (boshdpr.DevicePathResolver, error) {
	switch resolution {
	case "virtio":
		udev := fakeudev.NewFakeUdevDevice() // udevadm trigger/settle: nothing to do in a static tree
		id := boshdpr.NewIDDevicePathResolver(byIDWait, udev, fs, transform[0], transform[1], logger)
		mapped := boshdpr.NewMappedDevicePathResolver(mappedWait, fs)
		return boshdpr.NewVirtioDevicePathResolver(id, mapped, logger), nil
	case "scsi":
		scsiID := boshdpr.NewSCSIIDDevicePathResolver(byIDWait, fs, logger)
		scsiVolumeID := boshdpr.NewSCSIVolumeIDDevicePathResolver(scsiScanWait, fs)
		scsiLun := boshdpr.NewSCSILunDevicePathResolver(byIDWait, fs, logger)
		return boshdpr.NewScsiDevicePathResolver(scsiVolumeID, scsiID, scsiLun), nil
	case "", "identity":
		return boshdpr.NewIdentityDevicePathResolver(), nil
	default: // iscsi needs an iSCSI initiator: no CloudStack hypervisor gives one
		return nil, fmt.Errorf("DevicePathResolutionType %q is not served by the oracle (identity, virtio, scsi)", resolution)
	}
}

func diskSettings(req request) boshsettings.DiskSettings {
	if req.Ephemeral {
		return boshsettings.Settings{Disks: boshsettings.Disks{Ephemeral: req.Hint}}.EphemeralDiskSettings()
	}
	return boshsettings.Settings{}.PersistentDiskSettingsFromHint(req.CID, req.Hint)
}

// resolveIn resolves ds in the guest and names the guest disk it reaches.
func resolveIn(resolution string, transform [2]string, ds boshsettings.DiskSettings, view guestView, logger boshlog.Logger) answer {
	fs, err := newGuestFS(view, logger)
	if err != nil {
		return answer{"ok": false, "error": "oracle: building the guest tree: " + err.Error()}
	}
	defer fs.cleanup()
	resolver, err := newResolver(resolution, transform, fs, logger)
	if err != nil {
		return answer{"ok": false, "error": err.Error()}
	}
	path, timedOut, err := resolver.GetRealDevicePath(ds)
	settings := answer{"id": ds.ID, "device_id": ds.DeviceID, "volume_id": ds.VolumeID, "path": ds.Path,
		"lun": ds.Lun, "host_device_id": ds.HostDeviceID}
	if err != nil {
		return answer{"ok": false, "error": err.Error(), "timeout": timedOut, "disk_settings": settings}
	}
	if path == "" { // the scsi volume-id resolver answers "" and no error when nothing appears
		return answer{"ok": false, "error": "the resolver answered an empty path (no device appeared)", "disk_settings": settings}
	}
	disk, ok := fs.isDevice(path, view)
	if !ok && fs.isLink(path) { // identity hands a link on as is
		return answer{"ok": false, "path": path, "disk_settings": settings,
			"error": fmt.Sprintf("resolved to %s, a link, not the disk's device node: the agent then partitions and "+
				"mounts %s1 (linux_platform.partitionPath), which udev does not create", path, path)}
	}
	if !ok { // identity trusts the path; the agent then waits for it and the mount times out
		return answer{"ok": false, "path": path, "disk_settings": settings,
			"error": fmt.Sprintf("resolved to %s, which is no disk in the guest (the agent's mount would fail)", path)}
	}
	return answer{"ok": true, "path": path, "volume_id": disk.VolumeID, "disk_settings": settings}
}

func resolveOp(req request, logger boshlog.Logger, logBuf *bytes.Buffer) answer {
	ans := resolveIn(req.Resolution, req.IDTransform, diskSettings(req), req.Guest, logger)
	ans["log"] = logBuf.String()
	return ans
}
