package hostcmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boundaries: the one package that runs each tool (tests and e2e helpers may drive the
// tools themselves to set up or check what they test).
var boundaries = map[string]string{
	"docker": "internal/docker",
	"go":     "internal/gocmd",
}

// toolCall is a command built for a tool named literally.
var toolCall = regexp.MustCompile(`\b(Command|CommandContext)\((ctx, )?"([a-z]+)"`)

// TestOneBoundaryPerTool: no package but the tool's own starts docker or the go command,
// so every call shares one environment and one way of reporting failures.
func TestOneBoundaryPerTool(t *testing.T) {
	root := filepath.Join("..", "..")
	found := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if (path != root && strings.HasPrefix(d.Name(), ".")) || d.Name() == "testdata" || rel == "apps" || rel == "fixtures" || rel == "e2e" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range toolCall.FindAllStringSubmatch(string(src), -1) {
			if _, ok := boundaries[m[3]]; ok {
				found[m[3]] = append(found[m[3]], filepath.ToSlash(filepath.Dir(rel)))
			}
		}
		return nil
	})
	require.NoError(t, err)
	for tool, pkg := range boundaries {
		require.NotEmpty(t, found[tool], "no %s call found at all: the pattern no longer matches how commands are built", tool)
		for _, dir := range found[tool] {
			assert.Equal(t, pkg, dir, "%s runs outside its boundary package", tool)
		}
	}
}
