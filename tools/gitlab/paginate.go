package gitlab

import (
	"net/http"
	"net/url"
	"strconv"
)

// paginate returns the page of items that page and per_page ask for (GitLab
// defaults: page 1, 20 per page, at most 100) and sets GitLab's pagination
// headers, so clients that follow X-Next-Page see every item.
func paginate[T any](w http.ResponseWriter, q url.Values, items []T) []T {
	page, perPage := 1, 20
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	total := len(items)
	pages := max(1, (total+perPage-1)/perPage)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	next := ""
	if page < pages {
		next = strconv.Itoa(page + 1)
	}
	h.Set("X-Next-Page", next)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	return items[start:end]
}
