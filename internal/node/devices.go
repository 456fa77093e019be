package node

import (
	"fmt"
	"log/slog"
	"regexp"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/devices"
)

// buildRelays makes every tenant's relays from the config (validated at
// load), with their drivers.
func buildRelays(cfg *config.Config, st devices.VirtualStore, pub devices.Publisher, log *slog.Logger) (*devices.Relays, error) {
	var specs []devices.RelaySpec
	for _, t := range cfg.Tenants {
		for _, r := range t.Relays {
			spec := devices.RelaySpec{Tenant: t.Name, ID: r.ID, Name: r.Name, Pulse: r.Pulse}
			switch r.Driver {
			case "", "virtual":
				spec.Driver = devices.Virtual{Store: st, Tenant: t.Name, ID: r.ID}
			case "modbus":
				spec.Driver = &devices.Modbus{Address: r.Modbus.Address, Unit: r.Modbus.Unit, Coil: r.Modbus.Coil, Timeout: r.Modbus.Timeout}
			case "http":
				h := &devices.HTTP{OnURL: r.HTTP.OnURL, OffURL: r.HTTP.OffURL, StatusURL: r.HTTP.StatusURL, Method: r.HTTP.Method,
					Body: r.HTTP.Body, Username: r.HTTP.Username, Password: r.HTTP.Password, StatePath: r.HTTP.StatePath}
				if r.HTTP.StateRegex != "" {
					re, err := regexp.Compile(r.HTTP.StateRegex)
					if err != nil {
						return nil, fmt.Errorf("relay %d of %s: state_regex: %w", r.ID, t.Name, err)
					}
					h.StateRegex = re
				}
				spec.Driver = h
			default:
				return nil, fmt.Errorf("relay %d of %s: driver %q", r.ID, t.Name, r.Driver)
			}
			specs = append(specs, spec)
		}
	}
	return devices.NewRelays(specs, pub, log)
}

// buildCameras makes every tenant's cameras from the config.
func buildCameras(cfg *config.Config) (*devices.Cameras, error) {
	var specs []devices.CameraSpec
	for _, t := range cfg.Tenants {
		for _, c := range t.Cameras {
			spec := devices.CameraSpec{Tenant: t.Name, ID: c.ID, Name: c.Name, Extension: c.Extension}
			switch c.CameraDriver() {
			case "synthetic":
				spec.Driver = devices.Synthetic{}
			case "http":
				spec.Driver = &devices.HTTPCamera{SnapshotURL: c.URL, StreamURL: c.StreamURL, Username: c.Username, Password: c.Password}
			default:
				return nil, fmt.Errorf("camera %d of %s: driver %q", c.ID, t.Name, c.Driver)
			}
			specs = append(specs, spec)
		}
	}
	return devices.NewCameras(specs)
}

// doorCamera is the id of the camera bound to extension number (a door
// phone), 0 for none.
func doorCamera(t config.Tenant, number string) int {
	for _, c := range t.Cameras {
		if c.Extension == number {
			return c.ID
		}
	}
	return 0
}

// doorTriggers are the relays' DTMF door codes.
func doorTriggers(cfg *config.Config) []devices.DoorTrigger {
	var out []devices.DoorTrigger
	for _, t := range cfg.Tenants {
		for _, r := range t.Relays {
			if r.DTMF.Digits != "" {
				out = append(out, devices.DoorTrigger{Tenant: t.Name, Relay: r.ID, Digits: r.DTMF.Digits, DoorPhones: r.DTMF.DoorPhones})
			}
		}
	}
	return out
}
