package http

import (
	"encoding/json"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/dialerd/dialerd"
)

// codes maps every error code to its HTTP status: the only such map.
var codes = map[string]int{
	dialerd.EINVALID:      fasthttp.StatusBadRequest,
	dialerd.EUNAUTHORIZED: fasthttp.StatusUnauthorized,
	dialerd.EFORBIDDEN:    fasthttp.StatusForbidden,
	dialerd.ENOTFOUND:     fasthttp.StatusNotFound,
	dialerd.EMETHOD:       fasthttp.StatusMethodNotAllowed,
	dialerd.ECONFLICT:     fasthttp.StatusConflict,
	dialerd.ETOOLARGE:     fasthttp.StatusRequestEntityTooLarge,
	dialerd.EMEDIATYPE:    fasthttp.StatusUnsupportedMediaType,
	dialerd.ERATELIMIT:    fasthttp.StatusTooManyRequests,
	dialerd.EUNAVAILABLE:  fasthttp.StatusServiceUnavailable,
	dialerd.EINTERNAL:     fasthttp.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if s, ok := codes[code]; ok {
		return s
	}
	return fasthttp.StatusInternalServerError
}

// writeError writes err as the API's error body: a field map for validation
// errors, {"detail": …} otherwise. Only internal errors are logged: the rest
// are the client's business.
func writeError(ctx *fasthttp.RequestCtx, log *slog.Logger, err error) {
	code := dialerd.ErrorCode(err)
	if code == dialerd.EINTERNAL {
		log.Error("internal error", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	var body []byte
	if de, ok := err.(*dialerd.Error); ok && code == dialerd.EINVALID && len(de.Fields) > 0 {
		body, _ = json.Marshal(de.Fields)
	} else {
		body, _ = json.Marshal(map[string]string{"detail": dialerd.ErrorMessage(err)})
	}
	ctx.SetStatusCode(ErrorStatus(code))
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
