package dialect

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dossier"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// WithDossiers lets the service assemble call dossiers.
func (s *Service) WithDossiers(src dossier.Sources) *Service {
	s.dossiers = &src
	return s
}

// CallDossier is everything known about a live or finished call, as the
// principal may see it: restricted roles get only the events that
// involve their extension (a call they took no part in is not found),
// CDR bodies need cdr.read, recordings recordings.read.
func (s *Service) CallDossier(ctx context.Context, p auth.Principal, id string) (dossier.Dossier, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return dossier.Dossier{}, err
	}
	if s.dossiers == nil {
		return dossier.Dossier{}, fmt.Errorf("call dossiers need the event log: %w", pbx.ErrNotSupported)
	}
	src := *s.dossiers
	if p.Restricted() {
		live := src.Live
		src.Live = func(tenant, id string) (pbx.Call, error) {
			if err := s.ownCall(p, id, "see"); err != nil {
				return pbx.Call{}, err
			}
			return live(tenant, id)
		}
	}
	if !p.Can(auth.ReadCDRs) {
		src.CDRs = nil
	} else if p.Restricted() && src.CDRs != nil {
		all := src.CDRs
		src.CDRs = func(ctx context.Context, tenant, id string) ([]pbx.CDR, error) {
			rows, err := all(ctx, tenant, id)
			var own []pbx.CDR
			for _, c := range rows {
				if Owns(p, c.Src) || Owns(p, c.Dst) {
					own = append(own, c)
				}
			}
			return own, err
		}
	}
	d, err := dossier.Build(ctx, src, p.Tenant, id, func(e pbx.Event) (pbx.Event, bool) { return VisibleEvent(p, e) })
	if errors.Is(err, dossier.ErrNotFound) {
		return d, fmt.Errorf("call %s: %w", id, pbx.ErrNotFound)
	}
	if err != nil {
		return d, err
	}
	if !p.Can(auth.ReadRecordings) {
		d.Recordings = nil
		for i := range d.Events {
			d.Events[i].Event.Recording = nil
		}
	}
	return d, nil
}
