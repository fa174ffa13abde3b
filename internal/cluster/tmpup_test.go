package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
)

func TestTmpUp(t *testing.T) {
	if os.Getenv("TMPUP") == "" {
		t.Skip()
	}
	o := Options{Name: "satoken", NodeImage: "satoken/kind-node:v1.34.4", MaxTokenExpiration: time.Hour, FixturesDir: fixtures(t), StateDir: "/root/.cache/satoken/clusters/satoken"}
	c, err := Up(context.Background(), o, phase.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(c.Kubeconfig())
}
