package actors

import (
	"github.com/dialerd/dialerd"
	"github.com/dialerd/dialerd/actors/pb"
)

// ErrorToPB encodes err for a reply; nil stays nil.
func ErrorToPB(err error) *pb.Error {
	if err == nil {
		return nil
	}
	e := &pb.Error{Code: dialerd.ErrorCode(err), Message: dialerd.ErrorMessage(err)}
	if de, ok := err.(*dialerd.Error); ok && len(de.Fields) > 0 {
		e.Fields = make(map[string]*pb.FieldMessages, len(de.Fields))
		for k, v := range de.Fields {
			e.Fields[k] = &pb.FieldMessages{Messages: v}
		}
	}
	return e
}

// ErrorFromPB decodes a reply's error into the same *dialerd.Error the grain
// raised.
func ErrorFromPB(e *pb.Error) error {
	if e == nil {
		return nil
	}
	de := &dialerd.Error{Code: e.Code, Message: e.Message}
	if len(e.Fields) > 0 {
		de.Fields = make(map[string][]string, len(e.Fields))
		for k, v := range e.Fields {
			de.Fields[k] = v.GetMessages()
		}
	}
	return de
}

func reply(body []byte, err error) *pb.Reply {
	if err != nil {
		return &pb.Reply{Error: ErrorToPB(err)}
	}
	return &pb.Reply{Body: body}
}

// ScopeToPB encodes a principal's reach.
func ScopeToPB(p dialerd.Principal) *pb.Scope {
	return &pb.Scope{Admin: p.Admin, Workspaces: p.Workspaces}
}

func principal(s *pb.Scope) dialerd.Principal {
	if s == nil {
		return dialerd.Principal{}
	}
	return dialerd.Principal{Admin: s.Admin, Workspaces: s.Workspaces}
}

// ReplyBody returns a grain's reply body, or the error it raised.
func ReplyBody(res any) ([]byte, error) {
	r, ok := res.(*pb.Reply)
	if !ok {
		return nil, dialerd.Errorf(dialerd.EINTERNAL, "unexpected reply %T", res)
	}
	if r.Error != nil {
		return nil, ErrorFromPB(r.Error)
	}
	return r.Body, nil
}
