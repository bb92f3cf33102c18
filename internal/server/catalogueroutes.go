package server

import "github.com/switchyard-gw/switchyard/internal/config"

// catalogueRoutes maps each catalogue entry of cfg to its configured
// routes as GET /providers names them ("provider/model", the route field
// of a route's health; a route without a model serves the requested name,
// so it is "provider/ENTRY ID"). The console's Models page shows a model's
// routes from it.
func catalogueRoutes(cfg *config.Config) map[string][]string {
	out := make(map[string][]string, len(cfg.Models))
	for _, m := range cfg.Models {
		ids := make([]string, 0, len(m.Routes))
		for _, r := range m.Routes {
			model := r.Model
			if model == "" {
				model = m.ID
			}
			ids = append(ids, r.Provider+"/"+model)
		}
		out[m.ID] = ids
	}
	return out
}
