package activities

import (
	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// senderOf is who a help center's emails come from: its sender name, or
// else its own name, so a customer of one brand never gets mail from the
// installation's generic name; its reply-to; its from address if it has
// one on the allow-list.
func senderOf(hc *store.HelpCenter) portal.Sender {
	s := hc.Sender
	if s.Name == "" {
		s.Name = hc.Name
	}
	return s
}
