package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// textChanges collects, from an operation's engine events, the multi-line
// texts of ConfigMaps that the operation changes (config.toml, the
// entrypoint), so that --diff can show each whole. The engine's own diff
// shows two lines around each change and elides the rest with "...", and a
// new ConfigMap's text as one escaped, truncated string: not enough to
// read a runner's configuration.
type textChanges struct {
	events chan events.EngineEvent
	done   chan struct{}
	found  []textChange
}

type textChange struct {
	resource, key string
	old, new      string
}

func collectTextChanges() *textChanges {
	c := &textChanges{events: make(chan events.EngineEvent), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for e := range c.events {
			if e.ResourcePreEvent != nil {
				c.add(e.ResourcePreEvent.Metadata)
			}
		}
	}()
	return c
}

func (c *textChanges) add(md apitype.StepEventMetadata) {
	if md.Type != "kubernetes:core/v1:ConfigMap" || md.New == nil {
		return
	}
	switch md.Op {
	case apitype.OpCreate, apitype.OpUpdate, apitype.OpReplace, apitype.OpCreateReplacement:
	default:
		return
	}
	newData, _ := md.New.Inputs["data"].(map[string]any)
	var oldData map[string]any
	if md.Old != nil {
		oldData, _ = md.Old.Outputs["data"].(map[string]any)
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range newData {
			if !yield(k) {
				return
			}
		}
	}) {
		newText, _ := newData[key].(string)
		oldText, _ := oldData[key].(string)
		if newText == oldText || (!strings.Contains(newText, "\n") && !strings.Contains(oldText, "\n")) {
			continue
		}
		change := textChange{resource: resource.URN(md.URN).Name(), key: key, old: oldText, new: newText}
		if !slices.Contains(c.found, change) { // the engine may announce a step twice
			c.found = append(c.found, change)
		}
	}
}

// print waits for the events to end (the operation closes the channel)
// and prints each text whole: unchanged lines as they are, removed lines
// with "-", added ones with "+".
func (c *textChanges) print(out io.Writer) {
	<-c.done
	for _, t := range c.found {
		fmt.Fprintf(out, "\nConfigMap %s, %s, whole (- before, + after):\n", t.resource, t.key)
		differ := diffmatchpatch.New()
		a, b, lines := differ.DiffLinesToChars(t.old, t.new)
		for _, d := range differ.DiffCharsToLines(differ.DiffMain(a, b, false), lines) {
			prefix := "    "
			switch d.Type {
			case diffmatchpatch.DiffDelete:
				prefix = "  - "
			case diffmatchpatch.DiffInsert:
				prefix = "  + "
			}
			for _, line := range strings.SplitAfter(d.Text, "\n") {
				if line != "" {
					fmt.Fprint(out, prefix+strings.TrimSuffix(line, "\n")+"\n")
				}
			}
		}
	}
}
