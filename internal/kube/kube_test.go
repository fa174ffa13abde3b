package kube

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	objs, err := Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n"))
	require.NoError(t, err)
	require.Len(t, objs, 2, "empty documents skipped, lists flattened")
	require.Equal(t, "ConfigMap", objs[1].GetKind())

	_, err = Decode([]byte("metadata: {name: x}\n"))
	require.ErrorContains(t, err, "Kind' is missing")
	_, err = Decode([]byte("apiVersion: v1\nkind: [unclosed\n"))
	require.Error(t, err)
}

func TestSumMetric(t *testing.T) {
	text := `# HELP serviceaccount_stale_tokens_total Cumulative stale projected service account tokens used
# TYPE serviceaccount_stale_tokens_total counter
serviceaccount_stale_tokens_total 3
serviceaccount_stale_tokens_total_other 100
serviceaccount_valid_tokens_total{a="b"} 2
serviceaccount_valid_tokens_total{a="c"} 5
`
	v, found, err := sumMetric(text, "serviceaccount_stale_tokens_total")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 3.0, v)
	v, _, _ = sumMetric(text, "serviceaccount_valid_tokens_total")
	require.Equal(t, 7.0, v)
	_, found, _ = sumMetric(text, "absent_metric")
	require.False(t, found)
}
