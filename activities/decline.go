package activities

import (
	"net/mail"
	"net/url"

	"github.com/portalaccess/portal"
)

// declineLink is the signed link with which a contact declines an
// invitation: it names the invitation, not a generation, so it works
// after the invitation's links were replaced or expired.
func (a *Activities) declineLink(slug, invitationID string) string {
	return a.portalURL(slug, "/invitations/decline?invitation="+url.QueryEscape(invitationID)+"&sig="+url.QueryEscape(a.Tokens.Decline(invitationID)))
}

// unsubscribeHeaders let a mail client offer its own unsubscribe button:
// one click POSTs "List-Unsubscribe=One-Click" to the link (RFC 8058);
// the mailto form goes to the sending address.
func (a *Activities) unsubscribeHeaders(link string, sender portal.Sender, invitationID string) map[string]string {
	h := map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
	mailbox := sender.Address
	if mailbox == "" {
		if from, err := mail.ParseAddress(a.MailFrom); err == nil {
			mailbox = from.Address
		}
	}
	value := "<" + link + ">"
	if mailbox != "" {
		value += ", <mailto:" + mailbox + "?subject=" + url.PathEscape("decline "+invitationID) + ">"
	}
	h["List-Unsubscribe"] = value
	return h
}
