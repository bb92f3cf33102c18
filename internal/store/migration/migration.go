// Package migration is the schema migration mechanism every store backend
// shares: embedded SQL files named NNNN_name.sql, applied in version order,
// each once, recorded in a schema_migrations table. The backends hold the
// SQL (one dialect each, the same version numbers) and apply it; this
// package reads the files and decides what to apply.
package migration

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Dir is the directory of an embedded file system that holds the files.
const Dir = "migrations"

// Migration is one schema version. A migration is never edited once
// released; a change is a new file.
type Migration struct {
	Version int
	Name    string // file name, for errors
	SQL     string
}

// Load returns the migrations of fsys (Dir/NNNN_name.sql) in version order.
// Versions are 1, 2, 3, … without gaps or duplicates.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, Dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, Dir+"/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || len(num) != 4 || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Pending returns the migrations of ms not in applied, in order. It fails
// if applied holds a version ms does not know: the database was migrated by
// a newer release, and this binary must not write to it.
func Pending(ms []Migration, applied map[int]bool) ([]Migration, error) {
	var unknown []int
	for v := range applied {
		if !slices.ContainsFunc(ms, func(m Migration) bool { return m.Version == v }) {
			unknown = append(unknown, v)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		known := 0
		if len(ms) > 0 {
			known = ms[len(ms)-1].Version
		}
		s := make([]string, len(unknown))
		for i, v := range unknown {
			s[i] = strconv.Itoa(v)
		}
		return nil, fmt.Errorf("database has schema version %s unknown to this binary, which knows versions up to %d: it was created by a newer switchyard",
			strings.Join(s, ", "), known)
	}
	var todo []Migration
	for _, m := range ms {
		if !applied[m.Version] {
			todo = append(todo, m)
		}
	}
	return todo, nil
}
