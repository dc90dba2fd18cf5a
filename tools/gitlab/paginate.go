package gitlab

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// paginate returns the page of items that page and per_page ask for (GitLab
// defaults: page 1, 20 per page, at most 100) and sets GitLab's offset
// pagination headers: X-Page, X-Per-Page, X-Next-Page, X-Prev-Page (empty
// when there is none), X-Total, X-Total-Pages and a Link header with the
// prev, next, first and last pages, each URL keeping the request's other
// query parameters.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	page, perPage := 1, 20
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)
	next, prev := "", ""
	if page < pages {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(min(page-1, pages))
	}
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)

	link := func(p, rel string) string {
		lq := url.Values{}
		for k, v := range q {
			lq[k] = v
		}
		lq.Set("page", p)
		lq.Set("per_page", strconv.Itoa(perPage))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: lq.Encode()}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if prev != "" {
		links = append(links, link(prev, "prev"))
	}
	if next != "" {
		links = append(links, link(next, "next"))
	}
	links = append(links, link("1", "first"), link(strconv.Itoa(pages), "last"))
	h.Set("Link", strings.Join(links, ", "))

	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	return items[start:end]
}
