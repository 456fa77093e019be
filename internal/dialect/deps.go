package dialect

import (
	"github.com/switchboard-pbx/switchboard/internal/artifacts"
	"github.com/switchboard-pbx/switchboard/internal/capture"
)

// Artifacts is what dialects read of recordings and captures: opened
// files for ranged serving and the SIP ladder, never paths.
type Artifacts interface {
	OpenRecording(tenant, file string) (artifacts.File, error)
	OpenCapture(tenant, uniqueID string) (artifacts.File, error)
	SIPLadder(tenant, uniqueID string, withRaw bool) ([]capture.Message, error)
}

var _ Artifacts = (*artifacts.Store)(nil)
