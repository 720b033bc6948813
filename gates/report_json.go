package gates

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as one indented JSON document: pipeline, env, revision, objects,
// verdict and results with their findings (the Result and Finding fields, as documented there).
// Results and findings are never null, so scripts can iterate without checks.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonReport(r))
}

// jsonReport is Report with every result's findings present, [] when there are none.
type jsonReport Report

func (r jsonReport) MarshalJSON() ([]byte, error) {
	type results struct {
		Result
		Findings []Finding `json:"findings"`
	}
	rs := make([]results, len(r.Results))
	for i, res := range r.Results {
		rs[i] = results{res, res.Findings}
		if rs[i].Findings == nil {
			rs[i].Findings = []Finding{}
		}
	}
	type plain Report
	return json.Marshal(struct {
		plain
		Results []results `json:"results"`
	}{plain(r), rs})
}
