package portal_test

import (
	"testing"

	"github.com/portalaccess/portal"
)

func TestIneligible(t *testing.T) {
	email := "ada@example.com"
	tests := []struct {
		name     string
		email    *string
		verified bool
		access   portal.AccessStatus
		want     portal.Outcome
	}{
		{"EligibleWithoutAccess", &email, true, "", ""},
		{"EligibleWhenOnlyInvited", &email, true, portal.AccessInvited, ""},
		{"ReasonNoEmail", nil, true, "", portal.ReasonNoEmail},
		{"NoEmailOutranksUnverified", nil, false, portal.AccessActive, portal.ReasonNoEmail},
		{"ReasonUnverified", &email, false, "", portal.ReasonUnverified},
		{"UnverifiedOutranksAccess", &email, false, portal.AccessDeactivated, portal.ReasonUnverified},
		{"ReasonAlreadyActive", &email, true, portal.AccessActive, portal.ReasonAlreadyActive},
		{"ReasonDeactivated", &email, true, portal.AccessDeactivated, portal.ReasonDeactivated},
		{"ReasonPendingApproval", &email, true, portal.AccessPendingApproval, portal.ReasonPendingApproval},
		{"ReasonRejected", &email, true, portal.AccessRejected, portal.ReasonRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portal.Ineligible(tt.email, tt.verified, tt.access); got != tt.want {
				t.Fatalf("Ineligible = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBlockingAccessIsExactlyTheAdminDecisions(t *testing.T) {
	want := map[portal.AccessStatus]bool{
		portal.AccessDeactivated: true, portal.AccessRejected: true, portal.AccessPendingApproval: true,
	}
	for _, s := range portal.AccessStatuses {
		if s.Blocking() != want[s] {
			t.Errorf("%s.Blocking() = %v", s, s.Blocking())
		}
	}
}

func TestAutoInviteCovers(t *testing.T) {
	billing, sales := int64(1), int64(2)
	tests := []struct {
		name string
		a    portal.AutoInvite
		dept *int64
		want bool
	}{
		{"DisabledCoversNothing", portal.AutoInvite{All: true}, &billing, false},
		{"AllCoversEveryDepartment", portal.AutoInvite{Enabled: true, All: true}, &sales, true},
		{"AllCoversNoDepartment", portal.AutoInvite{Enabled: true, All: true}, nil, true},
		{"ListedDepartment", portal.AutoInvite{Enabled: true, DepartmentIDs: []int64{billing}}, &billing, true},
		{"UnlistedDepartment", portal.AutoInvite{Enabled: true, DepartmentIDs: []int64{billing}}, &sales, false},
		{"NoDepartmentWithoutAll", portal.AutoInvite{Enabled: true, DepartmentIDs: []int64{billing}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Covers(tt.dept); got != tt.want {
				t.Fatalf("Covers = %v, want %v", got, tt.want)
			}
		})
	}
}
