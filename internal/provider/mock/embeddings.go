package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// embeddingRequest is CreateEmbeddingRequest.
type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

const (
	defaultDimensions = 8
	// maxDimensions is twice text-embedding-3-large's 3072: room for any
	// test, and a bound on what one request can make the mock allocate.
	maxDimensions = 8192
)

// seed hashes an input with 64-bit FNV-1a. Token inputs hash their values,
// so [1,2] and "\x01\x02" need not agree; they are different inputs.
func (in input) seed() uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	if in.isText {
		for i := 0; i < len(in.text); i++ {
			h = (h ^ uint64(in.text[i])) * prime
		}
		return h
	}
	h = (h ^ 0xff) * prime // keep an empty token list apart from ""
	for _, t := range in.tokens {
		for s := 0; s < 64; s += 8 {
			h = (h ^ uint64(uint64(t)>>s&0xff)) * prime
		}
	}
	return h
}

// embed fills v with a unit vector determined by seed. The values come from
// splitmix64, which spreads even neighbouring seeds over the whole range.
// The vector is normalised, as OpenAI's are, so that cosine similarity and
// dot product agree for callers that test either.
func embed(v []float32, seed uint64) {
	var norm float64
	x := seed
	for i := range v {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/(1<<53)*2 - 1 // in [-1, 1)
		v[i] = float32(f)
		norm += f * f
	}
	if norm == 0 {
		return
	}
	scale := 1 / math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) * scale)
	}
}

func (h *handler) embeddings(w http.ResponseWriter, r *http.Request) {
	bp := getBuf()
	defer putBuf(bp)
	var req embeddingRequest
	if !decodeRequest(w, r, bp, &req) {
		return
	}
	inputs, err := decodeInputs(req.Input)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid 'input': "+err.Error(), "")
		return
	}
	if len(inputs) == 0 {
		writeError(w, http.StatusBadRequest, "'input' must be a non-empty string or array.", "")
		return
	}
	for i, in := range inputs {
		if in.isText && in.text == "" || !in.isText && len(in.tokens) == 0 {
			writeError(w, http.StatusBadRequest, "Invalid 'input["+strconv.Itoa(i)+"]': it must not be empty.", "")
			return
		}
	}
	dims := req.Dimensions
	switch {
	case dims == 0:
		dims = defaultDimensions
	case dims < 0 || dims > maxDimensions:
		writeError(w, http.StatusBadRequest, "Invalid 'dimensions': it must be between 1 and "+strconv.Itoa(maxDimensions)+".", "")
		return
	}
	base64Format := false
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		base64Format = true
	default:
		writeError(w, http.StatusBadRequest, "Invalid 'encoding_format': it must be float or base64.", "")
		return
	}
	if !Sleep(r.Context(), h.o.Latency) {
		return
	}

	vec := make([]float32, dims)
	var raw []byte // little-endian float32s, for base64
	if base64Format {
		raw = make([]byte, 4*dims)
	}
	buf := append((*bp)[:0], `{"object":"list","data":[`...)
	tokens := 0
	for i, in := range inputs {
		tokens += in.tokenCount()
		embed(vec, in.seed())
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"object":"embedding","index":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `,"embedding":`...)
		if base64Format {
			for j, f := range vec {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(f))
			}
			buf = append(buf, '"')
			buf = base64.StdEncoding.AppendEncode(buf, raw)
			buf = append(buf, '"')
		} else {
			buf = append(buf, '[')
			for j, f := range vec {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = strconv.AppendFloat(buf, float64(f), 'g', -1, 32)
			}
			buf = append(buf, ']')
		}
		buf = append(buf, '}')
	}
	buf = append(buf, `],"model":`...)
	buf = jsonstr.Append(buf, req.Model)
	// Embeddings have no completion, and CreateEmbeddingResponse's usage has
	// only these two fields. The spec requires usage, but OmitUsage drops it
	// here too: a provider that does not report usage is what it simulates.
	if !h.o.OmitUsage {
		buf = append(buf, `,"usage":{"prompt_tokens":`...)
		buf = strconv.AppendInt(buf, int64(tokens), 10)
		buf = append(buf, `,"total_tokens":`...)
		buf = strconv.AppendInt(buf, int64(tokens), 10)
		buf = append(buf, '}')
	}
	buf = append(buf, "}\n"...)
	*bp = buf
	writeJSON(w, buf)
}

func (r *embeddingRequest) model() string { return r.Model }
