package dialect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/dossier"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// ErrForbidden is the answer when the principal may not do something: its
// rights do not allow it, or the call, recording or membership is not its
// own. Each dialect renders it in its own format.
var ErrForbidden = errors.New("forbidden")

// Core is what the service needs of the domain core; *pbx.Core is one.
type Core interface {
	Extensions(tenant string) ([]pbx.Extension, error)
	Extension(tenant, number string) (pbx.Extension, error)
	Calls(tenant string) ([]pbx.Call, error)
	FindCall(tenant, id string) (pbx.Call, error)
	Originate(ctx context.Context, req pbx.OriginateRequest) (pbx.Call, error)
	PriorityCall(ctx context.Context, req pbx.OriginateRequest) (pbx.Call, error)
	Hangup(ctx context.Context, tenant, id string) error
	PlayDTMF(ctx context.Context, tenant, id, digits string) error
	Redirect(ctx context.Context, tenant, id, dest string) error
	Pickup(ctx context.Context, tenant, id, by string) error

	StartRecording(ctx context.Context, tenant, id string, opts pbx.RecordOptions) (pbx.Recording, error)
	StopRecording(ctx context.Context, tenant, id string) (pbx.Recording, error)
	PauseRecording(ctx context.Context, tenant, id string, paused bool) (pbx.Recording, error)
	GetRecording(ctx context.Context, tenant, id string) (pbx.Recording, error)
	QueryRecordings(ctx context.Context, f pbx.RecordingFilter) ([]pbx.Recording, int, error)

	Conferences(tenant string) ([]pbx.Conference, error)
	CreateConference(ctx context.Context, tenant string, numbers []string, breakCalls bool) (pbx.Conference, []pbx.Call, error)
	ConferenceInvite(ctx context.Context, tenant, room string, numbers []string, breakCalls bool) ([]pbx.Call, error)
	Monitor(ctx context.Context, tenant, id, listener string) (pbx.Call, error)

	Queues(tenant string) ([]pbx.Queue, error)
	QueueCalls(tenant, queue string) ([]pbx.QueueCaller, error)
	QueueShift(tenant, queue, callID string, pos int) (pbx.QueueCaller, error)
	QueueRemove(tenant, queue, callID, dest string) error
	QueueLogin(tenant, queue, ext string, login bool, penalty int) (pbx.QueueMember, error)
	QueuePause(tenant, queue, ext string, paused bool, reason string) ([]pbx.QueueMember, error)
}

var _ Core = (*pbx.Core)(nil)

// Service is the facade every dialect calls: the core's commands and
// queries with the principal passed in. It holds the one copy of the rules
// "may this principal do X to this call, extension, recording or queue":
// the right first, then, for restricted roles (user, agent), that the
// object is their own extension's. A right taken from an account is gone
// in every dialect at once because no dialect decides it.
type Service struct {
	core      Core
	relays    Relays              // nil: no relays
	cameras   Cameras             // nil: no cameras
	camRec    CameraRecorder      // nil: cameras are not recorded
	camFiles  CameraFiles         // nil: no camera files
	sms       SMS                 // nil: no text messages
	smsRates  *smsRates           // nil: sending is not rate limited
	callerIDs map[string][]string // outbound caller ids allowed per tenant
	idem      *idempotency        // keys of Once
	dossiers  *dossier.Sources    // nil: no event log to build dossiers from
}

// WithCallerIDs sets the outbound caller ids each tenant allows (its DIDs).
func (s *Service) WithCallerIDs(byTenant map[string][]string) *Service {
	s.callerIDs = byTenant
	return s
}

// mayPresent reports whether the principal may present number as the
// outbound caller id: its own list when it has one, else its tenant's.
// Without either, none: presenting arbitrary numbers to a carrier is
// spoofing.
func (s *Service) mayPresent(p auth.Principal, number string) bool {
	list := p.CallerIDs
	if len(list) == 0 {
		list = s.callerIDs[p.Tenant]
	}
	return slices.Contains(list, number)
}

// NewService builds the facade over core.
func NewService(core Core) *Service {
	return (&Service{core: core}).WithIdempotency(NewMemoryIdempotency())
}

// need checks one right.
func need(p auth.Principal, right string) error {
	if !p.Can(right) {
		return fmt.Errorf("your role may not do this (%s): %w", right, ErrForbidden)
	}
	return nil
}

// Owns reports whether exten is the principal's own extension; a
// principal without an extension owns nothing (trunk channels have none
// either, and "" must never match them).
func Owns(p auth.Principal, exten string) bool { return p.Extension != "" && exten == p.Extension }

// OwnerKey names a principal within its tenant for limits: users and keys
// have separate namespaces.
func OwnerKey(p auth.Principal) string {
	if p.APIKey {
		return "key:" + p.Name
	}
	return "user:" + p.Name
}

// ownCall lets restricted principals act only on calls their extension
// takes part in. An unknown call is "not yours" for them: it tells them
// nothing about other extensions' calls.
func (s *Service) ownCall(p auth.Principal, id, verb string) error {
	if !p.Restricted() {
		return nil
	}
	c, err := s.core.FindCall(p.Tenant, id)
	if err != nil || !c.Involves(p.Extension) {
		return fmt.Errorf("you may only %s your own calls: %w", verb, ErrForbidden)
	}
	return nil
}

// Location is the principal's tenant's time zone: date-only filters of
// the vendor dialects ("today", datestart=YYYY-MM-DD) mean the tenant's
// days, not the server's. UTC when the core does not know zones. It is
// read through an optional interface so test cores need not implement it.
func (s *Service) Location(p auth.Principal) *time.Location {
	if l, ok := s.core.(interface{ TenantLocation(string) *time.Location }); ok {
		if loc := l.TenantLocation(p.Tenant); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// Extensions lists the tenant's extensions.
func (s *Service) Extensions(p auth.Principal) ([]pbx.Extension, error) {
	if err := need(p, auth.ReadDirectory); err != nil {
		return nil, err
	}
	return s.core.Extensions(p.Tenant)
}

// Extension is one extension.
func (s *Service) Extension(p auth.Principal, number string) (pbx.Extension, error) {
	if err := need(p, auth.ReadDirectory); err != nil {
		return pbx.Extension{}, err
	}
	return s.core.Extension(p.Tenant, number)
}

// Calls lists live calls; restricted roles see their own only.
func (s *Service) Calls(p auth.Principal) ([]pbx.Call, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return nil, err
	}
	calls, err := s.core.Calls(p.Tenant)
	if err != nil || !p.Restricted() {
		return calls, err
	}
	mine := calls[:0]
	for _, c := range calls {
		if c.Involves(p.Extension) {
			mine = append(mine, c)
		}
	}
	return mine, nil
}

// FindCall returns a live call by call id, channel id or channel name.
func (s *Service) FindCall(p auth.Principal, id string) (pbx.Call, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return pbx.Call{}, err
	}
	if err := s.ownCall(p, id, "see"); err != nil {
		return pbx.Call{}, err
	}
	return s.core.FindCall(p.Tenant, id)
}

// Originate is click-to-call from req.From to req.To in the principal's
// tenant, counted against its limits; priority first clears the target
// (WebTAPI call_prio), which restricted roles may not do.
func (s *Service) Originate(ctx context.Context, p auth.Principal, req pbx.OriginateRequest, priority bool) (pbx.Call, error) {
	if err := need(p, auth.ControlCalls); err != nil {
		return pbx.Call{}, err
	}
	if p.Restricted() && !Owns(p, req.From) {
		return pbx.Call{}, fmt.Errorf("you may only call from your own extension: %w", ErrForbidden)
	}
	if req.OutboundCallerID != "" && !s.mayPresent(p, req.OutboundCallerID) {
		return pbx.Call{}, fmt.Errorf("outbound caller id %q is not one of the numbers configured for you or your tenant: %w", req.OutboundCallerID, ErrForbidden)
	}
	req.Tenant, req.Owner = p.Tenant, OwnerKey(p)
	if priority {
		if p.Restricted() {
			return pbx.Call{}, fmt.Errorf("your role may not break other calls: %w", ErrForbidden)
		}
		return s.core.PriorityCall(ctx, req)
	}
	return s.core.Originate(ctx, req)
}

// Hangup ends a call or one channel.
func (s *Service) Hangup(ctx context.Context, p auth.Principal, id string) error {
	if err := need(p, auth.ControlCalls); err != nil {
		return err
	}
	if err := s.ownCall(p, id, "hang up"); err != nil {
		return err
	}
	return s.core.Hangup(ctx, p.Tenant, id)
}

// PlayDTMF sends digits into a channel.
func (s *Service) PlayDTMF(ctx context.Context, p auth.Principal, id, digits string) error {
	if err := need(p, auth.ControlCalls); err != nil {
		return err
	}
	if err := s.ownCall(p, id, "send digits into"); err != nil {
		return err
	}
	return s.core.PlayDTMF(ctx, p.Tenant, id, digits)
}

// Redirect transfers a channel's call to dest.
func (s *Service) Redirect(ctx context.Context, p auth.Principal, id, dest string) error {
	if err := need(p, auth.ControlCalls); err != nil {
		return err
	}
	if err := s.ownCall(p, id, "redirect"); err != nil {
		return err
	}
	return s.core.Redirect(ctx, p.Tenant, id, dest)
}

// Pickup lets extension by ("" = the principal's own) take a ringing call.
func (s *Service) Pickup(ctx context.Context, p auth.Principal, id, by string) error {
	if err := need(p, auth.ControlCalls); err != nil {
		return err
	}
	if by == "" {
		by = p.Extension
	}
	if p.Restricted() && !Owns(p, by) {
		return fmt.Errorf("you may only pick up calls for your own extension: %w", ErrForbidden)
	}
	return s.core.Pickup(ctx, p.Tenant, id, by)
}

// Monitor calls listener ("" = the principal's own extension) to hear a
// call without being heard.
func (s *Service) Monitor(ctx context.Context, p auth.Principal, id, listener string) (pbx.Call, error) {
	if err := need(p, auth.ListenCalls); err != nil {
		return pbx.Call{}, err
	}
	if listener == "" {
		listener = p.Extension
	}
	if listener == "" {
		return pbx.Call{}, fmt.Errorf("monitor: listener is required: %w", pbx.ErrInvalidArgument)
	}
	if p.Restricted() && !Owns(p, listener) {
		return pbx.Call{}, fmt.Errorf("you may only listen on your own extension: %w", ErrForbidden)
	}
	return s.core.Monitor(ctx, p.Tenant, id, listener)
}

// StartRecording records a call (restricted roles: their own).
func (s *Service) StartRecording(ctx context.Context, p auth.Principal, id string, opts pbx.RecordOptions) (pbx.Recording, error) {
	if err := need(p, auth.Record); err != nil {
		return pbx.Recording{}, err
	}
	if err := s.ownCall(p, id, "record"); err != nil {
		return pbx.Recording{}, err
	}
	opts.By = p.Name
	return s.core.StartRecording(ctx, p.Tenant, id, opts)
}

// RecordingAction is stop, pause or resume of a running recording
// (restricted roles: of their own calls).
func (s *Service) RecordingAction(ctx context.Context, p auth.Principal, id, action string) (pbx.Recording, error) {
	if err := need(p, auth.Record); err != nil {
		return pbx.Recording{}, err
	}
	if p.Restricted() {
		rec, err := s.core.GetRecording(ctx, p.Tenant, id)
		if err != nil {
			return pbx.Recording{}, err
		}
		if err := s.ownCall(p, rec.CallID, "control recordings of"); err != nil {
			return pbx.Recording{}, err
		}
	}
	switch action {
	case "stop":
		return s.core.StopRecording(ctx, p.Tenant, id)
	case "pause":
		return s.core.PauseRecording(ctx, p.Tenant, id, true)
	case "resume":
		return s.core.PauseRecording(ctx, p.Tenant, id, false)
	}
	return pbx.Recording{}, fmt.Errorf("recording action %q: must be stop, pause or resume: %w", action, pbx.ErrInvalidArgument)
}

// Recording is one recording's index entry.
func (s *Service) Recording(ctx context.Context, p auth.Principal, id string) (pbx.Recording, error) {
	if err := need(p, auth.ReadRecordings); err != nil {
		return pbx.Recording{}, err
	}
	return s.core.GetRecording(ctx, p.Tenant, id)
}

// RecordingAudio is a recording whose audio the principal may play or
// download.
func (s *Service) RecordingAudio(ctx context.Context, p auth.Principal, id string) (pbx.Recording, error) {
	if !p.Can(auth.DownloadRecordings) && !p.Can(auth.PlayRecordings) {
		return pbx.Recording{}, fmt.Errorf("your role may not play or download recordings: %w", ErrForbidden)
	}
	return s.core.GetRecording(ctx, p.Tenant, id)
}

// Recordings queries the index in the principal's tenant.
func (s *Service) Recordings(ctx context.Context, p auth.Principal, f pbx.RecordingFilter) ([]pbx.Recording, int, error) {
	if err := need(p, auth.ReadRecordings); err != nil {
		return nil, 0, err
	}
	f.Tenant = p.Tenant
	return s.core.QueryRecordings(ctx, f)
}

// Conferences lists rooms.
func (s *Service) Conferences(p auth.Principal) ([]pbx.Conference, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return nil, err
	}
	return s.core.Conferences(p.Tenant)
}

// CreateConference calls stations into a new room (not for restricted
// roles: it rings other people's phones).
func (s *Service) CreateConference(ctx context.Context, p auth.Principal, numbers []string, breakCalls bool) (pbx.Conference, []pbx.Call, error) {
	if err := need(p, auth.ControlCalls); err != nil {
		return pbx.Conference{}, nil, err
	}
	if p.Restricted() {
		return pbx.Conference{}, nil, fmt.Errorf("your role may not call other stations into a conference: %w", ErrForbidden)
	}
	return s.core.CreateConference(ctx, p.Tenant, numbers, breakCalls)
}

// ConferenceInvite calls stations into a room; restricted roles only their
// own extension, without breaking its calls.
func (s *Service) ConferenceInvite(ctx context.Context, p auth.Principal, room string, numbers []string, breakCalls bool) ([]pbx.Call, error) {
	if err := need(p, auth.ControlCalls); err != nil {
		return nil, err
	}
	if p.Restricted() && (len(numbers) != 1 || !Owns(p, numbers[0]) || breakCalls) {
		return nil, fmt.Errorf("you may only call your own extension into a conference: %w", ErrForbidden)
	}
	return s.core.ConferenceInvite(ctx, p.Tenant, room, numbers, breakCalls)
}

// ConferenceKick hangs up one member (a channel unique id or name) of a
// room; restricted roles only their own extension's.
func (s *Service) ConferenceKick(ctx context.Context, p auth.Principal, room, channel string) error {
	if err := need(p, auth.ControlCalls); err != nil {
		return err
	}
	confs, err := s.core.Conferences(p.Tenant)
	if err != nil {
		return err
	}
	for _, c := range confs {
		if c.Name != room {
			continue
		}
		for _, m := range c.Members {
			if m.Channel.UniqueID != channel && m.Channel.Name != channel {
				continue
			}
			if p.Restricted() && !Owns(p, m.Channel.Exten) {
				return fmt.Errorf("you may only remove your own extension: %w", ErrForbidden)
			}
			return s.core.Hangup(ctx, p.Tenant, m.Channel.UniqueID)
		}
		return fmt.Errorf("no such member in conference %s: %w", room, pbx.ErrNotFound)
	}
	return fmt.Errorf("no such conference %s: %w", room, pbx.ErrNotFound)
}

// Queues lists queues with their members.
func (s *Service) Queues(p auth.Principal) ([]pbx.Queue, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return nil, err
	}
	return s.core.Queues(p.Tenant)
}

// QueueCalls lists a queue's callers.
func (s *Service) QueueCalls(p auth.Principal, queue string) ([]pbx.QueueCaller, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return nil, err
	}
	return s.core.QueueCalls(p.Tenant, queue)
}

// QueueShift moves a waiting caller (supervisors).
func (s *Service) QueueShift(p auth.Principal, queue, callID string, pos int) (pbx.QueueCaller, error) {
	if err := need(p, auth.SuperviseQueues); err != nil {
		return pbx.QueueCaller{}, err
	}
	return s.core.QueueShift(p.Tenant, queue, callID, pos)
}

// QueueRemove takes a waiting caller out (supervisors).
func (s *Service) QueueRemove(p auth.Principal, queue, callID, dest string) error {
	if err := need(p, auth.SuperviseQueues); err != nil {
		return err
	}
	return s.core.QueueRemove(p.Tenant, queue, callID, dest)
}

// selfOrSupervisor lets agents change their own membership only.
func selfOrSupervisor(p auth.Principal, number string) error {
	if p.Can(auth.SuperviseQueues) || Owns(p, number) {
		return nil
	}
	return fmt.Errorf("you may only change your own queue membership: %w", ErrForbidden)
}

// QueueLogin logs ext ("" = the principal's own) into or out of a queue.
func (s *Service) QueueLogin(p auth.Principal, queue, ext string, login bool, penalty int) (pbx.QueueMember, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return pbx.QueueMember{}, err
	}
	if ext == "" {
		ext = p.Extension
	}
	if err := selfOrSupervisor(p, ext); err != nil {
		return pbx.QueueMember{}, err
	}
	return s.core.QueueLogin(p.Tenant, queue, ext, login, penalty)
}

// QueuePause pauses or unpauses ext in queue ("" = every queue).
func (s *Service) QueuePause(p auth.Principal, queue, ext string, paused bool, reason string) ([]pbx.QueueMember, error) {
	if err := need(p, auth.ReadCalls); err != nil {
		return nil, err
	}
	if err := selfOrSupervisor(p, ext); err != nil {
		return nil, err
	}
	return s.core.QueuePause(p.Tenant, queue, ext, paused, reason)
}
