package main

// Settings through the agent's own code: the stemcell's agent.json settings sources, parsed by
// infrastructure.SourceOptionsSlice and built by infrastructure.SettingsSourceFactory (HTTP
// metadata, ConfigDrive, File, CDROM, tried in order by MultiSettingsSource), then the network
// interface configuration by MAC (platform/net InterfaceConfigurationCreator, over the non-vip
// networks as UbuntuNetManager.SetupNetworking passes them) and the ephemeral disk through
// the stemcell's resolver.
//
// What stands in for the guest: an HTTP server on 127.0.0.1 serves the virtual router's
// user-data and meta-data (each HTTP source's URI, 169.254.169.254 on a real VM, is replaced
// by it; the paths are the stemcell's), and the agent's platform is its counterfeiter fake,
// whose GetFilesContentsFromDisk reads the config drive's files when the source's disk path is
// the drive's /dev/disk/by-label link (the linux platform mounts that device and reads them).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cloudfoundry/bosh-agent/v2/infrastructure"
	boshnet "github.com/cloudfoundry/bosh-agent/v2/platform/net"
	"github.com/cloudfoundry/bosh-agent/v2/platform/platformfakes"
	boshsettings "github.com/cloudfoundry/bosh-agent/v2/settings"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
)

const httpRetryDelay = 10 * time.Millisecond

// metadataServer serves what CloudStack's virtual router serves a VM: latest/user-data and
// latest/meta-data/<key> (see cloudstack_simulator/guest.py _metadata).
func metadataServer(req request) (*httptest.Server, error) {
	var userData []byte
	if req.UserData != nil {
		var err error
		if userData, err = base64.StdEncoding.DecodeString(*req.UserData); err != nil {
			return nil, fmt.Errorf("user_data is not base64: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/user-data", func(w http.ResponseWriter, r *http.Request) {
		if req.UserData == nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(userData)
	})
	mux.HandleFunc("/latest/meta-data/", func(w http.ResponseWriter, r *http.Request) {
		value, ok := req.Metadata[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(value))
	})
	return httptest.NewServer(mux), nil
}

func configDriveReader(req request) func(string, []string) ([][]byte, error) {
	return func(diskPath string, names []string) ([][]byte, error) {
		if req.Guest.ConfigDriveLabel == "" || diskPath != "/dev/disk/by-label/"+req.Guest.ConfigDriveLabel {
			return nil, fmt.Errorf("mounting %s: no such device (the guest's config drive: %q)", diskPath, req.Guest.ConfigDriveLabel)
		}
		contents := make([][]byte, 0, len(names))
		for _, name := range names {
			encoded, ok := req.ConfigDrive[name]
			if !ok {
				return nil, fmt.Errorf("reading %s from %s: no such file", name, diskPath)
			}
			data, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil {
				return nil, fmt.Errorf("config drive file %s is not base64: %w", name, err)
			}
			contents = append(contents, data)
		}
		return contents, nil
	}
}

func settingsSource(req request, server string, logger boshlog.Logger, fs *rootedFS) (boshsettings.Source, error) {
	var sources infrastructure.SourceOptionsSlice
	if err := json.Unmarshal(req.Sources, &sources); err != nil {
		return nil, fmt.Errorf("agent.json Sources: %w", err)
	}
	for i, s := range sources {
		switch o := s.(type) {
		case infrastructure.HTTPSourceOptions:
			o.URI = server
			sources[i] = o
		case infrastructure.InstanceMetadataSourceOptions:
			o.URI = server
			sources[i] = o
		}
	}
	platform := &platformfakes.FakePlatform{}
	platform.GetConfiguredNetworkInterfacesReturns([]string{"eth0"}, nil) // networking is up: no DHCP bootstrap
	platform.GetFsReturns(fs)
	platform.GetFilesContentsFromDiskCalls(configDriveReader(req))
	platform.GetFileContentsFromCDROMCalls(func(name string) ([]byte, error) {
		return nil, fmt.Errorf("reading %s from the CD-ROM: CloudStack attaches no settings CD-ROM", name)
	})
	// As SettingsSourceFactory.New builds them, in order, except that an HTTP source retries a
	// failed request after 10 ms instead of 1 s (NewHTTPMetadataServiceWithCustomRetryDelay, the
	// agent's own constructor for that), so a missing user-data answers in 0.1 s, not 10 s.
	built := make([]boshsettings.Source, 0, len(sources))
	for _, s := range sources {
		if o, ok := s.(infrastructure.HTTPSourceOptions); ok && o.TokenPath == "" {
			built = append(built, infrastructure.NewHTTPMetadataServiceWithCustomRetryDelay(o.URI, o.Headers,
				o.UserDataPath, o.InstanceIDPath, o.SSHKeysPath, platform, logger, httpRetryDelay))
			continue
		}
		one := infrastructure.SettingsOptions{Sources: infrastructure.SourceOptionsSlice{s}}
		source, err := infrastructure.NewSettingsSourceFactory(one, platform, logger).New()
		if err != nil {
			return nil, err
		}
		built = append(built, source)
	}
	return infrastructure.NewMultiSettingsSource(built...)
}

type interfaceConfig struct {
	Name    string `json:"name"`
	Mac     string `json:"mac,omitempty"`
	Address string `json:"address"`
	Netmask string `json:"netmask,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	DHCP    bool   `json:"dhcp"`
	Default bool   `json:"default_gateway,omitempty"`
}

func interfaces(settings boshsettings.Settings, nics []nic, logger boshlog.Logger) ([]interfaceConfig, error) {
	nonVip := boshsettings.Networks{}
	for name, network := range settings.Networks {
		if !network.IsVIP() {
			nonVip[name] = network
		}
	}
	byMAC := map[string]string{}
	for _, n := range nics {
		byMAC[n.MAC] = n.Name
	}
	static, dhcp, err := boshnet.NewInterfaceConfigurationCreator(logger).CreateInterfaceConfigurations(nonVip, byMAC)
	if err != nil {
		return nil, err
	}
	out := []interfaceConfig{}
	for _, s := range static {
		out = append(out, interfaceConfig{Name: s.Name, Mac: s.Mac, Address: s.Address, Netmask: s.Netmask,
			Gateway: s.Gateway, Default: s.IsDefaultForGateway})
	}
	for _, d := range dhcp {
		out = append(out, interfaceConfig{Name: d.Name, Address: d.Address, DHCP: true})
	}
	return out, nil
}

func settingsOp(req request, logger boshlog.Logger, logBuf *bytes.Buffer) answer {
	server, err := metadataServer(req)
	if err != nil {
		return answer{"ok": false, "error": err.Error()}
	}
	defer server.Close()
	fs, err := newGuestFS(req.Guest, logger)
	if err != nil {
		return answer{"ok": false, "error": "oracle: building the guest tree: " + err.Error()}
	}
	defer fs.cleanup()
	source, err := settingsSource(req, server.URL, logger, fs)
	if err != nil {
		return answer{"ok": false, "error": err.Error(), "log": logBuf.String()}
	}
	settings, err := source.Settings()
	if err != nil {
		ans := answer{"ok": false, "error": err.Error(), "log": logBuf.String()}
		// The HTTP source drops its JSON error and reports the base64 retry's: say the first one too.
		if data, derr := base64.StdEncoding.DecodeString(deref(req.UserData)); derr == nil && len(data) > 0 {
			var contents infrastructure.UserDataContentsType
			if jerr := json.Unmarshal(data, &contents); jerr != nil {
				ans["json_error"] = jerr.Error()
			}
		}
		return ans
	}
	ans := answer{"ok": true, "settings": settings}
	if ifaces, err := interfaces(settings, req.NICs, logger); err != nil {
		ans["interfaces_error"] = err.Error()
	} else {
		ans["interfaces"] = ifaces
	}
	if settings.Disks.Ephemeral != nil {
		ans["ephemeral"] = resolveIn(req.Resolution, req.IDTransform, settings.EphemeralDiskSettings(), req.Guest, logger)
	}
	ans["log"] = logBuf.String()
	return ans
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
