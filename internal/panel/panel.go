// Package panel serves switchboard's web operator panel: static HTML, CSS
// and JavaScript modules embedded in the binary. The panel is a client of
// the native API like any other (it holds no route, right or data of its
// own): every action it offers is a documented /api/v1 call made from the
// browser with the user's session, so the API's rights checks are the
// panel's. The node mounts it; only the node imports this package.
package panel

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
)

//go:embed web
var webFS embed.FS

// Prefix is where the assets are served, followed by the build's version.
const Prefix = "/panel/"

// CSP allows only the panel's own files: no inline script or style, no
// eval, no third-party origin, no framing. Images and audio may also be
// blob: URLs, which is how the panel shows camera snapshots and plays
// recordings it fetched with its session header (an <img src> or <audio
// src> cannot send one).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the panel: the page at "/" and the assets under
// /panel/<version>/. Asset URLs carry a hash of every embedded file, so
// browsers may keep them forever (a new build has new URLs) while the
// page itself is revalidated each time.
type Handler struct {
	apiBase string
	version string
	files   map[string][]byte // name under web/ → content
	page    []byte
	etag    string
}

var _ http.Handler = (*Handler)(nil)

// New builds the handler. apiBase is where the native API is mounted
// ("/api/v1" unless the native dialect has a prefix); it is written into
// the page so the scripts need no configuration.
func New(apiBase string) (*Handler, error) {
	h := &Handler{apiBase: apiBase, files: map[string][]byte{}}
	sum := sha256.New()
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "web/")
		h.files[name] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(h.files))
	for n := range h.files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sum.Write([]byte(n))
		sum.Write(h.files[n])
	}
	sum.Write([]byte(apiBase))
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	tpl, err := template.New("index").Parse(string(h.files["index.html"]))
	if err != nil {
		return nil, err
	}
	var page bytes.Buffer
	if err := tpl.Execute(&page, map[string]string{"API": apiBase, "Assets": Prefix + h.version + "/"}); err != nil {
		return nil, err
	}
	h.page = page.Bytes()
	h.etag = `"` + h.version + `"`
	delete(h.files, "index.html") // only served rendered, at /
	return h, nil
}

// Version is the asset version (a content hash).
func (h *Handler) Version() string { return h.version }

// contentTypes are the only files the panel has; anything else is 404.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.URL.Path == "/" {
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("ETag", h.etag)
		if r.Header.Get("If-None-Match") == h.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(h.page)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	version, name, ok := strings.Cut(rest, "/")
	b, found := h.files[name]
	ctype := contentTypes[path.Ext(name)]
	if !ok || !found || ctype == "" {
		http.NotFound(w, r)
		return
	}
	if version != h.version {
		// A page of an older build asks for its assets: serve today's,
		// but never let them be cached under the old version's URL.
		hd.Set("Cache-Control", "no-store")
	} else {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	hd.Set("Content-Type", ctype)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

// IsUpgrade reports a WebSocket handshake: those belong to the API
// dialects (VIPTel's at "/"), never to the panel.
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// Compose sends plain GET and HEAD requests for "/" and everything under
// Prefix to the panel and all else (a WebSocket upgrade at "/" included)
// to next, the node's API mux.
func Compose(next, panel http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.URL.Path == "/" && !IsUpgrade(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead)) ||
			strings.HasPrefix(r.URL.Path, Prefix) {
			panel.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
