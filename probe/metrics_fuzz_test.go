package probe

import (
	"encoding/json"
	"testing"
)

// FuzzAnswer feeds the reader of the query API's answers what a server could send: it must
// return series or an error, never panic.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"0.5"]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"-Inf"]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r apiAnswer
		if json.Unmarshal(b, &r) != nil {
			return
		}
		series, err := r.Data.series()
		if err != nil && series != nil {
			t.Errorf("series %v with error %v", series, err)
		}
	})
}
