package settings

import (
	"regexp"

	"github.com/distribution/reference"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// imageRef is an image reference as every setting that names an image is
// read: the one parser of the project (the distribution project's), for
// validation, for the runner release a tag names and for the version label.
type imageRef struct {
	// Tag is the reference's tag, if any.
	Tag string
	// Digested: the reference pins a digest (with a tag or without).
	Digested bool
}

// parseImage reads an image reference ("alpine:3.22",
// "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0",
// "mirror.example.com:5000/runner@sha256:...").
func parseImage(image string) (imageRef, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return imageRef{}, err
	}
	var ref imageRef
	if tagged, ok := named.(reference.Tagged); ok {
		ref.Tag = tagged.Tag()
	}
	_, ref.Digested = named.(reference.Digested)
	return ref, nil
}

// ImageTag is the tag of an image pinned by tag: "" for a digest (with or
// without a tag) and for what is not an image reference (Validate reports
// it, and checks that a tag can be a label value).
func ImageTag(image string) string {
	ref, err := parseImage(image)
	if err != nil || ref.Digested {
		return ""
	}
	return ref.Tag
}

// RunnerVersionOfImage reads the release from an image tag such as
// registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0. A digest or a
// tag without a release says nothing.
func RunnerVersionOfImage(image string) (runnerversion.Version, bool) {
	tag := ImageTag(image)
	if tag == "" {
		return runnerversion.Version{}, false
	}
	return runnerversion.FromTag(tag)
}

// versionTagRe finds a version of at least major.minor in an image tag.
var versionTagRe = regexp.MustCompile(`\d+\.\d+`)

// checkImage requires a real pin: a digest (sha256 and its 64 hex digits),
// or a tag naming a version of at least major.minor (3.22, 1.26.1,
// alpine-v19.3.0). latest, edge, a bare major version (alpine:3) and the like
// move under you: two pods of one fleet would run different code.
func checkImage(ps *Problems, path, image string) {
	if image == "" {
		ps.Add(path, "is required")
		return
	}
	ref, err := parseImage(image)
	switch {
	case err != nil:
		ps.Add(path, "%q is not an image reference: %v", image, err)
	case ref.Digested:
		// the parser checked the digest's algorithm and length
	case ref.Tag == "":
		ps.Add(path, "%q has no tag: pin a version such as %q or a digest (an untagged image means latest)", image, image+":<version>")
	case !versionTagRe.MatchString(ref.Tag):
		ps.Add(path, "%q is not pinned: the tag %q names no version of at least major.minor (it moves as new images are pushed); use a tag such as 3.22 or v19.3.0, or a digest", image, ref.Tag)
	}
}
