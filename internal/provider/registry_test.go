package provider

import (
	"slices"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestRegistryAndConfigNameTheSameTypes: the config validates provider
// types against config.ProviderTypes (it cannot import this package), and
// Build looks them up in Registry. The two lists must not drift: a type the
// config accepts and no builder serves would fail only at start.
func TestRegistryAndConfigNameTheSameTypes(t *testing.T) {
	var reg []string
	for k := range Registry() {
		reg = append(reg, k)
	}
	slices.Sort(reg)
	cfg := slices.Clone(config.ProviderTypes)
	slices.Sort(cfg)
	if !slices.Equal(reg, cfg) {
		t.Fatalf("provider.Registry has %v, config.ProviderTypes %v", reg, cfg)
	}
}
