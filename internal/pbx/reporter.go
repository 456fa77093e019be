package pbx

import "context"

// Reporter is the engine-facing side of the core: the facts a telephony
// engine reports as calls happen (a call and its channels appear, change
// state, are answered, transferred, hung up and end with their quality),
// devices register, calls enter queues and conferences. Commands flow the
// other way, through Engine and its optional capabilities; API dialects
// use internal/dialect's Service, never this.
type Reporter interface {
	NewCall(tenant, from, to string, originated bool, first ChannelSpec) (*Channel, Call, error)
	AddChannel(tenant, callID string, spec ChannelSpec) (*Channel, error)
	SetChannelState(ch *Channel, st ChannelState)
	SetCallerID(ch *Channel, num, name string)
	DTMFReceived(ch *Channel, digit rune, via string)
	QualityChanged(ch *Channel, a QualityAlarm)
	CallAnswered(tenant, callID string)
	CallTransferred(tenant, callID string, old, newCh *Channel, dest string)
	// TransferLeg closes the CDR row of an answered leg ended by a
	// transfer, before the CallTransferred that follows it.
	TransferLeg(ctx context.Context, tenant, callID string, kept, gone *Channel, q Quality) (CDR, error)
	CallPickedUp(tenant, callID string, old, newCh *Channel, by string)
	HangupChannel(ch *Channel, cause string)
	EndCall(ctx context.Context, tenant, callID string, status EndStatus, q Quality) (CDR, error)
	SetRegistration(tenant, number string, reg *Registration)
	SetCallApp(tenant, callID, app string)
	SetCallAppData(tenant, callID, app, data string)

	ConferenceJoined(tenant, room string, ch *Channel)
	ConferenceLeft(tenant, room string, ch *Channel)
	QueueJoin(tenant, queue string, ch *Channel) (*Waiter, *QueueExit, error)
	// Feature codes dialled on a phone (*45 agent login, *46 pause).
	QueueToggleLogin(tenant, ext, queue string) (loggedIn bool, err error)
	QueuePause(tenant, queue, ext string, paused bool, reason string) ([]QueueMember, error)

	// What the engine must know to route: extensions, queue numbers and
	// settings.
	Extension(tenant, number string) (Extension, error)
	QueueByNumber(tenant, number string) (string, bool)
	QueueConfig(tenant, name string) (QueueEntry, error)
}

var _ Reporter = (*Core)(nil)
