package pbx

// CallID names the call an event is about ("" for events about no call:
// extension state, relays, system). The event log indexes it, so a call's
// whole history (its dossier) is one indexed read.
func (e Event) CallID() string {
	switch {
	case e.Call != nil && e.Call.ID != "":
		return e.Call.ID
	case e.Channel != nil && e.Channel.CallID != "":
		return e.Channel.CallID
	case e.Recording != nil && e.Recording.CallID != "":
		return e.Recording.CallID
	case e.Caller != nil && e.Caller.CallID != "":
		return e.Caller.CallID
	case e.CDR != nil && e.CDR.UniqueID != "":
		return e.CDR.UniqueID
	}
	return ""
}
