package portal

// EmailKind names what an email is for; each kind has its template and
// its delivery guarantee.
type EmailKind string

// Kinds of email.
const (
	EmailInvite   EmailKind = "invite"
	EmailReminder EmailKind = "reminder"
	EmailWelcome  EmailKind = "welcome"
	// Sign-ups.
	EmailSignupVerify   EmailKind = "signup_verify"
	EmailSignupRejected EmailKind = "signup_rejected"
	EmailSignupApproved EmailKind = "signup_approved"
	EmailAccountExists  EmailKind = "account_exists"
	// Access changes.
	EmailAccessGranted EmailKind = "access_granted"
	EmailDeactivated   EmailKind = "deactivated"
	EmailReactivated   EmailKind = "reactivated"
	// Passwords: the reset link (at least once), and the notice that a
	// password changed (at most once).
	EmailPasswordReset   EmailKind = "password_reset"
	EmailPasswordChanged EmailKind = "password_changed"
	// EmailAddressChanged tells a contact's old address that it was
	// changed or removed (a notice: at most once).
	EmailAddressChanged EmailKind = "email_changed"
	// EmailTemplateTest is an invitation template sent to the admin who
	// asked to see it, with sample data (at most once).
	EmailTemplateTest EmailKind = "template_test"
)

// Guarantee is how many times an email of a kind may reach its recipient.
type Guarantee string

// Delivery guarantees.
const (
	// AtLeastOnce: the email carries a link the person needs, so a send
	// whose outcome is unknown is confirmed with the provider and, when
	// the provider never got it, sent again.
	AtLeastOnce Guarantee = "at_least_once"
	// AtMostOnce: the email only tells of something already done; a
	// second copy would confuse more than a lost one, so a send whose
	// outcome is unknown is never repeated.
	AtMostOnce Guarantee = "at_most_once"
)

// Guarantee returns the delivery rule of the kind.
func (k EmailKind) Guarantee() Guarantee {
	switch k {
	case EmailInvite, EmailReminder, EmailSignupVerify, EmailPasswordReset:
		return AtLeastOnce
	}
	return AtMostOnce
}

// EmailDelivery is what the provider later said about a sent email.
type EmailDelivery string

// Delivery states of a sent email, from its provider's events.
const (
	DeliveryUnknown   EmailDelivery = "unknown"
	DeliveryDelivered EmailDelivery = "delivered"
	// DeliveryDeferred: a temporary failure; the provider keeps trying.
	DeliveryDeferred   EmailDelivery = "deferred"
	DeliveryBounced    EmailDelivery = "bounced"
	DeliveryComplained EmailDelivery = "complained"
)

// UndeliverableReason says why an address gets no more email.
type UndeliverableReason string

// Reasons an invitation, a sign-up or a reset closes as undeliverable, and
// reasons an address is suppressed.
const (
	// UndeliverableRejected: the provider refused the address when asked
	// to send.
	UndeliverableRejected UndeliverableReason = "rejected"
	// UndeliverableBounced: the receiving server refused it for good.
	UndeliverableBounced UndeliverableReason = "bounced"
	// UndeliverableComplained: the recipient marked an email as spam.
	UndeliverableComplained UndeliverableReason = "complained"
)

// CarriesToken reports whether emails of this kind carry a link with a
// secret token (accept, verify, reset). Such messages must never pass
// through a provider's click or open tracking, which would rewrite and
// log the link.
func (k EmailKind) CarriesToken() bool {
	switch k {
	case EmailInvite, EmailReminder, EmailSignupVerify, EmailPasswordReset:
		return true
	}
	return false
}
