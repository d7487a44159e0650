package actors

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/dialerd/dialerd"
)

// loadDoc reads identity's "doc" key into v and returns the raw document,
// nil when there is none.
func loadDoc(store dialerd.Store, identity string, v any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	doc, err := store.Get(ctx, identity, "doc")
	if err != nil || doc == nil {
		return nil, err
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, dialerd.Errorf(dialerd.EINTERNAL, "%s: corrupt record: %v", identity, err)
	}
	return doc, nil
}

// apply writes ops for identity, turning storage failures into the
// client-facing EUNAVAILABLE (see storeErr).
func apply(store dialerd.Store, log *slog.Logger, identity string, ops []dialerd.Op) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := store.Apply(ctx, identity, ops); err != nil {
		return storeErr(log, err)
	}
	return nil
}
