package mock

import (
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

func appendModel(b []byte, id string) []byte {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, modelCreated, 10)
	return append(b, `,"owned_by":"mock"}`...)
}

func (h *handler) listModels(w http.ResponseWriter) {
	b := append(make([]byte, 0, 64*len(h.models)+32), `{"object":"list","data":[`...)
	for i, id := range h.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendModel(b, id)
	}
	b = append(b, "]}\n"...)
	writeJSON(w, b)
}

// getModel answers GET /models/{id}. Ids may contain slashes
// ("org/model"), so everything after "/models/" is the id.
func (h *handler) getModel(w http.ResponseWriter, id string) {
	for _, m := range h.models {
		if m == id {
			writeJSON(w, append(appendModel(nil, id), '\n'))
			return
		}
	}
	writeError(w, http.StatusNotFound, "The model '"+id+"' does not exist", "model_not_found")
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
