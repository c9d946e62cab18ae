package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/oapi-codegen/nullable"

	"github.com/portalaccess/portal/client"
)

// Example is the README's: a help center, a contact and an invitation.
// It is compiled with the tests (it needs a running portal, so it does not
// run), which keeps the README's code in step with the client.
func Example() {
	ctx := context.Background()
	api, err := client.NewClientWithResponses("http://localhost:8080",
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+os.Getenv("KEY"))
			return nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := api.CreateHelpCenterWithResponse(ctx, client.CreateHelpCenterJSONRequestBody{
		Slug: "acme", Name: "Acme Support", UserBase: client.Common}); err != nil {
		log.Fatal(err)
	}
	verified := true
	contact, err := api.CreateContactWithResponse(ctx, client.CreateContactJSONRequestBody{
		Email: nullable.NewNullableWithValue("ada@example.com"), Verified: &verified})
	if err != nil {
		log.Fatal(err)
	}
	if contact.JSON201 == nil {
		log.Fatalf("create contact: %d %s", contact.StatusCode(), contact.Body)
	}
	inv, err := api.CreateInvitationWithResponse(ctx, "acme",
		client.CreateInvitationJSONRequestBody{ContactId: contact.JSON201.Id})
	switch {
	case err != nil:
		log.Fatal(err)
	case inv.JSON202 != nil:
		fmt.Println("invitation", inv.JSON202.Id, inv.JSON202.Status)
	case inv.JSON422 != nil: // the contact can't be invited, and the code says why
		fmt.Println("not invited:", inv.JSON422.Error.Code)
	}
}
