package gitlab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateTokenFile returns the administrator token kept in path. When
// the file does not exist it generates a token (glpat-...), writes it there
// with mode 0600 (creating the directory 0700) and reports created. Scripts
// read the same file to get a token for the provider (GITLAB_TOKEN) and for
// the fault-injection endpoint, so no token is ever fixed in the repository.
func LoadOrCreateTokenFile(path string) (token string, created bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		token = strings.TrimSpace(string(data))
		if token == "" || strings.ContainsAny(token, " \t\r\n") {
			return "", false, fmt.Errorf("token file %s must hold one token", path)
		}
		return token, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	token = NewPersonalToken()
	// O_EXCL: if another process created the file meanwhile, use its token.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateTokenFile(path)
	}
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return "", false, err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return "", false, err
	}
	return token, true, nil
}
