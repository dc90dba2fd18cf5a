// Command gen writes settingsdocs.json, the doc comments of the settings
// types, beside the provider package (go generate in provider/).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/glrf/gitlab-runner-fleet/provider/internal/settingsdocs"
)

func main() {
	docs, err := settingsdocs.Read("../components/settings")
	if err == nil {
		var data []byte
		data, err = json.MarshalIndent(docs, "", "  ")
		if err == nil {
			err = os.WriteFile("settingsdocs.json", append(data, '\n'), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
