package action

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// readFileCommand reads what a step wrote to its GITHUB_OUTPUT or GITHUB_ENV file:
// name=value lines and multi-line name<<DELIMITER … DELIMITER blocks, a later value of a
// name winning. A block without its closing delimiter is an error, as on GitHub.
func readFileCommand(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			if name == "" || delim == "" {
				return nil, fmt.Errorf("line %d: %q names no output or no delimiter", i+1, line)
			}
			end := slices.Index(lines[i+1:], delim)
			if end < 0 {
				return nil, fmt.Errorf("line %d: %s<<%s is never closed by a line %s", i+1, name, delim, delim)
			}
			out[name] = strings.Join(lines[i+1:i+1+end], "\n")
			i += end + 1
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d: %q is neither name=value nor name<<DELIMITER", i+1, line)
		}
		out[name] = value
	}
	return out, nil
}
