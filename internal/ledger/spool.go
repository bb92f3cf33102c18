package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// ErrSpoolFull is returned by Append when a batch does not fit.
var ErrSpoolFull = errors.New("ledger spool is full")

// maxSpoolLine bounds one spooled batch when reading it back: a batch of
// MaxBatch records is far smaller; a longer line is corruption.
const maxSpoolLine = 64 << 20

// Spool is where the ledger keeps batches while the store cannot take them:
// a bounded append-only file, one batch per line as
// "v1 <crc32 hex> <json>\n", synced before Append returns. Drain writes
// the batches to the store and empties the file once all are in. Writes are
// idempotent (the store skips generations and charges it has), so a batch
// drained twice, after a crash or a partial drain, is counted once.
type Spool struct {
	path string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64 // bytes in the file
	done int64 // bytes at the front already drained
}

// OpenSpool opens (or creates) the spool file at path, and its directory,
// holding at most max bytes. Batches a previous run left in it are kept for
// Drain.
func OpenSpool(path string, max int64) (*Spool, error) {
	// The default path is in $SWITCHYARD_DATA, which on PostgreSQL nothing
	// else creates (the SQLite store makes it for its file).
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("ledger spool: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger spool: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger spool: %w", err)
	}
	return &Spool{path: path, max: max, f: f, size: st.Size()}, nil
}

// Path is the spool file's path.
func (s *Spool) Path() string { return s.path }

// Waiting is how many bytes of batches wait to be drained.
func (s *Spool) Waiting() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size - s.done
}

// Append writes b to the spool and syncs it: when it returns nil, the batch
// survives a crash. ErrSpoolFull when it does not fit.
func (s *Spool) Append(b *store.Batch) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	line := make([]byte, 0, len(body)+16)
	line = append(line, "v1 "...)
	line = appendCRC(line, crc32.ChecksumIEEE(body))
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(len(line)) > s.max {
		return ErrSpoolFull
	}
	n, err := s.f.Write(line)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("ledger spool: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("ledger spool: %w", err)
	}
	return nil
}

func appendCRC(b []byte, c uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[c>>uint(shift)&0xf])
	}
	return b
}

// Drain writes every waiting batch with write, in order. It stops at the
// first batch write fails on and returns that error; the batches before it
// are not written again by the next Drain of this process. When every batch
// is in, the file is emptied. A line that is not a whole, intact batch (a
// write torn by a crash, or corruption) is reported through bad and skipped.
func (s *Spool) Drain(ctx context.Context, write func(*store.Batch) error, bad func(line []byte, err error)) (batches int, err error) {
	s.mu.Lock()
	start, end := s.done, s.size
	s.mu.Unlock()
	if start == end {
		return 0, nil
	}
	r, err := os.Open(s.path)
	if err != nil {
		return 0, fmt.Errorf("ledger spool: %w", err)
	}
	defer r.Close()
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return 0, fmt.Errorf("ledger spool: %w", err)
	}
	br := bufio.NewReaderSize(io.LimitReader(r, end-start), 64<<10)
	off := start
	for off < end {
		if err := ctx.Err(); err != nil {
			return batches, err
		}
		line, n, rerr := readLine(br)
		if n == 0 {
			break
		}
		next := off + n
		b, perr := parseSpoolLine(line)
		if perr != nil {
			bad(line, perr)
		} else if werr := write(b); werr != nil {
			s.mu.Lock()
			s.done = off
			s.mu.Unlock()
			return batches, werr
		} else {
			batches++
		}
		off = next
		if rerr != nil {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size == end {
		// Nothing was appended meanwhile: start the file over.
		if err := s.f.Truncate(0); err != nil {
			s.done = end
			return batches, fmt.Errorf("ledger spool: %w", err)
		}
		s.size, s.done = 0, 0
		return batches, s.f.Sync()
	}
	s.done = end
	return batches, nil
}

// readLine reads up to and including '\n' and returns the line and how
// many bytes it took; a line over maxSpoolLine is consumed whole but
// returned cut (it then fails to parse).
func readLine(br *bufio.Reader) ([]byte, int64, error) {
	var line []byte
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if len(line) <= maxSpoolLine {
			line = append(line, chunk...)
		}
		if err != bufio.ErrBufferFull {
			return line, n, err
		}
	}
}

func parseSpoolLine(line []byte) (*store.Batch, error) {
	rest, ok := bytes.CutPrefix(line, []byte("v1 "))
	if !ok || len(rest) < 10 || rest[8] != ' ' || rest[len(rest)-1] != '\n' {
		return nil, errors.New("not a whole spooled batch")
	}
	want, err := strconv.ParseUint(string(rest[:8]), 16, 32)
	if err != nil {
		return nil, errors.New("bad checksum field")
	}
	body := rest[9 : len(rest)-1]
	if crc32.ChecksumIEEE(body) != uint32(want) {
		return nil, errors.New("checksum mismatch")
	}
	var b store.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// Close closes the file; batches still waiting stay in it for the next run.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Close()
}
