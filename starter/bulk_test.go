package starter

import "testing"

func TestBulkSettingsTakeDefaultsForZeroAndStayInBounds(t *testing.T) {
	for _, c := range []struct{ in, want BulkSettings }{
		{BulkSettings{}, DefaultBulkSettings},
		{BulkSettings{PageSize: 250, Window: 50, ChildrenPerRun: 1000}, BulkSettings{PageSize: 250, Window: 50, ChildrenPerRun: 1000}},
		{BulkSettings{PageSize: 5, Window: 1000, ChildrenPerRun: 1}, BulkSettings{PageSize: 10, Window: 200, ChildrenPerRun: 50}},
		{BulkSettings{PageSize: 1 << 20, Window: -3, ChildrenPerRun: 1 << 20}, BulkSettings{PageSize: 1000, Window: 25, ChildrenPerRun: 2000}},
	} {
		if got := c.in.Resolve(); got != c.want {
			t.Errorf("%+v resolves to %+v, want %+v", c.in, got, c.want)
		}
	}
}
