package media

import (
	"strconv"
	"strings"
)

// AnswerDirection is the direction an answer takes to an offer's
// (RFC 3264 §6.1): a party that only sends (holds us) gets recvonly, one
// that only receives gets sendonly, inactive stays inactive.
func AnswerDirection(offer string) string {
	switch offer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// WithDirection returns body (an SDP we built) with its media direction
// set to dir and, when that changes anything, the o= session version
// incremented, as RFC 3264 §8 requires of a changed description.
func WithDirection(body []byte, dir string) []byte {
	lines := strings.Split(string(body), "\r\n")
	changed := false
	found := false
	for i, ln := range lines {
		switch ln {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			found = true
			if ln != "a="+dir {
				lines[i] = "a=" + dir
				changed = true
			}
		}
	}
	if !found {
		n := len(lines)
		if n > 0 && lines[n-1] == "" {
			lines = append(lines[:n-1], "a="+dir, "")
		} else {
			lines = append(lines, "a="+dir)
		}
		changed = dir != "sendrecv"
	}
	if !changed {
		return body
	}
	for i, ln := range lines {
		if !strings.HasPrefix(ln, "o=") {
			continue
		}
		f := strings.Fields(ln)
		if len(f) >= 6 {
			if v, err := strconv.ParseUint(f[2], 10, 64); err == nil {
				f[2] = strconv.FormatUint(v+1, 10)
				lines[i] = strings.Join(f, " ")
			}
		}
		break
	}
	return []byte(strings.Join(lines, "\r\n"))
}
