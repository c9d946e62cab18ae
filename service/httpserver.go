package service

import (
	"net/http"
	"time"
)

// readHeaderTimeout bounds reading a request's headers: no legitimate
// client needs longer, and a slow one would hold a connection.
const readHeaderTimeout = 10 * time.Second

// HTTPServer serves h with the configured timeouts (HTTP_READ_TIMEOUT,
// HTTP_WRITE_TIMEOUT, HTTP_IDLE_TIMEOUT). The API's exports and imports
// extend their deadlines while they move (api.Server.StreamTimeout).
func (s *Service) HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       s.Config.HTTPReadTimeout,
		WriteTimeout:      s.Config.HTTPWriteTimeout,
		IdleTimeout:       s.Config.HTTPIdleTimeout,
	}
}
